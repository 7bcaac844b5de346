// Hole detection in roisOnImage: a ring is a hole when it lies inside an odd number of the other
// rings (even-odd). Checked on thousands of nested and adjacent rings, and against the plain
// quadratic test (each ring's test point against every other ring) on random nested sets.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "../iod/TestSupport.hpp"
#include "iodeep/iod/Polygon.hpp"
#include "iodeep/rtstruct/StructureSet.hpp"

using namespace iodeep;
using namespace iodeep::rtstruct;

namespace {

using Polygon = std::vector<std::array<double, 2>>;  // (x, y) in mm on the axial image at z = 0

// The axial image at the origin with 1 mm pixels: (x, y, 0) is pixel (column x, row y).
iod::SliceAttributes axialImage() {
  auto a = test::sampleMrSlice(512, 512);
  a.pixelSpacing = std::array<double, 2>{1.0, 1.0};
  a.imagePositionPatient = std::array<double, 3>{0.0, 0.0, 0.0};
  a.imageOrientationPatient = std::array<double, 6>{1, 0, 0, 0, 1, 0};
  return a;
}

// One ROI whose contours are @p polygons, all on @p image.
StructureSetInfo setOf(const std::vector<Polygon>& polygons, const iod::SliceAttributes& image) {
  StructureSetInfo set;
  StoredRoi roi;
  roi.number = 1;
  roi.name = "Many rings";
  for (const auto& p : polygons) {
    std::vector<std::array<double, 3>> points;
    for (const auto& [x, y] : p) points.push_back({x, y, 0.0});
    roi.contours.emplace_back(image.sopInstanceUid, std::move(points));
  }
  set.rois.push_back(std::move(roi));
  return set;
}

// A regular polygon of @p corners around (cx, cy), clockwise or not.
Polygon circle(double cx, double cy, double radius, int corners, bool clockwise, double phase = 0.0) {
  Polygon p;
  for (int k = 0; k < corners; ++k) {
    const double a = phase + 2.0 * M_PI * (clockwise ? k : -k) / corners;
    p.push_back({cx + radius * std::cos(a), cy + radius * std::sin(a)});
  }
  return p;
}

Polygon square(double x0, double y0, double side, bool clockwise) {
  Polygon p{{x0, y0}, {x0 + side, y0}, {x0 + side, y0 + side}, {x0, y0 + side}};
  if (!clockwise) std::reverse(p.begin(), p.end());
  return p;
}

// The plain quadratic test, as roisOnImage did it before: each ring's point just inside its
// first edge against every other ring.
std::vector<bool> quadraticHoles(const std::vector<iod::Ring>& rings) {
  std::vector<bool> holes;
  for (std::size_t i = 0; i < rings.size(); ++i) {
    const auto& a = rings[i].points[0];
    const auto& b = rings[i].points[1];
    const double sign = iod::signedArea(rings[i]) >= 0 ? 1.0 : -1.0;
    const double len = std::hypot(b.column - a.column, b.row - a.row);
    const double mx = (a.column + b.column) / 2 - sign * (b.row - a.row) / len * 1e-3;
    const double my = (a.row + b.row) / 2 + sign * (b.column - a.column) / len * 1e-3;
    int depth = 0;
    for (std::size_t j = 0; j < rings.size(); ++j) {
      if (j == i) continue;
      bool inside = false;
      const auto& q = rings[j].points;
      for (std::size_t k = 0, l = q.size() - 1; k < q.size(); l = k++) {
        if ((q[k].row > my) != (q[l].row > my) &&
            mx < (q[l].column - q[k].column) * (my - q[k].row) / (q[l].row - q[k].row) + q[k].column) {
          inside = !inside;
        }
      }
      depth += inside ? 1 : 0;
    }
    holes.push_back(depth % 2 == 1);
  }
  return holes;
}

std::vector<bool> holesOf(const std::vector<iod::Ring>& rings) {
  std::vector<bool> h;
  for (const auto& r : rings) h.push_back(r.hole);
  return h;
}

}  // namespace

// 2,000 concentric rings of 24 points each, in shuffled order and either orientation: the k-th
// from outside is a hole exactly when k is odd.
TEST(Holes, TwoThousandNestedRings) {
  const auto image = axialImage();
  constexpr int kRings = 2000;
  std::vector<Polygon> polygons;
  std::vector<int> depth;
  std::mt19937 rng(7);
  std::vector<int> order(kRings);
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), rng);
  for (const int k : order) {
    polygons.push_back(circle(256.0, 256.0, 250.0 - 0.12 * k, 24, rng() % 2 == 0));
    depth.push_back(k);
  }
  const auto on = roisOnImage(setOf(polygons, image), image);
  ASSERT_EQ(on.size(), 1U);
  ASSERT_EQ(on[0].rings.size(), static_cast<std::size_t>(kRings));
  int holes = 0;
  for (std::size_t i = 0; i < on[0].rings.size(); ++i) {
    EXPECT_EQ(on[0].rings[i].hole, depth[i] % 2 == 1) << "ring at depth " << depth[i];
    holes += on[0].rings[i].hole ? 1 : 0;
  }
  EXPECT_EQ(holes, kRings / 2);
}

