// The inference module's weights import: torch.save and TorchScript archives -> safetensors.
// Built into libiodeep-torch.so; the only translation unit that touches libtorch's serialisation.
#include "../TorchModule.hpp"

#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/serialization/import.h>
#include <torch/csrc/jit/serialization/pickle.h>

#include <algorithm>
#include <sstream>
#include <vector>

#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/Safetensors.hpp"

namespace iodeep::netparser {

namespace {

using torchmodule::contains;
using torchmodule::startsWith;

iod::DType dtypeOf(const at::Tensor& t, const std::string& name, const ErrorContext& where) {
  switch (t.scalar_type()) {
    case at::kDouble: return iod::DType::F64;
    case at::kFloat: return iod::DType::F32;
    case at::kHalf: return iod::DType::F16;
    case at::kBFloat16: return iod::DType::BF16;
    case at::kLong: return iod::DType::I64;
    case at::kInt: return iod::DType::I32;
    case at::kShort: return iod::DType::I16;
    case at::kChar: return iod::DType::I8;
    case at::kByte: return iod::DType::U8;
    case at::kBool: return iod::DType::Bool;
    default:
      throw Error(ErrorCode::UnsupportedDtype,
                  "tensor '" + name + "' has unsupported dtype " + std::string(c10::toString(t.scalar_type())), where);
  }
}

iod::ByteBuffer toSafetensors(const std::vector<std::pair<std::string, at::Tensor>>& tensors, const ErrorContext& where,
                              std::string_view origin) {
  std::vector<at::Tensor> keep;  // contiguous CPU copies stay alive until finish()
  keep.reserve(tensors.size());
  iod::SafetensorsWriter writer;
  for (const auto& [name, tensor] : tensors) {
    if (tensor.is_sparse() || tensor.is_quantized()) {
      throw Error(ErrorCode::UnsupportedWeights, "tensor '" + name + "' is sparse or quantized", where);
    }
    const iod::DType dtype = dtypeOf(tensor, name, where);
    keep.push_back(tensor.detach().to(at::kCPU).contiguous());
    const at::Tensor& t = keep.back();
    std::vector<std::int64_t> shape(t.sizes().begin(), t.sizes().end());
    const auto bytes = static_cast<std::size_t>(t.numel()) * static_cast<std::size_t>(t.element_size());
    writer.add(name, dtype, std::move(shape),
               std::span<const std::byte>(static_cast<const std::byte*>(t.data_ptr()), bytes));
  }
  if (tensors.empty()) throw Error(ErrorCode::UnsupportedWeights, "holds no tensors", where);
  writer.setMetadata("format", "pt");
  writer.setMetadata("iodeep_source", std::string(origin));
  return writer.finish();
}

[[noreturn]] void orderedDictError(const ErrorContext& where) {
  throw Error(ErrorCode::UnsupportedWeights,
              "a state dict saved as collections.OrderedDict (the type of model.state_dict()), which libtorch "
              "cannot read; re-save it as a plain dict: torch.save(dict(model.state_dict()), path), or as safetensors",
              where);
}

std::uint32_t le(std::span<const std::byte> b, std::size_t at, std::size_t n) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < n; ++i) v |= std::to_integer<std::uint32_t>(b[at + i]) << (8U * i);
  return v;
}

// True when the top-level object of the archive's data.pkl is a collections.OrderedDict: after
// the PROTO opcode, an OrderedDict starts with GLOBAL "collections\nOrderedDict" where a dict
// starts with EMPTY_DICT. (Tensors inside a plain dict also mention OrderedDict, for their
// backward hooks, so the whole file cannot be searched.) torch.save stores entries uncompressed.
bool topLevelIsOrderedDict(std::span<const std::byte> zip) {
  constexpr std::string_view kLocalHeader = "PK\x03\x04";
  const std::string_view text(reinterpret_cast<const char*>(zip.data()), zip.size());
  for (std::size_t at = text.find(kLocalHeader); at != std::string_view::npos && at + 30 <= zip.size();
       at = text.find(kLocalHeader, at + 4)) {
    const std::size_t nameLength = le(zip, at + 26, 2);
    const std::size_t extraLength = le(zip, at + 28, 2);
    if (at + 30 + nameLength > zip.size()) break;
    const std::string_view name = text.substr(at + 30, nameLength);
    if (!name.ends_with("data.pkl")) continue;
    const std::size_t data = at + 30 + nameLength + extraLength;
    if (data + 2 > zip.size()) return false;
    std::size_t p = data;
    if (zip[p] == std::byte{0x80}) p += 2;  // PROTO n
    return text.substr(p).starts_with("ccollections\nOrderedDict\n");
  }
  return false;
}

