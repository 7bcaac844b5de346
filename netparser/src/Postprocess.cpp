// Network output -> ROI proposals: activation, back to the slice grid, threshold, regions,
// contours along pixel edges, simplification. Torch-free.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <queue>

#include "iodeep/iod/Error.hpp"
#include "iodeep/netparser/Prediction.hpp"

namespace iodeep::netparser {

std::vector<float> mapToSlice(const float* map, std::int64_t h, std::int64_t w, const Placement& pl, std::size_t rows,
                              std::size_t columns);

namespace {

using Clock = std::chrono::steady_clock;
double ms(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// 4-connected components of a mask: label per pixel (0 = background), and the count.
std::pair<std::vector<std::int32_t>, std::int32_t> components(const std::vector<std::uint8_t>& mask, std::size_t rows,
                                                              std::size_t cols) {
  std::vector<std::int32_t> label(mask.size(), 0);
  std::int32_t next = 0;
  std::vector<std::size_t> stack;
  for (std::size_t start = 0; start < mask.size(); ++start) {
    if (mask[start] == 0 || label[start] != 0) continue;
    label[start] = ++next;
    stack.push_back(start);
    while (!stack.empty()) {
      const std::size_t i = stack.back();
      stack.pop_back();
      const std::size_t r = i / cols;
      const std::size_t c = i % cols;
      const auto visit = [&](std::size_t j) {
        if (mask[j] != 0 && label[j] == 0) {
          label[j] = next;
          stack.push_back(j);
        }
      };
      if (r > 0) visit(i - cols);
      if (r + 1 < rows) visit(i + cols);
      if (c > 0) visit(i - 1);
      if (c + 1 < cols) visit(i + 1);
    }
  }
  return {label, next};
}

// Fills the holes of a region: background not 8-connected to the border becomes foreground.
void fillHoles(std::vector<std::uint8_t>& mask, std::size_t rows, std::size_t cols) {
  std::vector<std::uint8_t> outside(mask.size(), 0);
  std::vector<std::size_t> stack;
  const auto seed = [&](std::size_t i) {
    if (mask[i] == 0 && outside[i] == 0) {
      outside[i] = 1;
      stack.push_back(i);
    }
  };
  for (std::size_t c = 0; c < cols; ++c) {
    seed(c);
    seed((rows - 1) * cols + c);
  }
  for (std::size_t r = 0; r < rows; ++r) {
    seed(r * cols);
    seed(r * cols + cols - 1);
  }
  while (!stack.empty()) {
    const std::size_t i = stack.back();
    stack.pop_back();
    const auto r = static_cast<std::int64_t>(i / cols);
    const auto c = static_cast<std::int64_t>(i % cols);
    for (std::int64_t dr = -1; dr <= 1; ++dr) {
      for (std::int64_t dc = -1; dc <= 1; ++dc) {
        const auto rr = r + dr;
        const auto cc = c + dc;
        if (rr < 0 || cc < 0 || rr >= static_cast<std::int64_t>(rows) || cc >= static_cast<std::int64_t>(cols))
          continue;
        seed(static_cast<std::size_t>(rr) * cols + static_cast<std::size_t>(cc));
      }
    }
  }
  for (std::size_t i = 0; i < mask.size(); ++i) {
    if (outside[i] == 0) mask[i] = 1;
  }
}

double pointSegmentDistance(const iod::PixelPoint& p, const iod::PixelPoint& a, const iod::PixelPoint& b) {
  const double dx = b.column - a.column;
  const double dy = b.row - a.row;
  const double len2 = dx * dx + dy * dy;
  double t = len2 > 0 ? ((p.column - a.column) * dx + (p.row - a.row) * dy) / len2 : 0.0;
  t = std::clamp(t, 0.0, 1.0);
  const double ex = a.column + t * dx - p.column;
  const double ey = a.row + t * dy - p.row;
  return std::sqrt(ex * ex + ey * ey);
}

void douglasPeucker(const std::vector<iod::PixelPoint>& pts, std::size_t first, std::size_t last, double tol,
                    std::vector<bool>& keep) {
  // iterative, so long rings cannot exhaust the stack
  std::vector<std::pair<std::size_t, std::size_t>> work{{first, last}};
  while (!work.empty()) {
    const auto [a, b] = work.back();
    work.pop_back();
    double worst = 0.0;
    std::size_t index = a;
    for (std::size_t i = a + 1; i < b; ++i) {
      const double d = pointSegmentDistance(pts[i], pts[a], pts[b]);
      if (d > worst) {
        worst = d;
        index = i;
      }
    }
    if (worst > tol) {
      keep[index] = true;
      work.emplace_back(a, index);
      work.emplace_back(index, b);
    }
  }
}

}  // namespace

std::vector<iod::Ring> traceMask(const std::vector<std::uint8_t>& mask, std::size_t rows, std::size_t cols) {
  // Boundary edges on the vertex grid (rows+1) x (cols+1), directed with the foreground on the
  // right (rows grow downwards): clockwise around each foreground pixel.
  const std::size_t vcols = cols + 1;
  const auto vid = [&](std::size_t r, std::size_t c) { return r * vcols + c; };
  const auto inside = [&](std::int64_t r, std::int64_t c) {
    return r >= 0 && c >= 0 && r < static_cast<std::int64_t>(rows) && c < static_cast<std::int64_t>(cols) &&
           mask[static_cast<std::size_t>(r) * cols + static_cast<std::size_t>(c)] != 0;
  };
  // out[v] holds up to two outgoing edge targets (two at a saddle vertex)
  std::vector<std::array<std::int64_t, 2>> out((rows + 1) * vcols, {-1, -1});
  std::size_t edges = 0;
  const auto addEdge = [&](std::size_t from, std::size_t to) {
    auto& slot = out[from];
    (slot[0] < 0 ? slot[0] : slot[1]) = static_cast<std::int64_t>(to);
    ++edges;
  };
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t c = 0; c < cols; ++c) {
      if (mask[r * cols + c] == 0) continue;
      const auto ri = static_cast<std::int64_t>(r);
      const auto ci = static_cast<std::int64_t>(c);
      if (!inside(ri - 1, ci)) addEdge(vid(r, c), vid(r, c + 1));          // top, rightwards
      if (!inside(ri, ci + 1)) addEdge(vid(r, c + 1), vid(r + 1, c + 1));  // right, downwards
      if (!inside(ri + 1, ci)) addEdge(vid(r + 1, c + 1), vid(r + 1, c));  // bottom, leftwards
      if (!inside(ri, ci - 1)) addEdge(vid(r + 1, c), vid(r, c));          // left, upwards
    }
  }
  std::vector<iod::Ring> rings;
  const auto take = [&](std::size_t from, std::int64_t prevDr, std::int64_t prevDc) -> std::int64_t {
    auto& slot = out[from];
    if (slot[0] < 0 && slot[1] < 0) return -1;
    std::size_t pick = slot[0] >= 0 ? 0 : 1;
    if (slot[0] >= 0 && slot[1] >= 0) {
      // saddle: turn right (keeps diagonal neighbours apart: 4-connected regions)
      for (std::size_t k = 0; k < 2; ++k) {
        const auto to = static_cast<std::size_t>(slot[k]);
        const auto dr = static_cast<std::int64_t>(to / vcols) - static_cast<std::int64_t>(from / vcols);
        const auto dc = static_cast<std::int64_t>(to % vcols) - static_cast<std::int64_t>(from % vcols);
        // right turn of (dr, dc) with rows down: (prevDr, prevDc) -> (prevDc, -prevDr)
        if (dr == prevDc && dc == -prevDr) pick = k;
      }
    }
    const std::int64_t to = slot[pick];
    slot[pick] = -1;
    return to;
  };
  for (std::size_t start = 0; start < out.size() && edges > 0; ++start) {
    while (out[start][0] >= 0 || out[start][1] >= 0) {
      std::vector<iod::PixelPoint> pts;
      std::size_t v = start;
      std::int64_t dr = 0;
      std::int64_t dc = 0;
      while (true) {
        const std::int64_t next = take(v, dr, dc);
        if (next < 0) break;
        --edges;
        const auto n = static_cast<std::size_t>(next);
        const auto ndr = static_cast<std::int64_t>(n / vcols) - static_cast<std::int64_t>(v / vcols);
        const auto ndc = static_cast<std::int64_t>(n % vcols) - static_cast<std::int64_t>(v % vcols);
        if (ndr != dr || ndc != dc || pts.empty()) {
          const std::size_t vertexRow = v / vcols;  // integer division: the vertex grid row
          pts.push_back({static_cast<double>(v % vcols) - 0.5, static_cast<double>(vertexRow) - 0.5});  // a corner
        }
        dr = ndr;
        dc = ndc;
        v = n;
        if (v == start) break;
      }
      // the start vertex may sit in the middle of a straight run
      if (pts.size() >= 3) {
        const auto& a = pts[pts.size() - 1];
        const auto& b = pts[0];
        const auto& c = pts[1];
        if ((b.column - a.column) * (c.row - b.row) == (b.row - a.row) * (c.column - b.column)) pts.erase(pts.begin());
      }
      if (pts.size() >= 3) {
        iod::Ring ring{std::move(pts), false};
        ring.hole = iod::signedArea(ring) < 0;
        rings.push_back(std::move(ring));
      }
    }
  }
  std::stable_sort(rings.begin(), rings.end(),
                   [](const iod::Ring& a, const iod::Ring& b) { return !a.hole && b.hole; });
  return rings;
}

