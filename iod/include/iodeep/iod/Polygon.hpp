#pragma once
/// @file Polygon.hpp
/// Pixel-space polygons shared by prediction, RT Structure Sets and the viewer.
/// Coordinates are (column, row) with pixel centres at integers, so pixel (r, c) covers
/// [c - 0.5, c + 0.5] x [r - 0.5, r + 0.5]. Rings traced from masks follow pixel edges.

#include <cstdint>
#include <vector>

namespace iodeep::iod {

struct PixelPoint {
  double column{0.0};
  double row{0.0};
  friend bool operator==(const PixelPoint&, const PixelPoint&) = default;
};

/// A closed ring (the last point connects to the first). Outer rings run clockwise on screen
/// (positive signed area with rows growing downwards), holes counter-clockwise.
struct Ring {
  std::vector<PixelPoint> points;
  bool hole{false};
};

/// Shoelace area, positive for clockwise-on-screen rings (rows grow downwards).
[[nodiscard]] double signedArea(const Ring& ring) noexcept;

/// Rasterises @p rings with the even-odd rule, sampling at pixel centres: the mask a set of
/// rings stands for. Row-major, 1 = inside.
[[nodiscard]] std::vector<std::uint8_t> fillEvenOdd(const std::vector<Ring>& rings, std::size_t rows,
                                                    std::size_t columns);

}  // namespace iodeep::iod
