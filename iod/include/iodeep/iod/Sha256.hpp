#pragma once
/// @file Sha256.hpp
/// SHA-256 digests (OpenSSL underneath, not exposed).

#include <array>
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace iodeep::iod {

using Sha256Digest = std::array<std::byte, 32>;

/// Incremental SHA-256.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;

  void update(std::span<const std::byte> bytes);
  void update(std::string_view text);
  /// Finishes the digest; the object must not be updated afterwards.
  [[nodiscard]] Sha256Digest finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

[[nodiscard]] Sha256Digest sha256(std::span<const std::byte> bytes);
[[nodiscard]] std::string toHex(std::span<const std::byte> bytes);

}  // namespace iodeep::iod
