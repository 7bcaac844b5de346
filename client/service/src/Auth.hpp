#pragma once
// Who calls: a bearer token from the tokens file (stored as its SHA-256 only, compared in constant
// time), or a client certificate verified by the TLS handshake (its subject's CN).

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace iodeep::service::detail {

class Tokens {
 public:
  /// Reads "sha256:<64 hex> <identity>" lines ('#' comments, blank lines). Throws Error
  /// (FileNotFound, InvalidArgument naming the file and line) for a file that cannot be read or a
  /// line that is not one.
  static Tokens load(const std::filesystem::path& file);
  [[nodiscard]] bool empty() const noexcept { return entries_.empty(); }
  [[nodiscard]] std::size_t size() const noexcept { return entries_.size(); }
  /// The identity of @p token, or nothing.
  [[nodiscard]] std::optional<std::string> identify(std::string_view token) const;

 private:
  struct Entry {
    std::string digestHex, identity;
  };
  std::vector<Entry> entries_;
};

/// The token of an "Authorization: Bearer <token>" header, or empty.
[[nodiscard]] std::string_view bearerToken(std::string_view authorization);

/// Lowercase hex SHA-256 of @p text.
[[nodiscard]] std::string sha256Hex(std::string_view text);

}  // namespace iodeep::service::detail
