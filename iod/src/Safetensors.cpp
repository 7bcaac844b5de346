#include "iodeep/iod/Safetensors.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/JsonParse.hpp"

namespace iodeep::iod {

namespace {

// A header larger than this is refused before parsing (the format's own readers use 100 MB).
constexpr std::uint64_t kMaxHeaderSize = 100ULL * 1024 * 1024;

struct DTypeName {
  DType dtype;
  std::string_view name;
  std::size_t size;
};
constexpr DTypeName kDTypes[] = {
    {DType::F64, "F64", 8}, {DType::F32, "F32", 4},   {DType::F16, "F16", 2}, {DType::BF16, "BF16", 2},
    {DType::I64, "I64", 8}, {DType::I32, "I32", 4},   {DType::I16, "I16", 2}, {DType::I8, "I8", 1},
    {DType::U8, "U8", 1},   {DType::Bool, "BOOL", 1},
};

[[noreturn]] void fail(std::string_view source, const std::string& what) {
  throw Error(ErrorCode::InvalidSafetensors, "not valid safetensors: " + what,
              ErrorContext{.part = std::string(source)});
}

std::uint64_t readLe64(std::span<const std::byte> b) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8; ++i) v |= std::to_integer<std::uint64_t>(b[i]) << (8U * i);
  return v;
}

// Multiplies shape dimensions, refusing negative dimensions and overflow.
std::optional<std::uint64_t> checkedProduct(const std::vector<std::int64_t>& shape) {
  std::uint64_t n = 1;
  for (std::int64_t d : shape) {
    if (d < 0) return std::nullopt;
    const auto u = static_cast<std::uint64_t>(d);
    if (u != 0 && n > std::numeric_limits<std::uint64_t>::max() / u) return std::nullopt;
    n *= u;
  }
  return n;
}

bool halfIsFinite(std::uint16_t h) {
  return (h & 0x7C00U) != 0x7C00U;
}
bool bf16IsFinite(std::uint16_t h) {
  return (h & 0x7F80U) != 0x7F80U;
}

}  // namespace

std::string_view toString(DType dtype) noexcept {
  for (const auto& d : kDTypes) {
    if (d.dtype == dtype) return d.name;
  }
  return "?";
}

std::size_t elementSize(DType dtype) noexcept {
  for (const auto& d : kDTypes) {
    if (d.dtype == dtype) return d.size;
  }
  return 0;
}

bool isFloating(DType dtype) noexcept {
  return dtype == DType::F64 || dtype == DType::F32 || dtype == DType::F16 || dtype == DType::BF16;
}

