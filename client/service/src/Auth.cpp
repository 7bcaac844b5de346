#include "Auth.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <array>
#include <cctype>
#include <fstream>

#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/Sha256.hpp"
#include "iodeep/service/Service.hpp"

namespace iodeep::service {

namespace detail {

std::string sha256Hex(std::string_view text) {
  iod::Sha256 h;
  h.update(text);
  const auto d = h.finish();
  return iod::toHex(d);
}

Tokens Tokens::load(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) throw Error(ErrorCode::FileNotFound, "cannot read the tokens file", ErrorContext{.file = file.string()});
  Tokens t;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    const auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == '#') continue;
    const auto space = line.find_first_of(" \t", first);
    const std::string digest = line.substr(first, space == std::string::npos ? std::string::npos : space - first);
    std::string identity;
    if (space != std::string::npos) {
      const auto from = line.find_first_not_of(" \t", space);
      if (from != std::string::npos) identity = line.substr(from);
      while (!identity.empty() && (identity.back() == '\r' || identity.back() == ' ')) identity.pop_back();
    }
    bool hex = digest.size() == 7 + 64 && digest.rfind("sha256:", 0) == 0;
    for (std::size_t i = 7; hex && i < digest.size(); ++i) {
      const auto c = static_cast<unsigned char>(digest[i]);
      hex = std::isdigit(c) != 0 || (c >= 'a' && c <= 'f');
    }
    if (!hex || identity.empty()) {
      throw Error(ErrorCode::InvalidArgument,
                  "line " + std::to_string(number) + " is not \"sha256:<64 lowercase hex digits> <identity>\"",
                  ErrorContext{.file = file.string()});
    }
    t.entries_.push_back({digest.substr(7), identity});
  }
  return t;
}

std::optional<std::string> Tokens::identify(std::string_view token) const {
  if (token.empty()) return std::nullopt;
  const std::string digest = sha256Hex(token);
  std::optional<std::string> found;
  for (const auto& e : entries_) {  // every entry compared, in constant time each
    if (CRYPTO_memcmp(e.digestHex.data(), digest.data(), digest.size()) == 0) found = e.identity;
  }
  return found;
}

std::string_view bearerToken(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer ";
  if (authorization.size() <= kScheme.size()) return {};
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(authorization[i])) != kScheme[i]) return {};
  }
  auto token = authorization.substr(kScheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  return token;
}

}  // namespace detail

NewToken makeToken(const std::string& identity) {
  if (identity.empty() || identity.find_first_of("\r\n") != std::string::npos) {
    throw Error(ErrorCode::InvalidArgument, "a token's identity is one non-empty line");
  }
  std::array<unsigned char, 32> random{};
  if (RAND_bytes(random.data(), static_cast<int>(random.size())) != 1) {
    throw Error(ErrorCode::InvalidArgument, "the system's random generator failed");
  }
  NewToken t;
  t.token = iod::toHex(std::as_bytes(std::span(random)));
  t.line = "sha256:" + detail::sha256Hex(t.token) + " " + identity;
  return t;
}

}  // namespace iodeep::service
