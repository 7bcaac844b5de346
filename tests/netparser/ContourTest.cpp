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
