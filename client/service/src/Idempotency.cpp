#include "Idempotency.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <nlohmann/json.hpp>
#include <system_error>

#include "Auth.hpp"
#include "Requests.hpp"
#include "iodeep/iod/AtomicFile.hpp"
#include "iodeep/iod/ByteBuffer.hpp"
#include "iodeep/iod/Error.hpp"

namespace iodeep::service::detail {

namespace fs = std::filesystem;

IdempotencyStore::IdempotencyStore(fs::path directory) : directory_(std::move(directory)) {
  iod::createPrivateDirectory(directory_);
}

IdempotencyStore::Claim::Claim(Claim&& other) noexcept
    : replay(std::move(other.replay)),
      fd_(std::exchange(other.fd_, -1)),
      answer_(std::move(other.answer_)),
      bodyDigest_(std::move(other.bodyDigest_)) {}

IdempotencyStore::Claim::~Claim() {
  if (fd_ >= 0) ::close(fd_);  // releases the flock
}

void IdempotencyStore::Claim::complete(unsigned status, const std::string& body) {
  if (fd_ < 0) return;
  const nlohmann::json j = {{"bodySha256", bodyDigest_}, {"status", status}, {"body", body}};
  iod::writeFileAtomically(answer_, std::string_view(j.dump()));
}

IdempotencyStore::Claim IdempotencyStore::claim(const std::string& identity, const std::string& key,
                                                const std::string& body) const {
  Claim c;
  if (key.empty()) return c;
  if (key.size() > 255 || std::any_of(key.begin(), key.end(), [](char ch) { return ch < 0x21 || ch > 0x7e; })) {
    throw RequestError(400, "Idempotency-Key must be 1-255 visible ASCII characters", "Idempotency-Key");
  }
  static std::atomic<unsigned> claims{0};
  if (++claims % 100 == 1) sweep();
  const std::string name = sha256Hex(identity + "\n" + key);
  const fs::path lock = directory_ / (name + ".lock");
  c.fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (c.fd_ < 0) {
    throw Error(ErrorCode::OutputError, std::string("cannot open an idempotency lock: ") + std::strerror(errno),
                ErrorContext{.file = lock.string()});
  }
  if (::flock(c.fd_, LOCK_EX | LOCK_NB) != 0) {
    throw RequestError(409, "a request with this Idempotency-Key is still running; retry later", "Idempotency-Key");
  }
  c.answer_ = directory_ / (name + ".json");
  c.bodyDigest_ = sha256Hex(body);
  std::error_code ec;
  if (fs::exists(c.answer_, ec)) {
    try {
      const auto j = nlohmann::json::parse(iod::readTextFile(c.answer_));
      if (j.at("bodySha256").get<std::string>() != c.bodyDigest_) {
        throw RequestError(422, "this Idempotency-Key was used with another request body", "Idempotency-Key");
      }
      c.replay = Kept{j.at("status").get<unsigned>(), j.at("body").get<std::string>()};
    } catch (const nlohmann::json::exception&) {
      fs::remove(c.answer_, ec);  // a damaged record: the request runs (it was never answered whole)
    }
  }
  return c;
}

void IdempotencyStore::sweep() const {
  const auto old = fs::file_time_type::clock::now() - std::chrono::hours(24);
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(directory_, ec)) {
    if (e.last_write_time(ec) >= old) continue;
    if (e.path().extension() == ".json") {
      fs::remove(e.path(), ec);
    } else if (e.path().extension() == ".lock") {
      // only a lock nobody holds (a request running under it keeps it)
      const int fd = ::open(e.path().c_str(), O_RDWR | O_CLOEXEC);
      if (fd >= 0 && ::flock(fd, LOCK_EX | LOCK_NB) == 0) fs::remove(e.path(), ec);
      if (fd >= 0) ::close(fd);
    }
  }
}

}  // namespace iodeep::service::detail
