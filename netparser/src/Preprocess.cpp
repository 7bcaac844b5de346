// check_tensor_shape and pre-processing. Torch-free.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "iodeep/iod/Error.hpp"
#include "iodeep/netparser/Prediction.hpp"

namespace iodeep::netparser {

namespace {

// numpy.percentile (linear interpolation) of @p values (reordered in place).
double percentile(std::vector<float>& values, double p) {
  if (values.empty()) return 0.0;
  const double pos = p / 100.0 * static_cast<double>(values.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const auto hi = std::min(lo + 1, values.size() - 1);
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(lo), values.end());
  const double a = values[lo];
  double b = a;
  if (hi != lo) b = *std::min_element(values.begin() + static_cast<std::ptrdiff_t>(lo) + 1, values.end());
  return a + (pos - static_cast<double>(lo)) * (b - a);
}

// The range the modality LUT can produce from BitsStored, for MONOCHROME1 inversion.
std::pair<double, double> storedRange(const iod::SliceAttributes& a) {
  if (a.modalityLut) return {0.0, std::ldexp(1.0, a.modalityLut->bitsPerEntry) - 1.0};  // the table's range
  const double n = std::ldexp(1.0, a.bitsStored);
  const double lo = a.pixelRepresentation == 1 ? -n / 2 : 0.0;
  const double hi = a.pixelRepresentation == 1 ? n / 2 - 1 : n - 1;
  const double x = lo * a.rescaleSlope + a.rescaleIntercept;
  const double y = hi * a.rescaleSlope + a.rescaleIntercept;
  return {std::min(x, y), std::max(x, y)};
}

// Bilinear sample of a single-channel H x W image at (y, x), pixel centres at integers, edges clamped.
float bilinear(const float* img, std::int64_t h, std::int64_t w, double y, double x) {
  y = std::clamp(y, 0.0, static_cast<double>(h - 1));
  x = std::clamp(x, 0.0, static_cast<double>(w - 1));
  const auto y0 = static_cast<std::int64_t>(std::floor(y));
  const auto x0 = static_cast<std::int64_t>(std::floor(x));
  const auto y1 = std::min(y0 + 1, h - 1);
  const auto x1 = std::min(x0 + 1, w - 1);
  const double fy = y - static_cast<double>(y0);
  const double fx = x - static_cast<double>(x0);
  const auto at = [&](std::int64_t r, std::int64_t c) { return static_cast<double>(img[r * w + c]); };
  return static_cast<float>((1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x1)) +
                            fy * ((1 - fx) * at(y1, x0) + fx * at(y1, x1)));
}

}  // namespace

ChannelFit fitChannels(std::uint16_t samples, const Architecture& arch) {
  using Ch = PreprocessingSpec::Channels;
  const auto mode = arch.preprocessing.channels;
  const auto want = arch.input.channels;
  const std::string n = std::to_string(want);
  if (samples == want) return {true, ""};
  if (samples == 1 && want > 1) {
    if (mode == Ch::Replicate || mode == Ch::Adapt) return {true, "grey replicated into " + n + " channels"};
    return {false, "a 1-sample slice for a " + n +
                       "-channel network (set preprocessing.channels to \"replicate\" or \"adapt\")"};
  }
  if (samples == 3 && want == 1) {
    if (mode == Ch::Luminance || mode == Ch::Adapt) return {true, "RGB converted to luminance"};
    return {false, "an RGB slice for a 1-channel network (set preprocessing.channels to \"luminance\" or \"adapt\")"};
  }
  return {false, "SamplesPerPixel " + std::to_string(samples) + " for a " + n + "-channel network"};
}

bool feedsChannels(std::uint16_t samplesPerPixel, const Architecture& arch) {
  return fitChannels(samplesPerPixel, arch).feeds;
}

