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
    // the file is the error's context, rendered once
    EXPECT_EQ(e.file(), p.string()) << e.what();
    const std::string what = e.what();
    EXPECT_EQ(what.find(p.string(), p.string().size()), std::string::npos) << what;
    return e.code();
  }
  ADD_FAILURE() << "imported " << p;
  return ErrorCode::Internal;
}

// Every element of tensor @p t, as doubles (float32 and int64 values convert exactly).
std::vector<double> valuesOf(const iod::Safetensors& st, const iod::TensorInfo& t) {
  const auto d = st.data(t);
  std::vector<double> values;
  if (t.dtype == iod::DType::F32) {
    for (std::size_t i = 0; i + 4 <= d.size(); i += 4) {
      float v;
      std::memcpy(&v, d.data() + i, 4);
      values.push_back(v);
    }
  } else if (t.dtype == iod::DType::I64) {
    for (std::size_t i = 0; i + 8 <= d.size(); i += 8) {
      std::int64_t v;
      std::memcpy(&v, d.data() + i, 8);
      values.push_back(static_cast<double>(v));
    }
  } else {
    ADD_FAILURE() << t.name << ": unexpected dtype";
  }
  return values;
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
    // every element, exactly, in PyTorch's row-major order
    const auto want = expected[t.name]["values"].get<std::vector<double>>();
    const auto got = valuesOf(st, t);
    ASSERT_EQ(got.size(), want.size()) << t.name;
    ASSERT_FALSE(want.empty()) << t.name;
    for (std::size_t i = 0; i < want.size(); ++i) EXPECT_EQ(got[i], want[i]) << t.name << "[" << i << "]";
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
