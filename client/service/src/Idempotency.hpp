#pragma once
// POST /v1/structure-sets with an Idempotency-Key: the first answer is kept (per caller and key,
// on disk, so that the workers of a cluster can share the directory) and a retried request gets
// it back instead of storing a second set. A key used again with another body is refused (422);
// one whose first request is still running answers 409. Failures are not kept: a retry after a
// failure runs again. Kept answers expire after a day.

#include <filesystem>
#include <optional>
#include <string>

namespace iodeep::service::detail {

class IdempotencyStore {
 public:
  explicit IdempotencyStore(std::filesystem::path directory);

  struct Kept {
    unsigned status{0};
    std::string body;
  };

  /// A claim on a key: holds its lock (flock) until destroyed.
  class Claim {
   public:
    Claim() = default;
    Claim(const Claim&) = delete;
    Claim& operator=(const Claim&) = delete;
    Claim(Claim&& other) noexcept;
    Claim& operator=(Claim&&) = delete;
    ~Claim();
    std::optional<Kept> replay;  ///< the first answer, when there was one
    /// Keeps @p status and @p body as the answer to this key (no-op without a key).
    void complete(unsigned status, const std::string& body);

   private:
    friend class IdempotencyStore;
    int fd_{-1};
    std::filesystem::path answer_;
    std::string bodyDigest_;
  };

  /// Claims @p key for @p identity and @p body. An empty key claims nothing (every request runs).
  /// Throws RequestError: 400 for a malformed key, 409 while another request holds it, 422 when
  /// the key came with another body.
  [[nodiscard]] Claim claim(const std::string& identity, const std::string& key, const std::string& body) const;

 private:
  void sweep() const;
  std::filesystem::path directory_;
};

}  // namespace iodeep::service::detail