ShapeCheck checkTensorShape(const iod::SliceAttributes& s, const Architecture& arch) {
  ShapeCheck c;
  const auto& pre = arch.preprocessing;
  if (s.rows == 0 || s.columns == 0) c.problems.emplace_back("the slice has 0 rows or columns");
  auto channels = fitChannels(s.samplesPerPixel, arch);
  if (!channels.feeds) {
    c.problems.push_back(std::move(channels.detail));
  } else if (!channels.detail.empty()) {
    c.adaptations.push_back(std::move(channels.detail));
  }
  const auto& pi = s.photometricInterpretation;
  if (pi == "MONOCHROME1") c.adaptations.emplace_back("MONOCHROME1 inverted (higher = brighter, as MONOCHROME2)");
  if (pi.rfind("YBR", 0) == 0) c.adaptations.emplace_back(pi + " converted to RGB");
  if (pi == "PALETTE COLOR") c.problems.emplace_back("PALETTE COLOR images are not taken");
  if (s.pixelRepresentation == 1) c.adaptations.emplace_back("signed pixel values kept as they are (no 8-bit cast)");
  if (s.modalityLut) {
    c.adaptations.emplace_back("modality LUT sequence applied (" + std::to_string(s.modalityLut->entries) +
                               " entries from stored value " + std::to_string(s.modalityLut->firstMapped) +
                               (s.modalityLut->type.empty() ? "" : ", " + s.modalityLut->type) + ")");
  } else if (s.rescaleSlope != 1.0 || s.rescaleIntercept != 0.0) {
    c.adaptations.emplace_back("modality LUT applied (slope " + std::to_string(s.rescaleSlope) + ", intercept " +
                               std::to_string(s.rescaleIntercept) + ")");
  }
  if (s.rows != arch.input.height || s.columns != arch.input.width) {
    c.adaptations.emplace_back("resized " + std::to_string(s.rows) + "x" + std::to_string(s.columns) + " -> " +
                               std::to_string(arch.input.height) + "x" + std::to_string(arch.input.width) +
                               (pre.keepAspect ? " keeping the aspect ratio (padded)" : " (stretched)"));
  }
  if (pre.window == PreprocessingSpec::Window::Dicom && s.windows.empty()) {
    c.adaptations.emplace_back("no window preset in the slice: percentile window 1-99 used instead");
  }
  return c;
}