std::int64_t TensorInfo::elementCount() const noexcept {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

Safetensors Safetensors::parse(ByteBuffer buffer, std::string_view source) {
  const auto bytes = buffer.bytes();
  if (bytes.size() < 8) fail(source, "shorter than the 8-byte header length");
  const std::uint64_t headerSize = readLe64(bytes.first(8));
  if (headerSize < 2) fail(source, "header length " + std::to_string(headerSize) + " is too small");
  if (headerSize > kMaxHeaderSize) {
    fail(source, "header length " + std::to_string(headerSize) + " exceeds the 100 MB limit");
  }
  if (headerSize > bytes.size() - 8) {
    fail(source, "header length " + std::to_string(headerSize) + " runs past the end of the " +
                     std::to_string(bytes.size()) + "-byte buffer");
  }
  const auto* headerBegin = reinterpret_cast<const char*>(bytes.data() + 8);
  const std::string_view headerText(headerBegin, static_cast<std::size_t>(headerSize));
  if (headerText.front() != '{') fail(source, "header does not start with '{'");

  nlohmann::json header;
  try {
    header = parseJson(headerText, source);  // within the JSON limits (docs/security.md)
  } catch (const Error& e) {
    if (e.code() == ErrorCode::ResourceLimit) throw;
    fail(source, "header is not JSON: " + e.detail());
  }
  if (!header.is_object()) fail(source, "header is not a JSON object");

  Safetensors st;
  st.buffer_ = std::move(buffer);
  st.dataStart_ = 8 + static_cast<std::size_t>(headerSize);
  const std::size_t available = bytes.size() - st.dataStart_;

  for (const auto& [name, value] : header.items()) {
    if (name == "__metadata__") {
      if (!value.is_object()) fail(source, "__metadata__ is not an object");
      for (const auto& [k, v] : value.items()) {
        if (!v.is_string()) fail(source, "__metadata__/" + k + " is not a string");
        st.metadata_[k] = v.get<std::string>();
      }
      continue;
    }
    if (name.empty()) fail(source, "a tensor has an empty name");
    if (!value.is_object()) fail(source, "tensor '" + name + "' is not an object");
    const auto dt = value.find("dtype");
    const auto sh = value.find("shape");
    const auto off = value.find("data_offsets");
    if (dt == value.end() || !dt->is_string()) fail(source, "tensor '" + name + "' has no string dtype");
    if (sh == value.end() || !sh->is_array()) fail(source, "tensor '" + name + "' has no shape array");
    if (off == value.end() || !off->is_array() || off->size() != 2) {
      fail(source, "tensor '" + name + "' has no [begin, end] data_offsets");
    }
    TensorInfo t;
    t.name = name;
    const auto dtypeName = dt->get<std::string>();
    const auto* match =
        std::find_if(std::begin(kDTypes), std::end(kDTypes), [&](const DTypeName& d) { return d.name == dtypeName; });
    if (match == std::end(kDTypes)) {
      throw Error(ErrorCode::UnsupportedDtype,
                  "tensor '" + name + "' has unsupported dtype '" + dtypeName +
                      "' (supported: F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL)",
                  ErrorContext{.part = std::string(source)});
    }
    t.dtype = match->dtype;
    for (const auto& d : *sh) {
      if (!d.is_number_unsigned())
        fail(source, "tensor '" + name + "' has a shape entry that is not a non-negative integer");
      const auto u = d.get<std::uint64_t>();
      if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        fail(source, "tensor '" + name + "' has an impossible dimension");
      }
      t.shape.push_back(static_cast<std::int64_t>(u));
    }
    for (const auto& o : *off) {
      if (!o.is_number_unsigned())
        fail(source, "tensor '" + name + "' has data_offsets that are not non-negative integers");
    }
    const auto begin = (*off)[0].get<std::uint64_t>();
    const auto end = (*off)[1].get<std::uint64_t>();
    if (begin > end || end > available) {
      fail(source, "tensor '" + name + "' data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                       "] fall outside the " + std::to_string(available) + "-byte data section");
    }
    const auto count = checkedProduct(t.shape);
    if (!count || *count > std::numeric_limits<std::uint64_t>::max() / match->size ||
        *count * match->size != end - begin) {
      fail(source, "tensor '" + name + "' occupies " + std::to_string(end - begin) +
                       " bytes, which does not match dtype " + dtypeName + " and its shape");
    }
    t.begin = static_cast<std::size_t>(begin);
    t.end = static_cast<std::size_t>(end);
    st.tensors_.push_back(std::move(t));
  }

  // The data section must be covered exactly, without holes or overlaps.
  std::vector<const TensorInfo*> order;
  order.reserve(st.tensors_.size());
  for (const auto& t : st.tensors_) order.push_back(&t);
  std::sort(order.begin(), order.end(), [](const TensorInfo* a, const TensorInfo* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  std::size_t cursor = 0;
  for (const TensorInfo* t : order) {
    if (t->begin != cursor) {
      fail(source, "tensor '" + t->name + "' starts at " + std::to_string(t->begin) + " but the previous one ends at " +
                       std::to_string(cursor) + " (holes and overlaps are not allowed)");
    }
    cursor = t->end;
  }
  st.dataSize_ = cursor;
  // Anything after the data section may only be zero padding (at most 7 bytes).
  const auto tail = bytes.subspan(st.dataStart_ + cursor);
  if (tail.size() > 7 || std::any_of(tail.begin(), tail.end(), [](std::byte b) { return b != std::byte{0}; })) {
    fail(source, std::to_string(tail.size()) + " unindexed bytes follow the last tensor");
  }
  std::sort(st.tensors_.begin(), st.tensors_.end(),
            [](const TensorInfo& a, const TensorInfo& b) { return a.name < b.name; });
  return st;
}

std::span<const std::byte> Safetensors::data(const TensorInfo& tensor) const noexcept {
  return buffer_.bytes().subspan(dataStart_ + tensor.begin, tensor.byteSize());
}

std::span<const std::byte> Safetensors::logicalBytes() const noexcept {
  return buffer_.bytes().first(dataStart_ + dataSize_);
}

std::int64_t Safetensors::parameterCount() const noexcept {
  std::int64_t n = 0;
  for (const auto& t : tensors_) n += t.elementCount();
  return n;
}

void Safetensors::checkFinite(std::string_view source) const {
  for (const auto& t : tensors_) {
    if (!isFloating(t.dtype)) continue;
    const auto d = data(t);
    const std::size_t n = d.size() / elementSize(t.dtype);
    bool finite = true;
    std::size_t index = 0;
    switch (t.dtype) {
      case DType::F32:
        for (; index < n && finite; ++index) {
          float v;
          std::memcpy(&v, d.data() + index * 4, 4);
          finite = std::isfinite(v);
        }
        break;
      case DType::F64:
        for (; index < n && finite; ++index) {
          double v;
          std::memcpy(&v, d.data() + index * 8, 8);
          finite = std::isfinite(v);
        }
        break;
      case DType::F16:
      case DType::BF16:
        for (; index < n && finite; ++index) {
          std::uint16_t v;
          std::memcpy(&v, d.data() + index * 2, 2);
          finite = t.dtype == DType::F16 ? halfIsFinite(v) : bf16IsFinite(v);
        }
        break;
      default: break;
    }
    if (!finite) {
      throw Error(ErrorCode::NonFiniteWeights,
                  "tensor '" + t.name + "' holds NaN or Inf (element " + std::to_string(index - 1) + ")",
                  ErrorContext{.part = std::string(source)});
    }
  }
}

void SafetensorsWriter::add(std::string name, DType dtype, std::vector<std::int64_t> shape,
                            std::span<const std::byte> data) {
  if (name.empty() || name == "__metadata__")
    throw Error(ErrorCode::InvalidArgument, "invalid tensor name '" + name + "'");
  const auto count = checkedProduct(shape);
  if (!count || *count * elementSize(dtype) != data.size()) {
    throw Error(ErrorCode::InvalidArgument,
                "tensor '" + name + "': " + std::to_string(data.size()) + " bytes do not match its dtype and shape");
  }
  if (entries_.count(name) != 0) throw Error(ErrorCode::InvalidArgument, "duplicate tensor '" + name + "'");
  entries_.emplace(std::move(name), Entry{dtype, std::move(shape), data});
}

void SafetensorsWriter::setMetadata(std::string key, std::string value) {
  metadata_[std::move(key)] = std::move(value);
}

ByteBuffer SafetensorsWriter::finish() const {
  nlohmann::json header = nlohmann::json::object();
  std::size_t offset = 0;
  for (const auto& [name, e] : entries_) {
    header[name] = {
        {"dtype", toString(e.dtype)}, {"shape", e.shape}, {"data_offsets", {offset, offset + e.data.size()}}};
    offset += e.data.size();
  }
  if (!metadata_.empty()) header["__metadata__"] = metadata_;
  std::string text = header.dump();
  while ((text.size() + 8) % 8 != 0) text.push_back(' ');

  std::vector<std::byte> out(8 + text.size() + offset);
  const std::uint64_t n = text.size();
  for (std::size_t i = 0; i < 8; ++i) out[i] = static_cast<std::byte>((n >> (8U * i)) & 0xFFU);
  std::memcpy(out.data() + 8, text.data(), text.size());
  std::size_t cursor = 8 + text.size();
  for (const auto& [name, e] : entries_) {
    if (!e.data.empty()) std::memcpy(out.data() + cursor, e.data.data(), e.data.size());
    cursor += e.data.size();
  }
  return ByteBuffer::fromVector(std::move(out));
}

}  // namespace iodeep::iod
