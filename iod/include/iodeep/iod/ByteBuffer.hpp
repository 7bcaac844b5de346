#pragma once
/// @file ByteBuffer.hpp
/// Immutable, shared bytes: a weights payload of hundreds of MB is passed around without copies.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace iodeep::iod {

/// Read-only bytes with shared ownership of whatever holds them (a vector, a memory-mapped
/// file, a DICOM data set). Copying a ByteBuffer copies a pointer, never the bytes.
class ByteBuffer {
 public:
  ByteBuffer() = default;

  /// Takes ownership of @p bytes.
  static ByteBuffer fromVector(std::vector<std::byte> bytes);
  /// Copies @p text.
  static ByteBuffer copyOf(std::span<const std::byte> bytes);
  /// Maps @p path read-only. Throws Error(FileNotFound/IoError).
  static ByteBuffer mapFile(const std::filesystem::path& path);
  /// Views @p bytes, kept alive by @p owner.
  static ByteBuffer view(std::shared_ptr<const void> owner, std::span<const std::byte> bytes);

  [[nodiscard]] std::span<const std::byte> bytes() const noexcept { return view_; }
  [[nodiscard]] std::size_t size() const noexcept { return view_.size(); }
  [[nodiscard]] bool empty() const noexcept { return view_.empty(); }
  [[nodiscard]] const std::byte* data() const noexcept { return view_.data(); }
  /// The file this buffer maps in full, if it was made by mapFile().
  [[nodiscard]] const std::optional<std::filesystem::path>& backingFile() const noexcept { return file_; }
  /// A sub-range sharing the same owner.
  [[nodiscard]] ByteBuffer slice(std::size_t offset, std::size_t length) const;

 private:
  std::shared_ptr<const void> owner_;
  std::span<const std::byte> view_;
  std::optional<std::filesystem::path> file_;
};

/// Reads a whole text file of at most @p maxBytes (the JSON limit by default: what we read as text
/// is JSON or an architecture), checked before and while it is read. Throws
/// Error(FileNotFound/IoError), Error(ResourceLimit) for a larger file.
[[nodiscard]] std::string readTextFile(const std::filesystem::path& path, std::uint64_t maxBytes = 64U << 20U);

}  // namespace iodeep::iod