iod::Ring simplifyRing(const iod::Ring& ring, double tolerance) {
  if (tolerance <= 0.0 || ring.points.size() <= 4) return ring;
  const auto& p = ring.points;
  // anchor at point 0 and the point farthest from it, then simplify both halves
  std::size_t far = 0;
  double best = -1.0;
  for (std::size_t i = 1; i < p.size(); ++i) {
    const double d = std::hypot(p[i].column - p[0].column, p[i].row - p[0].row);
    if (d > best) {
      best = d;
      far = i;
    }
  }
  std::vector<iod::PixelPoint> closed(p.begin(), p.end());
  closed.push_back(p[0]);
  std::vector<bool> keep(closed.size(), false);
  keep[0] = keep[far] = keep.back() = true;
  douglasPeucker(closed, 0, far, tolerance, keep);
  douglasPeucker(closed, far, closed.size() - 1, tolerance, keep);
  iod::Ring out{{}, ring.hole};
  for (std::size_t i = 0; i + 1 < closed.size(); ++i) {
    if (keep[i]) out.points.push_back(closed[i]);
  }
  if (out.points.size() < 3 || std::abs(iod::signedArea(out)) < 1e-9) out.points.clear();
  return out;
}

std::vector<LabelSpec> outputLabels(const Architecture& arch, std::int64_t channels) {
  const auto& spec = arch.outputSpec;
  std::vector<LabelSpec> labels = spec.labels;
  if (labels.empty()) {
    for (std::int64_t c = (spec.activation == OutputSpec::Activation::Softmax && channels > 1) ? 1 : 0; c < channels;
         ++c) {
      labels.push_back({c, "label " + std::to_string(c), {255, 0, 0}, "ORGAN"});
    }
  }
  return labels;
}

