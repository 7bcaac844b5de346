// The DICOM Segmentation reader on untrusted files, then the segments mapped onto a slice with the
// example series' geometry (slice 30: what the seeds were written for). Any input must end in a
// result or an iodeep::Error.
#include <cstddef>
#include <cstdint>

#include "FuzzFile.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/Slice.hpp"
#include "iodeep/seg/Segmentation.hpp"

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  iodeep::fuzz::quietDcmtk();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto& path = iodeep::fuzz::writeInput(data, size);
  try {
    const auto seg = iodeep::seg::readSegmentation(path);
    // every image a frame references, at the SEG's size and at another
    for (const auto& [sop, series] : seg.referencedImages) {
      iodeep::iod::SliceAttributes a;
      a.sopInstanceUid = sop;
      a.seriesInstanceUid = series;
      a.rows = seg.rows;
      a.columns = seg.columns;
      try {
        (void)iodeep::seg::segmentsOnImage(seg, a);
      } catch (const iodeep::Error&) {
      }
      a.rows = 128;
      a.columns = 128;
      try {
        (void)iodeep::seg::segmentsOnImage(seg, a);
      } catch (const iodeep::Error&) {
      }
    }
  } catch (const iodeep::Error&) {
  }
  return 0;
}
