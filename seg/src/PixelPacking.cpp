#include "PixelPacking.hpp"

namespace iodeep::seg {

std::vector<std::uint8_t> packBinaryFrames(const std::vector<const std::vector<std::uint8_t>*>& frames,
                                           std::size_t pixelsPerFrame) {
  const std::size_t bits = frames.size() * pixelsPerFrame;
  std::size_t bytes = (bits + 7) / 8;
  bytes += bytes % 2;
  std::vector<std::uint8_t> packed(bytes, 0);
  std::size_t bit = 0;
  for (const auto* frame : frames) {
    for (std::size_t i = 0; i < pixelsPerFrame; ++i, ++bit) {
      if ((*frame)[i] != 0) packed[bit / 8] = static_cast<std::uint8_t>(packed[bit / 8] | (1U << (bit % 8)));
    }
  }
  return packed;
}

std::vector<std::uint8_t> unpackBinaryFrame(const std::uint8_t* data, std::size_t frame, std::size_t pixelsPerFrame) {
  std::vector<std::uint8_t> mask(pixelsPerFrame, 0);
  std::size_t bit = frame * pixelsPerFrame;
  for (std::size_t i = 0; i < pixelsPerFrame; ++i, ++bit) {
    mask[i] = static_cast<std::uint8_t>((data[bit / 8] >> (bit % 8)) & 1U);
  }
  return mask;
}

}  // namespace iodeep::seg