Postprocessed postprocess(const FloatTensor& output, const Placement& placement, const iod::SliceAttributes& s,
                          const Architecture& arch) {
  const auto t0 = Clock::now();
  double contourMs = 0.0;
  std::vector<std::int64_t> shape = output.shape;
  if (shape.size() == 4 && shape[0] == 1) shape.erase(shape.begin());
  if (shape.size() != 3) throw Error(ErrorCode::ShapeMismatch, "the network output is not a C,H,W map");
  const auto C = shape[0];
  const auto H = shape[1];
  const auto W = shape[2];
  const auto& spec = arch.outputSpec;
  const std::vector<LabelSpec> labels = outputLabels(arch, C);
  for (const auto& l : labels) {
    if (l.index >= C) {
      throw Error(ErrorCode::ChannelMismatch, "label '" + l.name + "' is channel " + std::to_string(l.index) +
                                                  " but the network puts out " + std::to_string(C) + " channel(s)");
    }
  }
  // activation on the network grid
  std::vector<float> prob(output.values);
  const std::size_t plane = static_cast<std::size_t>(H * W);
  if (spec.activation == OutputSpec::Activation::Sigmoid) {
    for (auto& v : prob) v = 1.0F / (1.0F + std::exp(-v));
  } else if (spec.activation == OutputSpec::Activation::Softmax) {
    for (std::size_t i = 0; i < plane; ++i) {
      float mx = -INFINITY;
      for (std::int64_t c = 0; c < C; ++c) mx = std::max(mx, prob[static_cast<std::size_t>(c) * plane + i]);
      double sum = 0.0;
      for (std::int64_t c = 0; c < C; ++c) sum += std::exp(prob[static_cast<std::size_t>(c) * plane + i] - mx);
      for (std::int64_t c = 0; c < C; ++c) {
        auto& v = prob[static_cast<std::size_t>(c) * plane + i];
        v = static_cast<float>(std::exp(v - mx) / sum);
      }
    }
  }
  const std::size_t rows = s.rows;
  const std::size_t cols = s.columns;
  // back to the slice's own grid before thresholding
  std::vector<std::vector<float>> sliceProb(static_cast<std::size_t>(C));
  for (std::int64_t c = 0; c < C; ++c) {
    sliceProb[static_cast<std::size_t>(c)] =
        mapToSlice(prob.data() + static_cast<std::size_t>(c) * plane, H, W, placement, rows, cols);
  }
  const double pixelMm2 = s.pixelSpacing ? (*s.pixelSpacing)[0] * (*s.pixelSpacing)[1] : -1.0;
  const auto& post = arch.postprocessing;
  std::vector<Proposal> proposals;
  for (const auto& label : labels) {
    const auto& p = sliceProb[static_cast<std::size_t>(label.index)];
    std::vector<std::uint8_t> mask(rows * cols, 0);
    for (std::size_t i = 0; i < mask.size(); ++i) {
      bool on = p[i] >= spec.threshold;
      if (on && spec.activation == OutputSpec::Activation::Softmax) {
        for (std::int64_t c = 0; c < C && on; ++c) {
          if (c != label.index && sliceProb[static_cast<std::size_t>(c)][i] > p[i]) on = false;
        }
      }
      mask[i] = on ? 1 : 0;
    }
    const auto [comp, count] = components(mask, rows, cols);
    struct Region {
      std::int32_t id;
      std::int64_t area;
    };
    std::vector<Region> regions;
    std::vector<std::int64_t> areas(static_cast<std::size_t>(count) + 1, 0);
    for (auto id : comp) ++areas[static_cast<std::size_t>(id)];
    for (std::int32_t id = 1; id <= count; ++id) {
      const auto area = areas[static_cast<std::size_t>(id)];
      const bool big = pixelMm2 > 0 ? static_cast<double>(area) * pixelMm2 >= post.minAreaMm2
                                    : static_cast<double>(area) >= post.minAreaPixels;
      if (big) regions.push_back({id, area});
    }
    std::stable_sort(regions.begin(), regions.end(), [](const Region& a, const Region& b) { return a.area > b.area; });
    if (post.keepLargest > 0 && regions.size() > static_cast<std::size_t>(post.keepLargest)) {
      regions.resize(static_cast<std::size_t>(post.keepLargest));
    }
    for (const auto& region : regions) {
      std::vector<std::uint8_t> one(rows * cols, 0);
      for (std::size_t i = 0; i < one.size(); ++i) one[i] = comp[i] == region.id ? 1 : 0;
      if (post.fillHoles) fillHoles(one, rows, cols);
      Proposal prop;
      prop.label = label;
      double sum = 0.0;
      for (std::size_t i = 0; i < one.size(); ++i) {
        if (one[i] != 0) {
          ++prop.areaPixels;
          sum += p[i];
        }
      }
      prop.meanProbability = prop.areaPixels > 0 ? sum / static_cast<double>(prop.areaPixels) : 0.0;
      prop.areaMm2 = pixelMm2 > 0 ? static_cast<double>(prop.areaPixels) * pixelMm2 : -1.0;
      const auto c0 = Clock::now();
      for (auto& ring : traceMask(one, rows, cols)) {
        iod::Ring simple = simplifyRing(ring, post.simplifyPixels);
        if (!simple.points.empty()) prop.rings.push_back(std::move(simple));
      }
      contourMs += ms(c0, Clock::now());
      if (!prop.rings.empty()) proposals.push_back(std::move(prop));
    }
  }
  return {std::move(proposals), ms(t0, Clock::now()) - contourMs, contourMs};
}

}  // namespace iodeep::netparser
