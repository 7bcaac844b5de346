#pragma once
// Binary (1-bit) Segmentation Pixel Data (PS3.5 8.1.1, PS3.3 C.8.20.2): the frames' pixels are
// one bit each, LSB first within a byte, frames back to back with no padding between them (a
// frame may start inside a byte), the whole value padded to an even length. Private to seg.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace iodeep::seg {

/// Packs @p frames (each @p pixelsPerFrame bytes, non-zero = inside) as above.
[[nodiscard]] std::vector<std::uint8_t> packBinaryFrames(const std::vector<const std::vector<std::uint8_t>*>& frames,
                                                         std::size_t pixelsPerFrame);

/// Frame @p frame (0-based) of packed @p data as 0/1 bytes; @p data holds at least
/// (frame + 1) * pixelsPerFrame bits (the caller checks).
[[nodiscard]] std::vector<std::uint8_t> unpackBinaryFrame(const std::uint8_t* data, std::size_t frame,
                                                          std::size_t pixelsPerFrame);

}  // namespace iodeep::seg
