#include <gtest/gtest.h>

#include "iodeep/iod/Error.hpp"
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
