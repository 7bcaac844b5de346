#pragma once
/// @file Safetensors.hpp
/// Our own reader and writer of the safetensors format: an 8-byte little-endian header length
/// N, N bytes of JSON header {name: {dtype, shape, data_offsets}, "__metadata__": {..}}, then the
/// raw little-endian tensor data, with no holes. Nothing here executes or unpickles anything.

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "iodeep/iod/ByteBuffer.hpp"

namespace iodeep::iod {

enum class DType { F64, F32, F16, BF16, I64, I32, I16, I8, U8, Bool };

/// "F32", "I64", "BOOL", ... as written in safetensors headers.
[[nodiscard]] std::string_view toString(DType dtype) noexcept;
/// Bytes per element.
[[nodiscard]] std::size_t elementSize(DType dtype) noexcept;
[[nodiscard]] bool isFloating(DType dtype) noexcept;

struct TensorInfo {
  std::string name;
  DType dtype{DType::F32};
  std::vector<std::int64_t> shape;
  std::size_t begin{0};  ///< offset of the first byte, relative to the data section
  std::size_t end{0};    ///< one past the last byte, relative to the data section

  [[nodiscard]] std::int64_t elementCount() const noexcept;
  [[nodiscard]] std::size_t byteSize() const noexcept { return end - begin; }
};

/// A parsed safetensors buffer; tensors are views into it (no copy).
class Safetensors {
 public:
  /// Parses and validates @p buffer. Bytes after the data section must be zero padding
  /// (DICOM pads odd-length values with one 0x00). Throws Error(InvalidSafetensors,
  /// UnsupportedDtype) with @p source as the part of their context (what was read, e.g.
  /// "DnnWeightsPayload"; empty when the caller adds the file instead).
  static Safetensors parse(ByteBuffer buffer, std::string_view source = "weights");

  [[nodiscard]] const std::vector<TensorInfo>& tensors() const noexcept { return tensors_; }
  [[nodiscard]] const std::map<std::string, std::string>& metadata() const noexcept { return metadata_; }
  /// Raw bytes of one tensor.
  [[nodiscard]] std::span<const std::byte> data(const TensorInfo& tensor) const noexcept;
  /// Header + data without any trailing padding: what the SHA-256 covers.
  [[nodiscard]] std::span<const std::byte> logicalBytes() const noexcept;
  /// Total number of elements over all tensors.
  [[nodiscard]] std::int64_t parameterCount() const noexcept;
  /// Throws Error(NonFiniteWeights) naming the first tensor holding a NaN or Inf, with @p source
  /// as the part of its context.
  void checkFinite(std::string_view source = "weights") const;
  [[nodiscard]] const ByteBuffer& buffer() const noexcept { return buffer_; }

 private:
  ByteBuffer buffer_;
  std::size_t dataStart_{0};
  std::size_t dataSize_{0};
  std::vector<TensorInfo> tensors_;
  std::map<std::string, std::string> metadata_;
};

/// Builds a safetensors buffer. Tensors are written in name order, the header padded with
/// spaces to a multiple of 8 bytes so every tensor is 8-byte aligned in a mapped file.
class SafetensorsWriter {
 public:
  /// @p data must hold exactly prod(shape) * elementSize(dtype) little-endian bytes.
  /// Throws Error(InvalidArgument) on a size mismatch or a duplicate name.
  void add(std::string name, DType dtype, std::vector<std::int64_t> shape, std::span<const std::byte> data);
  void setMetadata(std::string key, std::string value);
  /// Serialises everything added so far.
  [[nodiscard]] ByteBuffer finish() const;

 private:
  struct Entry {
    DType dtype;
    std::vector<std::int64_t> shape;
    std::span<const std::byte> data;
  };
  std::map<std::string, Entry> entries_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace iodeep::iod
