#pragma once
/// @file Masks.hpp
/// Binary masks at a slice's pixel grid: the physician's corrections read from files (PNG or a
/// JSON polygon), the training set's masks written as PNG, and the PNG codec both use (zlib).

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "iodeep/iod/Polygon.hpp"

namespace iodeep::client {

/// A mask: rows x columns, row-major, 1 = inside, 0 = outside.
struct Mask {
  std::size_t rows{0}, columns{0};
  std::vector<std::uint8_t> values;
  [[nodiscard]] std::size_t area() const noexcept;
  friend bool operator==(const Mask&, const Mask&) = default;
};

/// An 8-bit image as PNG bytes: @p channels 1 (grey) or 3 (RGB), row-major, interleaved.
[[nodiscard]] std::vector<std::byte> encodePng(const std::vector<std::uint8_t>& pixels, std::uint32_t width,
                                               std::uint32_t height, std::uint32_t channels);

/// A PNG as a mask: any pixel whose grey (or any colour) sample or alpha is non-zero is inside
/// (alpha 0 is outside). Bit depths 1-8 and 16, grey, grey+alpha, RGB, RGBA and palette, not
/// interlaced. Throws Error(InvalidArgument) naming @p where for anything else or a damaged file.
[[nodiscard]] Mask decodePngMask(const std::vector<std::byte>& png, const std::string& where);

/// A mask file for a slice of @p rows x @p columns: a PNG (decodePngMask) or a JSON polygon
/// ({"rings": [[[column, row], ...], ...]} in the slice's pixel coordinates, pixel centres at whole
/// numbers; rasterised with the even-odd rule, so a ring inside another is a hole). Throws
/// Error(FileNotFound, InvalidArgument) naming the file: not a PNG or polygon, another size than
/// the slice's, points off the slice, nothing inside.
[[nodiscard]] Mask readMaskFile(const std::filesystem::path& path, std::size_t rows, std::size_t columns);

/// Writes @p mask as an 8-bit grey PNG with 0 outside and 255 inside, atomically.
void writeMaskPng(const Mask& mask, const std::filesystem::path& path);

/// The rings of @p mask along pixel edges (netparser's exact tracer, no simplification): filled
/// again with the even-odd rule they give @p mask back, holes included.
[[nodiscard]] std::vector<iod::Ring> ringsOfMask(const Mask& mask);

/// The mask @p rings stand for on a grid of @p rows x @p columns (even-odd, pixel centres).
[[nodiscard]] Mask maskOfRings(const std::vector<iod::Ring>& rings, std::size_t rows, std::size_t columns);

}  // namespace iodeep::client
