// The published DNN-parser example (4-level U-Net, 31 M parameters, 224x224x3): builds with
// weights from initWeights and runs a forward pass. Labelled slow.
#include <gtest/gtest.h>

#include <cmath>

#include "iodeep/iod/ByteBuffer.hpp"
#include "iodeep/netparser/Network.hpp"

using namespace iodeep;
using namespace iodeep::netparser;

TEST(PaperUNet, BuildsAndRunsAForwardPass) {
  const auto arch =
      parseArchitecture(iod::readTextFile(IODEEP_SOURCE_DIR "/examples/dnn-parser-unet/architecture.json"));
  const auto weights = initWeights(arch, 7);
  const auto net = Network::build(arch, weights);
  FloatTensor in{{3, 224, 224}, std::vector<float>(3 * 224 * 224)};
  for (std::size_t i = 0; i < in.values.size(); ++i) in.values[i] = static_cast<float>(i % 251) / 251.0F;
  const auto out = net->forward(in);
  EXPECT_EQ(out.shape, (std::vector<std::int64_t>{1, 1, 224, 224}));
  EXPECT_TRUE(std::all_of(out.values.begin(), out.values.end(), [](float v) { return std::isfinite(v); }));
  const auto [lo, hi] = std::minmax_element(out.values.begin(), out.values.end());
  EXPECT_LT(*lo, *hi);  // not a constant map
}
