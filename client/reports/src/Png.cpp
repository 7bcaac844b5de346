// The overlay renderer (PNG through workflow/Masks.hpp): the CLI needs no GUI toolkit for --png.
#include <algorithm>
#include <array>
#include <cmath>

#include "iodeep/iod/AtomicFile.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/reports/Overlay.hpp"
#include "iodeep/workflow/Masks.hpp"

namespace iodeep::client {

void writeOverlayPng(const iod::SliceImage& img, const std::vector<netparser::Proposal>& proposals,
                     const std::filesystem::path& path) {
  const auto& a = img.attributes;
  // display window: the slice's first preset, else the 1-99 percentile range
  double lo = 0.0;
  double hi = 255.0;
  std::vector<float> grey(static_cast<std::size_t>(img.rows) * img.columns);
  for (std::size_t i = 0; i < grey.size(); ++i) {
    grey[i] = img.samples == 1
                  ? img.pixels[i]
                  : 0.299F * img.pixels[i * 3] + 0.587F * img.pixels[i * 3 + 1] + 0.114F * img.pixels[i * 3 + 2];
  }
  if (!a.windows.empty() && img.samples == 1) {
    lo = a.windows.front().center - a.windows.front().width / 2;
    hi = a.windows.front().center + a.windows.front().width / 2;
  } else if (img.samples == 1) {
    std::vector<float> sorted = grey;
    std::sort(sorted.begin(), sorted.end());
    lo = sorted[sorted.size() / 100];
    hi = sorted[sorted.size() - 1 - sorted.size() / 100];
  }
  const std::uint32_t scale = std::max<std::uint32_t>(1, 512U / std::max<std::uint32_t>(img.rows, img.columns));
  const std::uint32_t W = img.columns * scale;
  const std::uint32_t H = img.rows * scale;
  std::vector<std::uint8_t> rgb(static_cast<std::size_t>(W) * H * 3);
  for (std::uint32_t y = 0; y < H; ++y) {
    for (std::uint32_t x = 0; x < W; ++x) {
      const std::size_t src = static_cast<std::size_t>(y / scale) * img.columns + x / scale;
      std::array<double, 3> v{};
      if (img.samples == 3) {
        for (std::size_t c = 0; c < 3; ++c) v[c] = img.pixels[src * 3 + c];
      } else {
        double g = hi > lo ? (grey[src] - lo) / (hi - lo) * 255.0 : 0.0;
        if (img.monochrome1) g = 255.0 - g;
        v = {g, g, g};
      }
      for (std::size_t c = 0; c < 3; ++c) {
        rgb[(static_cast<std::size_t>(y) * W + x) * 3 + c] = static_cast<std::uint8_t>(std::clamp(v[c], 0.0, 255.0));
      }
    }
  }
  const auto plot = [&](double x, double y, const std::array<std::uint8_t, 3>& colour) {
    const auto xi = static_cast<std::int64_t>(std::lround(x));
    const auto yi = static_cast<std::int64_t>(std::lround(y));
    if (xi < 0 || yi < 0 || xi >= static_cast<std::int64_t>(W) || yi >= static_cast<std::int64_t>(H)) return;
    for (std::size_t c = 0; c < 3; ++c)
      rgb[(static_cast<std::size_t>(yi) * W + static_cast<std::size_t>(xi)) * 3 + c] = colour[c];
  };
  for (const auto& p : proposals) {
    for (const auto& ring : p.rings) {
      for (std::size_t i = 0; i < ring.points.size(); ++i) {
        const auto& u = ring.points[i];
        const auto& w = ring.points[(i + 1) % ring.points.size()];
        // pixel-edge coordinates -> output pixels
        const double x0 = (u.column + 0.5) * scale;
        const double y0 = (u.row + 0.5) * scale;
        const double x1 = (w.column + 0.5) * scale;
        const double y1 = (w.row + 0.5) * scale;
        const auto steps = static_cast<int>(std::ceil(std::max(std::abs(x1 - x0), std::abs(y1 - y0)))) + 1;
        for (int s = 0; s <= steps; ++s) {
          const double t = static_cast<double>(s) / steps;
          plot(x0 + t * (x1 - x0), y0 + t * (y1 - y0), p.label.color);
        }
      }
    }
  }
  iod::writeFileAtomically(path, encodePng(rgb, W, H, 3));
}

}  // namespace iodeep::client
