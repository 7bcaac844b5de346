#include <gtest/gtest.h>

#include "../iod/TestSupport.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/workflow/MaskEditor.hpp"
#include "iodeep/workflow/Review.hpp"

using namespace iodeep;

TEST(ReviewState, VerdictsOverTheProposalsOfSeveralSlices) {
  std::vector<client::PredictResult> predictions(3);
  predictions[0].proposals.resize(2);
  predictions[2].proposals.resize(1);  // the middle slice has none
  client::ReviewState state;
  state.reset(predictions);
  ASSERT_EQ(state.size(), 3U);
  EXPECT_EQ(state.at(2).prediction, 2U);  // flat index 2 is the third slice's first proposal
  EXPECT_EQ(state.at(2).proposal, 0U);
  EXPECT_EQ(state.count(client::Verdict::Pending), 3U);
  state.set(0, client::Verdict::Approved);
  state.set(1, client::Verdict::Rejected);
  EXPECT_EQ(state.decision("Doe^Jane").approved, std::vector<std::size_t>{0});
  EXPECT_EQ(state.decision("Doe^Jane").reviewer, "Doe^Jane");
  state.approveAll();
  EXPECT_EQ(state.decision("").approved, (std::vector<std::size_t>{0, 1, 2}));
  EXPECT_THROW(state.set(3, client::Verdict::Approved), Error);
  EXPECT_THROW((void)state.verdict(3), Error);
  state.reset({});
  EXPECT_EQ(state.size(), 0U);
  EXPECT_TRUE(state.decision("x").approved.empty());
}

// ---- the brush, the eraser, undo and redo (the viewer's editing, without a screen) ------------------

namespace {

client::Mask emptyMask(std::size_t rows, std::size_t columns) {
  return client::Mask{rows, columns, std::vector<std::uint8_t>(rows * columns, 0)};
}

std::size_t at(const client::Mask& m, std::size_t row, std::size_t column) {
  return m.values[row * m.columns + column];
}

}  // namespace

TEST(MaskEditor, BrushAndEraserSetExactlyThePixelsUnderTheDisc) {
  client::MaskEditor e;
  e.begin(emptyMask(20, 30));
  e.beginStroke(10, 8, 2.0, true);  // centre column 10, row 8: dx^2 + dy^2 <= 4 -> 13 pixels
  e.endStroke();
  EXPECT_EQ(e.mask().area(), 13U);
  EXPECT_EQ(at(e.mask(), 8, 12), 1U);
  EXPECT_EQ(at(e.mask(), 10, 10), 1U);  // row 10 = centre row + 2
  EXPECT_EQ(at(e.mask(), 9, 12), 0U);   // 1 + 4 > 4
  // a fast drag leaves no gap: every pixel on the row between the two points is painted
  e.beginStroke(2, 15, 0.5, true);
  e.continueStroke(27, 15);
  e.endStroke();
  for (std::size_t c = 2; c <= 27; ++c) EXPECT_EQ(at(e.mask(), 15, c), 1U) << c;
  EXPECT_EQ(e.mask().area(), 13U + 26U);
  // the eraser, clipped at the edge
  e.beginStroke(10, 8, 1.0, false);
  e.endStroke();
  EXPECT_EQ(e.mask().area(), 13U + 26U - 5U);
  e.beginStroke(0, 0, 3.0, true);  // partly off the mask: only the pixels on it
  e.endStroke();
  EXPECT_EQ(at(e.mask(), 0, 0), 1U);
  EXPECT_TRUE(e.changed());
}

TEST(MaskEditor, UndoAndRedoRestoreEveryStrokePixelForPixel) {
  client::MaskEditor e;
  auto start = emptyMask(16, 16);
  start.values[5 * 16 + 5] = 1;
  e.begin(start);
  std::vector<client::Mask> states{e.mask()};
  for (int i = 0; i < 4; ++i) {
    e.beginStroke(3.0 + 2 * i, 4.0 + i, 1.5, i != 2);
    e.continueStroke(4.0 + 2 * i, 9.0);
    e.endStroke();
    states.push_back(e.mask());
  }
  e.beginStroke(15, 15, 1, false);  // erases nothing: no undo step
  e.endStroke();
  for (int i = 3; i >= 0; --i) {
    ASSERT_TRUE(e.undo());
    EXPECT_EQ(e.mask(), states[static_cast<std::size_t>(i)]) << i;
  }
  EXPECT_FALSE(e.undo());
  EXPECT_FALSE(e.changed());
  for (std::size_t i = 1; i <= 4; ++i) {
    ASSERT_TRUE(e.redo());
    EXPECT_EQ(e.mask(), states[i]) << i;
  }
  EXPECT_FALSE(e.redo());
  ASSERT_TRUE(e.undo());
  e.beginStroke(1, 1, 1, true);  // a new stroke after an undo: redo is gone
  e.endStroke();
  EXPECT_FALSE(e.canRedo());
}

TEST(ReviewState, CorrectionsAndDrawnRoisReachTheDecision) {
  std::vector<client::PredictResult> predictions(1);
  predictions[0].proposals.resize(2);
  client::ReviewState s;
  s.reset(predictions);
  const std::vector<iod::Ring> rings{{{{0.5, 0.5}, {3.5, 0.5}, {3.5, 3.5}, {0.5, 3.5}}, false}};
  s.setCorrection(1, rings);
  EXPECT_EQ(s.verdict(1), client::Verdict::Approved);
  ASSERT_NE(s.correction(1), nullptr);
  EXPECT_EQ(s.correction(0), nullptr);
  s.addDrawn({0, {0, "Brain"}, rings});
  auto d = s.decision("Doe^Jane");
  EXPECT_EQ(d.approved, std::vector<std::size_t>{1});
  ASSERT_EQ(d.corrections.size(), 1U);
  EXPECT_EQ(d.corrections[0].proposal, 1U);
  ASSERT_EQ(d.drawn.size(), 1U);
  EXPECT_EQ(d.drawn[0].label.name, "Brain");
  s.set(1, client::Verdict::Rejected);  // rejecting voids the correction
  EXPECT_EQ(s.correction(1), nullptr);
  EXPECT_TRUE(s.anythingToStore());  // the drawn ROI
  s.removeDrawn(0);
  EXPECT_FALSE(s.anythingToStore());
  EXPECT_EQ(test::codeOf([&] { s.setCorrection(0, {}); }), ErrorCode::InvalidArgument);
}
