#include "iodeep/iod/Polygon.hpp"

#include <algorithm>
#include <cmath>

namespace iodeep::iod {

double signedArea(const Ring& ring) noexcept {
  const auto& p = ring.points;
  double a = 0.0;
  for (std::size_t i = 0; i < p.size(); ++i) {
    const auto& u = p[i];
    const auto& v = p[(i + 1) % p.size()];
    a += u.column * v.row - v.column * u.row;
  }
  return a / 2.0;
}

std::vector<std::uint8_t> fillEvenOdd(const std::vector<Ring>& rings, std::size_t rows, std::size_t columns) {
  std::vector<std::uint8_t> mask(rows * columns, 0);
  std::vector<double> crossings;
  for (std::size_t r = 0; r < rows; ++r) {
    const double y = static_cast<double>(r);
    crossings.clear();
    for (const auto& ring : rings) {
      const auto& p = ring.points;
      for (std::size_t i = 0; i < p.size(); ++i) {
        const auto& a = p[i];
        const auto& b = p[(i + 1) % p.size()];
        // half-open rule: an edge counts when y lies in [min, max)
        if ((a.row <= y) != (b.row <= y)) {
          crossings.push_back(a.column + (y - a.row) * (b.column - a.column) / (b.row - a.row));
        }
      }
    }
    std::sort(crossings.begin(), crossings.end());
    for (std::size_t k = 0; k + 1 < crossings.size(); k += 2) {
      // pixel centres strictly between the two crossings (centres are at integer columns)
      const double from = std::max(0.0, std::floor(crossings[k]) + 1.0);
      const double to = std::min(static_cast<double>(columns) - 1.0, std::ceil(crossings[k + 1]) - 1.0);
      if (to < from) continue;
      for (auto c = static_cast<std::size_t>(from); c <= static_cast<std::size_t>(to); ++c) {
        const auto x = static_cast<double>(c);
        if (x > crossings[k] && x < crossings[k + 1]) mask[r * columns + c] = 1;
      }
    }
  }
  return mask;
}

}  // namespace iodeep::iod
