// The slice reader on untrusted images: attributes, then decoding of the first frame (and the
// second of a multi-frame image) through every codec DCMTK has here (JPEG, JPEG-LS, RLE,
// deflate). Any input must end in a result or an iodeep::Error.
#include <cstddef>
#include <cstdint>

#include "FuzzFile.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/Slice.hpp"

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  iodeep::fuzz::quietDcmtk();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto& path = iodeep::fuzz::writeInput(data, size);
  std::int32_t frames = 0;
  try {
    frames = iodeep::iod::readSliceAttributes(path).numberOfFrames;
  } catch (const iodeep::Error&) {
    return 0;  // readSlice loads the file the same way and would fail the same way
  }
  for (std::int32_t frame = 0; frame < 2 && (frame == 0 || frame < frames); ++frame) {
    try {
      (void)iodeep::iod::readSlice(path, frame);
    } catch (const iodeep::Error&) {
    }
  }
  return 0;
}
