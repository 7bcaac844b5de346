#pragma once
// JPEG 2000 decoding with OpenJPEG (private to iod: Debian's DCMTK has no JPEG 2000 codec).
// No OpenJPEG type appears here.

#include <cstdint>
#include <span>
#include <vector>

namespace iodeep::iod::jpeg2000 {

/// What the DICOM attributes say the codestream holds; checked against its header before
/// anything is decoded, so a hostile header never sizes an allocation.
struct Expected {
  std::uint16_t rows{0};
  std::uint16_t columns{0};
  std::uint16_t components{0};     ///< SamplesPerPixel
  std::uint16_t bitsAllocated{0};  ///< a component's precision may not exceed it
};

struct Decoded {
  std::uint16_t precision{0};         ///< bits per sample in the codestream (every component the same)
  bool isSigned{false};               ///< the codestream's components are signed
  bool colourTransformed{false};      ///< the codestream's multiple component transform (RCT or ICT) was undone: RGB
  std::vector<std::int32_t> samples;  ///< rows x columns x components, components interleaved
};

/// Decodes one frame: a JPEG 2000 codestream (J2K), or a JP2 file some writers put in a fragment.
/// Throws Error(UnsupportedImage) with OpenJPEG's own message for a corrupt stream, and for
/// dimensions, component count, sub-sampling or precision that disagree with @p expected.
[[nodiscard]] Decoded decode(std::span<const std::uint8_t> codestream, const Expected& expected);

}  // namespace iodeep::iod::jpeg2000