// 2,000 adjacent squares sharing their edges, each with a hole that holds an island, and a frame
// around them all whose inside is a hole too: squares inside the frame's hole are outer rings again,
// their holes are holes, the islands are not.
TEST(Holes, TwoThousandAdjacentSquaresWithHolesAndIslands) {
  const auto image = axialImage();
  std::vector<Polygon> polygons;
  std::vector<bool> expected;
  polygons.push_back(square(0.0, 0.0, 500.0, true));  // the frame
  expected.push_back(false);
  polygons.push_back(square(1.0, 1.0, 498.0, false));  // its inside: a hole
  expected.push_back(true);
  for (int r = 0; r < 40; ++r) {
    for (int c = 0; c < 50; ++c) {
      const double x = 2.0 + 9.0 * c;
      const double y = 2.0 + 9.0 * r;
      polygons.push_back(square(x, y, 9.0, (r + c) % 2 == 0));  // in the frame's hole: depth 2
      expected.push_back(false);
      polygons.push_back(square(x + 2.0, y + 2.0, 5.0, (r + c) % 3 == 0));  // depth 3
      expected.push_back(true);
      polygons.push_back(circle(x + 4.5, y + 4.5, 1.5, 8, c % 2 == 0));  // depth 4
      expected.push_back(false);
    }
  }
  const auto on = roisOnImage(setOf(polygons, image), image);
  ASSERT_EQ(on.size(), 1U);
  ASSERT_EQ(on[0].rings.size(), polygons.size());
  EXPECT_EQ(holesOf(on[0].rings), expected);
  EXPECT_EQ(holesOf(on[0].rings), quadraticHoles(on[0].rings));
}

// Random nested and disjoint circles (no two boundaries cross): the same answer as the quadratic test.
TEST(Holes, RandomNestedCirclesAgreeWithTheQuadraticTest) {
  const auto image = axialImage();
  for (std::uint32_t seed = 1; seed <= 20; ++seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<double> u(0.0, 1.0);
    struct Disc {
      double x, y, r;
    };
    std::vector<Disc> discs;
    std::vector<Polygon> polygons;
    for (int tries = 0; tries < 4000 && discs.size() < 300; ++tries) {
      const Disc d{20.0 + 470.0 * u(rng), 20.0 + 470.0 * u(rng), 0.5 + 60.0 * u(rng) * u(rng)};
      const bool apart = std::all_of(discs.begin(), discs.end(), [&](const Disc& o) {
        const double dist = std::hypot(d.x - o.x, d.y - o.y);
        // apart, or nested inside the other's polygon (6 corners and more: 0.85 of the radius)
        return dist > d.r + o.r + 0.5 || dist + d.r + 0.5 < 0.85 * o.r || dist + o.r + 0.5 < 0.85 * d.r;
      });
      if (!apart) continue;
      discs.push_back(d);
      polygons.push_back(circle(d.x, d.y, d.r, 6 + static_cast<int>(rng() % 40), rng() % 2 == 0, u(rng)));
    }
    const auto on = roisOnImage(setOf(polygons, image), image);
    ASSERT_EQ(on.size(), 1U);
    ASSERT_EQ(on[0].rings.size(), polygons.size());
    const auto want = quadraticHoles(on[0].rings);
    EXPECT_EQ(holesOf(on[0].rings), want) << "seed " << seed;
    EXPECT_GT(std::count(want.begin(), want.end(), true), 0) << "seed " << seed << ": no nesting to test";
  }
}

// Rings from a hostile file: crossing, degenerate (repeated points, a first edge of length 0) and
// non-finite points. Whatever the holes, the answer comes, for every ring, without a crash.
TEST(Holes, CrossingDegenerateAndNonFiniteRingsAreAnswered) {
  const auto image = axialImage();
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> u(0.0, 500.0);
  std::vector<Polygon> polygons;
  for (int i = 0; i < 300; ++i) {
    Polygon p;
    for (int k = 0; k < 3 + static_cast<int>(rng() % 30); ++k) p.push_back({u(rng), u(rng)});
    polygons.push_back(std::move(p));
  }
  polygons.push_back({{10.0, 10.0}, {10.0, 10.0}, {20.0, 30.0}});  // first edge of length 0
  polygons.push_back({{5.0, 5.0}, {5.0, 5.0}, {5.0, 5.0}});
  polygons.push_back({{1.0, 1.0}, {NAN, 2.0}, {3.0, INFINITY}, {4.0, 1.0}});
  polygons.push_back(square(0.0, 0.0, 500.0, true));
  const auto on = roisOnImage(setOf(polygons, image), image);
  ASSERT_EQ(on.size(), 1U);
  ASSERT_EQ(on[0].rings.size(), polygons.size());
  EXPECT_FALSE(on[0].rings[polygons.size() - 2].hole);  // its test point is not finite: no hole
  EXPECT_FALSE(on[0].rings[polygons.size() - 3].hole);
  EXPECT_FALSE(on[0].rings[polygons.size() - 4].hole);
  EXPECT_FALSE(on[0].rings.back().hole);  // nothing contains the big square
}
