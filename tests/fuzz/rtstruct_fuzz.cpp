// The RT Structure Set reader on untrusted files, then the contours mapped onto a slice with
// the example series' geometry (slice 30: what the seeds were drawn on). Any input must end in a
// result or an iodeep::Error.
#include <cstddef>
#include <cstdint>

#include "FuzzFile.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/Slice.hpp"
#include "iodeep/rtstruct/StructureSet.hpp"

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  iodeep::fuzz::quietDcmtk();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto& path = iodeep::fuzz::writeInput(data, size);
  static const iodeep::iod::SliceAttributes slice = [] {
    iodeep::iod::SliceAttributes a;
    a.rows = 128;
    a.columns = 128;
    a.pixelSpacing = {2.0, 2.0};
    a.imagePositionPatient = {0.0, 254.0 - 3.0 * 30, 254.0};  // examples/brain-unet/make_series.py
    a.imageOrientationPatient = {1.0, 0.0, 0.0, 0.0, 0.0, -1.0};
    return a;
  }();
  try {
    const auto set = iodeep::rtstruct::readStructureSet(path);
    (void)iodeep::rtstruct::roisOnImage(set, slice);
  } catch (const iodeep::Error&) {
  }
  return 0;
}
