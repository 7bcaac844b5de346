// Do the weights fit the architecture? And random weights that do. Torch-free.
#include <cmath>
#include <cstring>
#include <map>
#include <random>

#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/Safetensors.hpp"
#include "iodeep/netparser/Architecture.hpp"
#include "iodeep/netparser/Network.hpp"

namespace iodeep::netparser {

namespace {

std::string list(const std::vector<std::string>& names, std::size_t max = 12) {
  std::string out;
  for (std::size_t i = 0; i < names.size() && i < max; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > max) out += ", ... (" + std::to_string(names.size()) + " in all)";
  return out;
}

}  // namespace

void checkWeights(const Architecture& arch, const iod::ByteBuffer& weights) {
  if (arch.kind != Architecture::Kind::Graph) return;
  const auto st = iod::Safetensors::parse(weights, "weights");
  std::map<std::string, const iod::TensorInfo*> given;
  for (const auto& t : st.tensors()) given.emplace(t.name, &t);
  std::vector<std::string> missing;
  std::vector<std::string> wrong;
  for (const auto& spec : expectedTensors(arch)) {
    const auto it = given.find(spec.name);
    if (it == given.end()) {
      if (!spec.optional) missing.push_back(spec.name);
      continue;
    }
    const auto& t = *it->second;
    const bool dtypeOk = spec.isInt64 ? t.dtype == iod::DType::I64 : t.dtype == iod::DType::F32;
    // A scalar counter may come as shape [] or [1].
    const bool shapeOk = t.shape == spec.shape || (spec.shape.empty() && t.shape == std::vector<std::int64_t>{1});
    if (!dtypeOk || !shapeOk) {
      wrong.push_back(spec.name + " is " + std::string(iod::toString(t.dtype)) + " " + formatShape(t.shape) +
                      ", expected " + (spec.isInt64 ? "I64 " : "F32 ") + formatShape(spec.shape));
    }
    given.erase(it);
  }
  std::vector<std::string> unexpected;
  unexpected.reserve(given.size());
  for (const auto& [name, t] : given) unexpected.push_back(name);
  if (missing.empty() && wrong.empty() && unexpected.empty()) return;
  std::string msg = "weights do not fit the architecture:";
  if (!missing.empty()) msg += " missing " + list(missing) + ";";
  if (!unexpected.empty()) msg += " unexpected " + list(unexpected) + ";";
  if (!wrong.empty()) msg += " " + list(wrong, 6) + ";";
  msg.pop_back();
  const std::string first = !missing.empty() ? missing.front() : !wrong.empty() ? wrong.front() : unexpected.front();
  throw Error(ErrorCode::WeightsMismatch, msg, first.substr(0, first.find(' ')), "");
}

iod::ByteBuffer initWeights(const Architecture& arch, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::vector<std::byte>> storage;
  iod::SafetensorsWriter writer;
  const auto specs = expectedTensors(arch);
  storage.reserve(specs.size());
  for (const auto& spec : specs) {
    std::int64_t n = 1;
    for (auto d : spec.shape) n *= d;
    if (spec.isInt64) {
      storage.emplace_back(static_cast<std::size_t>(n) * 8, std::byte{0});
      writer.add(spec.name, iod::DType::I64, spec.shape, storage.back());
      continue;
    }
    std::vector<float> values(static_cast<std::size_t>(n));
    const std::string suffix = spec.name.substr(spec.name.rfind('.') + 1);
    const bool isNorm = [&] {
      for (const auto& l : arch.layers) {
        if (l.id == spec.layer) {
          return l.type == LayerType::BatchNorm2d || l.type == LayerType::InstanceNorm2d ||
                 l.type == LayerType::GroupNorm;
        }
      }
      return false;
    }();
    if (suffix == "running_var" || (isNorm && suffix == "weight")) {
      std::fill(values.begin(), values.end(), 1.0F);
    } else if (suffix == "weight" && spec.shape.size() >= 2) {
      std::int64_t fanIn = 1;
      for (std::size_t i = 1; i < spec.shape.size(); ++i) fanIn *= spec.shape[i];
      std::normal_distribution<float> d(0.0F, static_cast<float>(std::sqrt(2.0 / static_cast<double>(fanIn))));
      for (auto& v : values) v = d(rng);
    } else if (suffix == "weight") {  // prelu
      std::fill(values.begin(), values.end(), 0.25F);
    }  // biases and running_mean stay 0
    std::vector<std::byte> bytes(values.size() * 4);
    if (!values.empty()) std::memcpy(bytes.data(), values.data(), bytes.size());
    storage.push_back(std::move(bytes));
    writer.add(spec.name, iod::DType::F32, spec.shape, storage.back());
  }
  writer.setMetadata("iodeep_init", "he-normal seed " + std::to_string(seed));
  return writer.finish();
}

}  // namespace iodeep::netparser
