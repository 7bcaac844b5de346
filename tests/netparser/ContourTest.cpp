#include <gtest/gtest.h>

#include <random>

#include "iodeep/iod/Polygon.hpp"
#include "iodeep/netparser/Prediction.hpp"

using namespace iodeep;
using namespace iodeep::netparser;

namespace {

std::vector<std::uint8_t> parse(const std::vector<std::string>& rows) {
  std::vector<std::uint8_t> m;
  for (const auto& r : rows) {
    for (char c : r) m.push_back(c == '#' ? 1 : 0);
  }
  return m;
}

}  // namespace

TEST(Contours, SinglePixelIsASquareAlongItsEdges) {
  const auto rings = traceMask({0, 0, 0, 0, 1, 0, 0, 0, 0}, 3, 3);
  ASSERT_EQ(rings.size(), 1U);
  EXPECT_FALSE(rings[0].hole);
  EXPECT_EQ(rings[0].points,
            (std::vector<iod::PixelPoint>{{0.5, 0.5}, {1.5, 0.5}, {1.5, 1.5}, {0.5, 1.5}}));  // pixel (1,1) edges
  EXPECT_DOUBLE_EQ(iod::signedArea(rings[0]), 1.0);
}

TEST(Contours, HolesAreCounterClockwiseAndRefillExactly) {
  const std::vector<std::string> rows = {"#####", "#...#", "#.#.#", "#...#", "#####"};
  const auto mask = parse(rows);
  const auto rings = traceMask(mask, 5, 5);
  ASSERT_EQ(rings.size(), 3U);  // outer, hole, island inside the hole
  EXPECT_FALSE(rings[0].hole);
  EXPECT_FALSE(rings[1].hole);
  EXPECT_TRUE(rings[2].hole);
  EXPECT_DOUBLE_EQ(iod::signedArea(rings[0]) + iod::signedArea(rings[1]) + iod::signedArea(rings[2]), 17.0);
  EXPECT_EQ(iod::fillEvenOdd(rings, 5, 5), mask);
}

TEST(Contours, DiagonalNeighboursStaySeparateRings) {
  const auto mask = parse({"#.", ".#"});
  const auto rings = traceMask(mask, 2, 2);
  EXPECT_EQ(rings.size(), 2U);
  EXPECT_EQ(iod::fillEvenOdd(rings, 2, 2), mask);
}

TEST(Contours, RandomMasksRoundTripThroughEvenOddRefill) {
  for (std::uint32_t seed = 1; seed <= 300; ++seed) {
    std::mt19937 rng(seed);
    const std::size_t rows = 1 + rng() % 40;
    const std::size_t cols = 1 + rng() % 40;
    const double density = std::uniform_real_distribution<double>(0.05, 0.95)(rng);
    std::vector<std::uint8_t> mask(rows * cols);
    std::bernoulli_distribution on(density);
    for (auto& m : mask) m = on(rng) ? 1 : 0;
    // blobs with holes and islands, some touching the border
    for (int k = 0; k < 3; ++k) {
      const auto cr = static_cast<double>(rng() % rows);
      const auto cc = static_cast<double>(rng() % cols);
      const double radius = 1.0 + static_cast<double>(rng() % 12);
      for (std::size_t r = 0; r < rows; ++r) {
        for (std::size_t c = 0; c < cols; ++c) {
          const double d = std::hypot(static_cast<double>(r) - cr, static_cast<double>(c) - cc);
          if (d < radius) mask[r * cols + c] = static_cast<std::uint8_t>(d < radius / 2 ? (k % 2) : 1);
        }
      }
    }
    const auto rings = traceMask(mask, rows, cols);
    for (const auto& ring : rings) EXPECT_EQ(ring.hole, iod::signedArea(ring) < 0);
    ASSERT_EQ(iod::fillEvenOdd(rings, rows, cols), mask) << "seed " << seed << " " << rows << "x" << cols;
  }
}

TEST(Contours, SimplificationKeepsShapeWithinTolerance) {
  iod::Ring staircase;
  for (int i = 0; i < 20; ++i) {
    staircase.points.push_back({static_cast<double>(i), static_cast<double>(i)});
    staircase.points.push_back({static_cast<double>(i + 1), static_cast<double>(i)});
  }
  staircase.points.push_back({20.0, 40.0});
  staircase.points.push_back({0.0, 40.0});
  const auto simple = simplifyRing(staircase, 1.0);
  EXPECT_LT(simple.points.size(), staircase.points.size() / 4);
  EXPECT_GE(simple.points.size(), 3U);
  EXPECT_EQ(simplifyRing(staircase, 0.0).points.size(), staircase.points.size());
  EXPECT_TRUE(simplifyRing(iod::Ring{{{0, 0}, {1, 0}, {2, 0}, {3, 0}, {4, 0.01}}, false}, 0.5).points.empty());
}

// ---- post-processing on synthetic network outputs --------------------------------------

