#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "../iod/TestSupport.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/Safetensors.hpp"
#include "iodeep/netparser/WeightsImport.hpp"

using namespace iodeep;
using namespace iodeep::netparser;

namespace {

ErrorCode importError(const std::filesystem::path& p, std::string* message = nullptr) {
  try {
    (void)importWeights(p);
  } catch (const Error& e) {
    if (message != nullptr) *message = e.what();
    return e.code();
  }
  ADD_FAILURE() << "imported " << p;
  return ErrorCode::Internal;
}

double sumOf(const iod::Safetensors& st, const iod::TensorInfo& t) {
  const auto d = st.data(t);
  double s = 0;
  if (t.dtype == iod::DType::F32) {
    for (std::size_t i = 0; i < d.size(); i += 4) {
      float v;
      std::memcpy(&v, d.data() + i, 4);
      s += v;
    }
  } else if (t.dtype == iod::DType::I64) {
    for (std::size_t i = 0; i < d.size(); i += 8) {
      std::int64_t v;
      std::memcpy(&v, d.data() + i, 8);
      s += static_cast<double>(v);
    }
  }
  return s;
}

}  // namespace

TEST(WeightsImport, PlainStateDictMatchesPyTorchExactly) {
  const auto w = importWeights(test::fixture("plain.pt"));
  EXPECT_EQ(w.source, WeightsSource::TorchStateDict);
  const auto st = iod::Safetensors::parse(w.safetensors);
  std::ifstream in(test::fixture("plain.expected.json"));
  const auto expected = nlohmann::json::parse(in);
  ASSERT_EQ(st.tensors().size(), expected.size());
  for (const auto& t : st.tensors()) {
    ASSERT_TRUE(expected.contains(t.name)) << t.name;
    EXPECT_EQ(nlohmann::json(t.shape), expected[t.name]["shape"]) << t.name;
    EXPECT_NEAR(sumOf(st, t), expected[t.name]["sum"].get<double>(), 1e-4) << t.name;
  }
  EXPECT_EQ(st.tensors().front().name, "bn.bias");  // name order
}

TEST(WeightsImport, TorchScriptParametersAndBuffersAreTaken) {
  const auto w = importWeights(test::fixture("torchscript.pt"));
  EXPECT_EQ(w.source, WeightsSource::TorchScript);
  const auto st = iod::Safetensors::parse(w.safetensors);
  std::vector<std::string> names;
  for (const auto& t : st.tensors()) names.push_back(t.name);
  EXPECT_EQ(names, (std::vector<std::string>{"bn.bias", "bn.num_batches_tracked", "bn.running_mean", "bn.running_var",
                                             "bn.weight", "conv.bias", "conv.weight", "head.bias", "head.weight"}));
}

TEST(WeightsImport, SafetensorsFilesAreMappedNotCopied) {
  test::TempDir dir;
  const auto buf = test::smallWeights();
  test::writeBytes(dir / "w.safetensors", std::vector<std::byte>(buf.bytes().begin(), buf.bytes().end()));
  const auto w = importWeights(dir / "w.safetensors");
  EXPECT_EQ(w.source, WeightsSource::Safetensors);
  EXPECT_TRUE(w.safetensors.backingFile().has_value());
}

TEST(WeightsImport, UnreadableFormsGiveAnErrorThatSaysWhatToDo) {
  std::string msg;
  EXPECT_EQ(importError(test::fixture("ordered.pt"), &msg), ErrorCode::UnsupportedWeights);
  EXPECT_NE(msg.find("OrderedDict"), std::string::npos) << msg;
  EXPECT_NE(msg.find("torch.save(dict(model.state_dict())"), std::string::npos) << msg;
  EXPECT_EQ(importError(test::fixture("oldformat.pt"), &msg), ErrorCode::UnsupportedWeights);
  EXPECT_NE(msg.find("pre-zip"), std::string::npos) << msg;
  EXPECT_EQ(importError(test::fixture("checkpoint.pt"), &msg), ErrorCode::UnsupportedWeights);
  EXPECT_NE(msg.find("epoch"), std::string::npos) << msg;
  EXPECT_EQ(importError(test::fixture("plain.expected.json"), &msg), ErrorCode::UnsupportedWeights);
  EXPECT_EQ(importError(test::fixture("nonexistent.pt"), &msg), ErrorCode::FileNotFound);
}

TEST(WeightsImport, CorruptTorchArchivesAreErrorsNotCrashes) {
  test::TempDir dir;
  for (const char* name : {"plain.pt", "torchscript.pt"}) {
    auto bytes = test::readBytes(test::fixture(name));
    bytes.resize(bytes.size() / 2);
    test::writeBytes(dir / "cut.pt", bytes);
    std::string msg;
    const auto code = importError(dir / "cut.pt", &msg);
    EXPECT_TRUE(code == ErrorCode::UnsupportedWeights || code == ErrorCode::TorchError) << msg;
  }
}