ImportedWeights fromStateDict(const std::vector<char>& data, const ErrorContext& where) {
  if (topLevelIsOrderedDict(std::as_bytes(std::span<const char>(data.data(), data.size())))) orderedDictError(where);
  c10::IValue value;
  try {
    value = torch::jit::pickle_load(data);
  } catch (const c10::Error& e) {
    std::string what = e.what_without_backtrace();
    throw Error(ErrorCode::UnsupportedWeights,
                "libtorch cannot read this torch.save file (" + what.substr(0, what.find('\n')) +
                    "); save a plain dict with torch.save(dict(model.state_dict()), path), or write safetensors",
                where);
  }
  if (value.isNone()) orderedDictError(where);
  if (!value.isGenericDict()) {
    throw Error(ErrorCode::UnsupportedWeights, "holds a " + value.tagKind() + ", not a dict of tensors (a state dict)",
                where);
  }
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  std::vector<std::string> notTensors;
  for (const auto& item : value.toGenericDict()) {
    if (!item.key().isString()) {
      throw Error(ErrorCode::UnsupportedWeights, "a state-dict key is not a string", where);
    }
    const std::string name = item.key().toStringRef();
    if (item.value().isTensor()) {
      tensors.emplace_back(name, item.value().toTensor());
    } else {
      notTensors.push_back(name);
    }
  }
  if (!notTensors.empty()) {
    std::string list;
    for (std::size_t i = 0; i < notTensors.size() && i < 8; ++i) list += (i ? ", " : "") + notTensors[i];
    throw Error(
        ErrorCode::UnsupportedWeights,
        "not a state dict: entries that are not tensors (" + list +
            "); a training checkpoint must be reduced to its state dict: torch.save(dict(ckpt['state_dict']), path)",
        where);
  }
  std::sort(tensors.begin(), tensors.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return {toSafetensors(tensors, where, "torch.save state dict"), WeightsSource::TorchStateDict};
}

ImportedWeights fromTorchScript(const std::vector<char>& data, const ErrorContext& where) {
  torch::jit::Module module;
  try {
    std::istringstream in(std::string(data.data(), data.size()));
    module = torch::jit::load(in, c10::Device(c10::kCPU));
  } catch (const c10::Error& e) {
    std::string what = e.what_without_backtrace();
    throw Error(ErrorCode::UnsupportedWeights, "TorchScript archive does not load: " + what.substr(0, what.find('\n')),
                where);
  }
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (const auto& p : module.named_parameters(/*recurse=*/true)) tensors.emplace_back(p.name, p.value);
  for (const auto& b : module.named_buffers(/*recurse=*/true)) tensors.emplace_back(b.name, b.value);
  return {toSafetensors(tensors, where, "TorchScript parameters and buffers"), WeightsSource::TorchScript};
}

}  // namespace

namespace torchimpl {

ImportedWeights importArchive(std::span<const std::byte> bytes, const ErrorContext& where) {
  std::vector<char> data(reinterpret_cast<const char*>(bytes.data()),
                         reinterpret_cast<const char*>(bytes.data()) + bytes.size());
  try {
    // torch.jit.save archives carry code/ and constants.pkl; torch.save archives only data.pkl.
    if (contains(bytes, "constants.pkl")) return fromTorchScript(data, where);
    return fromStateDict(data, where);
  } catch (const c10::Error& e) {
    throw Error(ErrorCode::TorchError, e.what_without_backtrace(), where);
  }
}

void loadTorchScript(std::span<const std::byte> bytes, const ErrorContext& where) {
  try {
    std::istringstream in(std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
    (void)torch::jit::load(in, c10::Device(c10::kCPU));
  } catch (const c10::Error& e) {
    std::string what = e.what_without_backtrace();
    throw Error(ErrorCode::UnsupportedWeights, "TorchScript archive does not load: " + what.substr(0, what.find('\n')),
                where);
  }
}

}  // namespace torchimpl

}  // namespace iodeep::netparser