namespace {

netparser::Architecture outputArch(const std::string& output, const std::string& post, int channels) {
  return netparser::parseArchitecture(R"({"input": {"channels": 1, "height": 20, "width": 20},
    "layers": [{"id": "c", "type": "conv2d", "out_channels": )" +
                                      std::to_string(channels) +
                                      R"(, "kernel_size": 1}],
    "output": )" + output + R"(, "postprocessing": )" +
                                      post + "}");
}

iod::SliceAttributes slice20(bool spacing) {
  iod::SliceAttributes s;
  s.rows = 20;
  s.columns = 20;
  if (spacing) s.pixelSpacing = std::array<double, 2>{0.5, 0.5};
  return s;
}

// logits: +10 inside the given rectangles of channel c, -10 elsewhere
FloatTensor logits(int channels, const std::vector<std::array<int, 5>>& boxes) {
  FloatTensor t{{1, channels, 20, 20}, std::vector<float>(static_cast<std::size_t>(channels) * 400, -10.0F)};
  for (const auto& b : boxes) {  // channel, r0, c0, r1, c1 (inclusive)
    for (int r = b[1]; r <= b[3]; ++r) {
      for (int c = b[2]; c <= b[4]; ++c) t.values[static_cast<std::size_t>(b[0] * 400 + r * 20 + c)] = 10.0F;
    }
  }
  return t;
}

}  // namespace

TEST(Postprocess, AreaFiltersKeepLargestAndHoles) {
  const auto out = logits(1, {{0, 2, 2, 11, 11}, {0, 15, 15, 16, 16}});  // 100 px and 4 px regions
  auto arch = outputArch(R"({"labels": [{"index": 0, "name": "A"}]})", "{}", 1);
  EXPECT_EQ(postprocess(out, {}, slice20(false), arch).proposals.size(), 2U);
  arch = outputArch(R"({"labels": [{"index": 0, "name": "A"}]})", R"({"min_area_px": 5})", 1);
  EXPECT_EQ(postprocess(out, {}, slice20(false), arch).proposals.size(), 1U);
  // 4 px of 0.25 mm2 = 1 mm2 < 2 mm2; min_area_px is not used when PixelSpacing is known
  arch = outputArch(R"({"labels": [{"index": 0, "name": "A"}]})", R"({"min_area_mm2": 2, "min_area_px": 1000})", 1);
  const auto mm = postprocess(out, {}, slice20(true), arch).proposals;
  ASSERT_EQ(mm.size(), 1U);
  EXPECT_DOUBLE_EQ(mm[0].areaMm2, 25.0);
  arch = outputArch(R"({"labels": [{"index": 0, "name": "A"}]})", R"({"keep_largest": 1})", 1);
  const auto largest = postprocess(out, {}, slice20(false), arch).proposals;
  ASSERT_EQ(largest.size(), 1U);
  EXPECT_EQ(largest[0].areaPixels, 100);
  EXPECT_GT(largest[0].meanProbability, 0.99);

  auto ring = logits(1, {{0, 2, 2, 11, 11}});
  for (int r = 5; r <= 7; ++r) {
    for (int c = 5; c <= 7; ++c) ring.values[static_cast<std::size_t>(r * 20 + c)] = -10.0F;  // a hole
  }
  arch = outputArch(R"({"labels": [{"index": 0, "name": "A"}]})", "{}", 1);
  const auto kept = postprocess(ring, {}, slice20(false), arch).proposals;
  ASSERT_EQ(kept.size(), 1U);
  EXPECT_EQ(kept[0].rings.size(), 2U);
  EXPECT_TRUE(kept[0].rings[1].hole);
  EXPECT_EQ(kept[0].areaPixels, 91);
  arch = outputArch(R"({"labels": [{"index": 0, "name": "A"}]})", R"({"fill_holes": true})", 1);
  const auto filled = postprocess(ring, {}, slice20(false), arch).proposals;
  EXPECT_EQ(filled[0].rings.size(), 1U);
  EXPECT_EQ(filled[0].areaPixels, 100);
}

TEST(Postprocess, SoftmaxAssignsEachPixelToOneLabel) {
  // channel 0 background everywhere; channels 1 and 2 overlap in a 2x10 band, channel 2 stronger there
  auto out = logits(3, {{1, 0, 0, 9, 9}, {2, 8, 0, 19, 9}});
  for (int r = 8; r <= 9; ++r) {
    for (int c = 0; c <= 9; ++c) out.values[static_cast<std::size_t>(2 * 400 + r * 20 + c)] = 12.0F;
  }
  const auto arch = outputArch(
      R"({"activation": "softmax", "threshold": 0.5, "labels": [{"index": 1, "name": "one"}, {"index": 2, "name": "two", "color": [0, 255, 0]}]})",
      "{}", 3);
  const auto p = postprocess(out, {}, slice20(false), arch).proposals;
  ASSERT_EQ(p.size(), 2U);
  EXPECT_EQ(p[0].label.name, "one");
  EXPECT_EQ(p[0].areaPixels, 80);   // rows 0-7
  EXPECT_EQ(p[1].areaPixels, 120);  // rows 8-19
  EXPECT_EQ(p[1].label.color, (std::array<std::uint8_t, 3>{0, 255, 0}));
}
