#include "iodeep/iod/ByteBuffer.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "iodeep/iod/Error.hpp"

namespace iodeep::iod {

namespace {

struct Mapping {
  void* address{nullptr};
  std::size_t length{0};
  Mapping(void* a, std::size_t l) : address(a), length(l) {}
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping() {
    if (address != nullptr) munmap(address, length);
  }
};

struct Fd {
  int fd;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

Error openError(const std::filesystem::path& path, int err) {
  const ErrorCode code = (err == ENOENT || err == ENOTDIR) ? ErrorCode::FileNotFound : ErrorCode::IoError;
  return Error(code, std::string("cannot open: ") + std::strerror(err), ErrorContext{.file = path.string()});
}

}  // namespace

ByteBuffer ByteBuffer::fromVector(std::vector<std::byte> bytes) {
  auto owner = std::make_shared<std::vector<std::byte>>(std::move(bytes));
  ByteBuffer b;
  b.view_ = std::span<const std::byte>(owner->data(), owner->size());
  b.owner_ = std::move(owner);
  return b;
}

ByteBuffer ByteBuffer::copyOf(std::span<const std::byte> bytes) {
  return fromVector(std::vector<std::byte>(bytes.begin(), bytes.end()));
}

ByteBuffer ByteBuffer::view(std::shared_ptr<const void> owner, std::span<const std::byte> bytes) {
  ByteBuffer b;
  b.owner_ = std::move(owner);
  b.view_ = bytes;
  return b;
}

ByteBuffer ByteBuffer::mapFile(const std::filesystem::path& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.fd < 0) throw openError(path, errno);
  struct stat st {};
  if (fstat(fd.fd, &st) != 0) throw openError(path, errno);
  if (!S_ISREG(st.st_mode)) throw Error(ErrorCode::IoError, "not a regular file", ErrorContext{.file = path.string()});
  ByteBuffer b;
  b.file_ = path;
  const auto length = static_cast<std::size_t>(st.st_size);
  if (length == 0) {
    b.owner_ = std::make_shared<int>(0);
    return b;
  }
  void* address = mmap(nullptr, length, PROT_READ, MAP_PRIVATE, fd.fd, 0);
  if (address == MAP_FAILED) {
    throw Error(ErrorCode::IoError, std::string("cannot map: ") + std::strerror(errno),
                ErrorContext{.file = path.string()});
  }
  auto mapping = std::make_shared<Mapping>(address, length);
  b.view_ = std::span<const std::byte>(static_cast<const std::byte*>(address), length);
  b.owner_ = std::move(mapping);
  return b;
}

ByteBuffer ByteBuffer::slice(std::size_t offset, std::size_t length) const {
  if (offset > view_.size() || length > view_.size() - offset) {
    throw Error(ErrorCode::Internal, "ByteBuffer::slice out of range");
  }
  return view(owner_, view_.subspan(offset, length));
}

std::string readTextFile(const std::filesystem::path& path, std::uint64_t maxBytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw openError(path, errno);
  const auto tooLarge = [&] {
    return Error(ErrorCode::ResourceLimit,
                 "larger than " + std::to_string(maxBytes) + " bytes (the limit of a text file)",
                 ErrorContext{.file = path.string()});
  };
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (!ec && size > maxBytes) throw tooLarge();
  // read in pieces and counted: a file that grows, or a device, cannot take more than the limit
  std::string text;
  std::array<char, 65536> buffer{};
  while (in.read(buffer.data(), buffer.size()) || in.gcount() > 0) {
    const auto n = static_cast<std::size_t>(in.gcount());
    if (text.size() + n > maxBytes) throw tooLarge();
    text.append(buffer.data(), n);
  }
  if (in.bad()) throw Error(ErrorCode::IoError, "read failed", ErrorContext{.file = path.string()});
  return text;
}

}  // namespace iodeep::iod