PreparedInput preprocess(const iod::SliceImage& img, const Architecture& arch) {
  const auto& s = img.attributes;
  ShapeCheck check = checkTensorShape(s, arch);
  if (!check.ok()) {
    std::string list;
    for (const auto& p : check.problems) list += (list.empty() ? "" : "; ") + p;
    throw Error(ErrorCode::IncompatibleImage, "the slice does not fit the network: " + list,
                ErrorContext{.uid = s.sopInstanceUid});
  }
  const auto& pre = arch.preprocessing;
  const std::size_t n = static_cast<std::size_t>(img.rows) * img.columns;
  const std::int64_t outChannels = arch.input.channels;

  // 1. channels: one plane per network channel
  std::vector<std::vector<float>> planes;
  if (img.samples == 1) {
    planes.assign(1, img.pixels);
  } else if (outChannels == 1) {
    planes.assign(1, std::vector<float>(n));
    for (std::size_t i = 0; i < n; ++i) {
      planes[0][i] = 0.299F * img.pixels[i * 3] + 0.587F * img.pixels[i * 3 + 1] + 0.114F * img.pixels[i * 3 + 2];
    }
  } else {
    planes.assign(3, std::vector<float>(n));
    for (std::size_t i = 0; i < n; ++i) {
      for (std::size_t c = 0; c < 3; ++c) planes[c][i] = img.pixels[i * 3 + c];
    }
  }
  // 2. MONOCHROME1: invert within the range the stored bits allow
  if (img.monochrome1) {
    const auto [lo, hi] = storedRange(s);
    for (auto& v : planes[0]) v = static_cast<float>(lo + hi - v);
  }
  // 3. window and 4. normalisation, per plane
  for (auto& plane : planes) {
    double lo = 0.0;
    double hi = 0.0;
    bool window = true;
    if (pre.window == PreprocessingSpec::Window::Fixed ||
        (pre.window == PreprocessingSpec::Window::Dicom && !s.windows.empty())) {
      const double c = pre.window == PreprocessingSpec::Window::Fixed ? pre.windowCenter : s.windows.front().center;
      const double w = pre.window == PreprocessingSpec::Window::Fixed ? pre.windowWidth : s.windows.front().width;
      lo = c - w / 2.0;
      hi = c + w / 2.0;
    } else if (pre.window == PreprocessingSpec::Window::Percentile || pre.window == PreprocessingSpec::Window::Dicom) {
      std::vector<float> copy = plane;
      const double pl = pre.window == PreprocessingSpec::Window::Percentile ? pre.percentileLow : 1.0;
      const double ph = pre.window == PreprocessingSpec::Window::Percentile ? pre.percentileHigh : 99.0;
      lo = percentile(copy, pl);
      hi = percentile(copy, ph);
    } else {
      window = false;
    }
    if (window) {
      for (auto& v : plane)
        v = hi > lo ? static_cast<float>((std::clamp(static_cast<double>(v), lo, hi) - lo) / (hi - lo)) : 0.0F;
    }
    switch (pre.normalize) {
      case PreprocessingSpec::Normalize::MinMax: {
        const auto [mn, mx] = std::minmax_element(plane.begin(), plane.end());
        const double a = *mn;
        const double b = *mx;
        for (auto& v : plane) v = b > a ? static_cast<float>((v - a) / (b - a)) : 0.0F;
        break;
      }
      case PreprocessingSpec::Normalize::ZScore: {
        const double mean = std::accumulate(plane.begin(), plane.end(), 0.0) / static_cast<double>(n);
        double var = 0.0;
        for (float v : plane) var += (v - mean) * (v - mean);
        const double sd = std::sqrt(var / static_cast<double>(n));
        for (auto& v : plane) v = sd > 0 ? static_cast<float>((v - mean) / sd) : 0.0F;
        break;
      }
      case PreprocessingSpec::Normalize::Fixed:
        for (auto& v : plane) v = static_cast<float>((v - pre.mean) / pre.std);
        break;
      case PreprocessingSpec::Normalize::None: break;
    }
  }
  if (planes.size() == 1 && outChannels > 1) planes.assign(static_cast<std::size_t>(outChannels), planes[0]);

  // 5. resize into the network grid
  const std::int64_t H = arch.input.height;  // both kinds declare their input (parser: >= 1)
  const std::int64_t W = arch.input.width;
  PreparedInput out;
  Placement& pl = out.placement;
  pl.scaleRow = static_cast<double>(H) / img.rows;
  pl.scaleColumn = static_cast<double>(W) / img.columns;
  if (pre.keepAspect) {
    const double scale = std::min(pl.scaleRow, pl.scaleColumn);
    pl.scaleRow = pl.scaleColumn = scale;
    pl.offsetRow = (static_cast<double>(H) - scale * img.rows) / 2.0;
    pl.offsetColumn = (static_cast<double>(W) - scale * img.columns) / 2.0;
  }
  out.tensor.shape = {outChannels, H, W};
  out.tensor.values.assign(static_cast<std::size_t>(outChannels * H * W), static_cast<float>(pre.padValue));
  const bool identity = H == img.rows && W == img.columns;
  for (std::int64_t c = 0; c < outChannels; ++c) {
    const auto& plane = planes[static_cast<std::size_t>(c)];
    float* dst = out.tensor.values.data() + c * H * W;
    if (identity) {
      std::copy(plane.begin(), plane.end(), dst);
      continue;
    }
    for (std::int64_t y = 0; y < H; ++y) {
      const double sy = (static_cast<double>(y) + 0.5 - pl.offsetRow) / pl.scaleRow - 0.5;
      if (sy < -0.5 || sy > img.rows - 0.5) continue;  // padding
      for (std::int64_t x = 0; x < W; ++x) {
        const double sx = (static_cast<double>(x) + 0.5 - pl.offsetColumn) / pl.scaleColumn - 0.5;
        if (sx < -0.5 || sx > img.columns - 0.5) continue;
        dst[y * W + x] = bilinear(plane.data(), img.rows, img.columns, sy, sx);
      }
    }
  }
  out.check = std::move(check);
  return out;
}

// Used by Postprocess.cpp: bilinear sampling of a network-grid map at slice pixel centres.
std::vector<float> mapToSlice(const float* map, std::int64_t h, std::int64_t w, const Placement& pl, std::size_t rows,
                              std::size_t columns) {
  std::vector<float> out(rows * columns);
  for (std::size_t r = 0; r < rows; ++r) {
    const double y = (static_cast<double>(r) + 0.5) * pl.scaleRow + pl.offsetRow - 0.5;
    for (std::size_t c = 0; c < columns; ++c) {
      const double x = (static_cast<double>(c) + 0.5) * pl.scaleColumn + pl.offsetColumn - 0.5;
      out[r * columns + c] = bilinear(map, h, w, y, x);
    }
  }
  return out;
}

}  // namespace iodeep::netparser
