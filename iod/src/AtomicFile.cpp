#include "iodeep/iod/AtomicFile.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <random>
#include <string>

#include "iodeep/iod/Error.hpp"

namespace iodeep::iod {

namespace {

[[noreturn]] void outputError(const std::filesystem::path& p, const std::string& what) {
  throw Error(ErrorCode::OutputError, "cannot write: " + what, ErrorContext{.file = p.string()});
}

void fsyncPath(const std::filesystem::path& p, int flags, const std::filesystem::path& reported) {
  const int fd = ::open(p.c_str(), flags | O_CLOEXEC);
  if (fd < 0) outputError(reported, std::strerror(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  // Directories on some file systems refuse fsync with EINVAL; that is not a failure.
  if (rc != 0 && err != EINVAL) outputError(reported, std::strerror(err));
}

// "<prefix><pid>-<digits>" of a process that no longer runs.
bool leftByADeadProcess(const std::string& name, std::string_view prefix) {
  if (!name.starts_with(prefix)) return false;
  const std::string_view rest = std::string_view(name).substr(prefix.size());
  const auto dash = rest.find('-');
  if (dash == std::string_view::npos || dash + 1 == rest.size()) return false;
  const std::string_view digits = rest.substr(dash + 1);
  if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) return false;
  pid_t pid = 0;
  const auto [end, ec] = std::from_chars(rest.data(), rest.data() + dash, pid);
  if (ec != std::errc() || end != rest.data() + dash || pid <= 0 || pid == ::getpid()) return false;
  return ::kill(pid, 0) != 0 && errno == ESRCH;  // EPERM: it runs, as another user
}

constexpr mode_t kPrivateDirectory = S_IRWXU;       // 0700
constexpr mode_t kPrivateFile = S_IRUSR | S_IWUSR;  // 0600

std::string octal(mode_t mode) {
  std::string text = "0000";
  for (auto digit = text.rbegin(); digit != text.rend(); ++digit, mode >>= 3U) {
    *digit = static_cast<char>('0' + (mode & 7U));
  }
  return text;
}

}  // namespace

void createMissingDirectories(const std::filesystem::path& directory) {
  if (directory.empty()) outputError(directory, "empty directory path");
  std::filesystem::path prefix;
  for (const auto& part : directory) {
    prefix /= part;
    if (::mkdir(prefix.c_str(), kPrivateDirectory) == 0) {
      // the umask may have removed bits we need; a directory we create is exactly 0700
      if (::chmod(prefix.c_str(), kPrivateDirectory) != 0) outputError(prefix, std::strerror(errno));
      continue;
    }
    const int err = errno;
    struct stat st {};
    if (err == EEXIST || err == EACCES || err == EROFS || err == EPERM) {
      // an existing component (a root or a read-only parent refuses mkdir before it says EEXIST)
      if (::stat(prefix.c_str(), &st) == 0) {
        if (!S_ISDIR(st.st_mode)) outputError(prefix, "exists and is not a directory");
        continue;
      }
    }
    outputError(prefix, std::string("cannot create the directory: ") + std::strerror(err));
  }
}

void createPrivateDirectory(const std::filesystem::path& directory) {
  createMissingDirectories(directory);
  struct stat st {};
  if (::stat(directory.c_str(), &st) != 0) outputError(directory, std::strerror(errno));
  if (!S_ISDIR(st.st_mode)) outputError(directory, "exists and is not a directory");
  if (st.st_uid != ::geteuid()) {
    outputError(directory, "the directory belongs to another user (uid " + std::to_string(st.st_uid) +
                               "): it must be this user's own (mode 0700)");
  }
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0 && ::chmod(directory.c_str(), kPrivateDirectory) != 0) {
    outputError(directory,
                "cannot make the directory private (mode " + octal(st.st_mode) + " to 0700): " + std::strerror(errno));
  }
}

AtomicFile::AtomicFile(std::filesystem::path target) : target_(std::move(target)) {
  if (target_.empty()) outputError(target_, "empty path");
  std::filesystem::path dir = target_.parent_path();
  if (dir.empty()) dir = ".";
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) outputError(target_, "directory " + dir.string() + " does not exist");
  if (std::filesystem::is_directory(target_, ec)) outputError(target_, "is a directory");
  if (::access(dir.c_str(), W_OK) != 0) outputError(target_, "directory " + dir.string() + " is not writable");
  std::random_device rd;
  temp_ = dir / ("." + target_.filename().string() + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
}

AtomicFile::~AtomicFile() {
  if (!committed_) {
    std::error_code ec;
    std::filesystem::remove(temp_, ec);
  }
}

void AtomicFile::commit() {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(temp_, ec)) outputError(target_, "nothing was written");
  // whoever wrote it (we, or the toolkit with the umask's mode): the owner only
  if (::chmod(temp_.c_str(), kPrivateFile) != 0) outputError(target_, std::strerror(errno));
  fsyncPath(temp_, O_RDONLY, target_);
  if (std::rename(temp_.c_str(), target_.c_str()) != 0) outputError(target_, std::strerror(errno));
  committed_ = true;
  std::filesystem::path dir = target_.parent_path();
  if (dir.empty()) dir = ".";
  fsyncPath(dir, O_RDONLY | O_DIRECTORY, target_);
}

void writeFileAtomically(const std::filesystem::path& target, std::span<const std::byte> bytes) {
  AtomicFile file(target);
  {
    const int fd = ::open(file.temporaryPath().c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, kPrivateFile);
    if (fd < 0) outputError(target, std::strerror(errno));
    std::size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        const int err = errno;
        ::close(fd);
        outputError(target, std::strerror(err));
      }
      done += static_cast<std::size_t>(n);
    }
    if (::close(fd) != 0) outputError(target, std::strerror(errno));
  }
  file.commit();
}

void writeFileAtomically(const std::filesystem::path& target, std::string_view text) {
  writeFileAtomically(target, std::as_bytes(std::span<const char>(text.data(), text.size())));
}

TemporaryDirectory::TemporaryDirectory(const std::filesystem::path& parent, std::string_view prefix) {
  std::error_code ec;
  for (std::filesystem::directory_iterator it(parent, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code ignored;
    if (it->is_directory(ignored) && leftByADeadProcess(it->path().filename().string(), prefix)) {
      std::filesystem::remove_all(it->path(), ignored);
    }
  }
  ec.clear();
  std::random_device rd;
  path_ = parent / (std::string(prefix) + std::to_string(::getpid()) + "-" + std::to_string(rd()));
  createMissingDirectories(path_);
}

TemporaryDirectory::~TemporaryDirectory() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace iodeep::iod
