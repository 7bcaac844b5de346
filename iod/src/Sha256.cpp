#include "iodeep/iod/Sha256.hpp"

#include <openssl/evp.h>

#include "iodeep/iod/Error.hpp"

namespace iodeep::iod {

struct Sha256::Impl {
  EVP_MD_CTX* ctx{EVP_MD_CTX_new()};
  Impl() {
    if (ctx == nullptr || EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) != 1) {
      throw Error(ErrorCode::Internal, "OpenSSL: cannot initialise SHA-256");
    }
  }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  ~Impl() { EVP_MD_CTX_free(ctx); }
};

Sha256::Sha256() : impl_(std::make_unique<Impl>()) {}
Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::update(std::span<const std::byte> bytes) {
  if (!bytes.empty() && EVP_DigestUpdate(impl_->ctx, bytes.data(), bytes.size()) != 1) {
    throw Error(ErrorCode::Internal, "OpenSSL: SHA-256 update failed");
  }
}

void Sha256::update(std::string_view text) {
  update(std::as_bytes(std::span<const char>(text.data(), text.size())));
}

Sha256Digest Sha256::finish() {
  Sha256Digest out{};
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(impl_->ctx, reinterpret_cast<unsigned char*>(out.data()), &len) != 1 || len != out.size()) {
    throw Error(ErrorCode::Internal, "OpenSSL: SHA-256 final failed");
  }
  return out;
}

Sha256Digest sha256(std::span<const std::byte> bytes) {
  Sha256 h;
  h.update(bytes);
  return h.finish();
}

std::string toHex(std::span<const std::byte> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  s.reserve(bytes.size() * 2);
  for (std::byte b : bytes) {
    const auto v = std::to_integer<unsigned>(b);
    s.push_back(kDigits[v >> 4U]);
    s.push_back(kDigits[v & 0xFU]);
  }
  return s;
}

}  // namespace iodeep::iod
