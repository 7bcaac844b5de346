#pragma once
// Helpers shared by the tests: temporary directories, fixture paths, small safetensors.

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "iodeep/iod/ByteBuffer.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/iod/IodeepObject.hpp"
#include "iodeep/iod/Slice.hpp"

namespace iodeep::test {

/// A fresh directory removed at destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }
  [[nodiscard]] std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

std::filesystem::path fixture(const std::string& name);
std::vector<std::byte> readBytes(const std::filesystem::path& p);
void writeBytes(const std::filesystem::path& p, const std::vector<std::byte>& bytes);
/// Files in @p dir (recursively), for "no partial output" checks.
std::vector<std::filesystem::path> listFiles(const std::filesystem::path& dir);

/// A TCP port free on 127.0.0.1 now (bound, read, released).
std::uint16_t freeLoopbackPort();
/// True when something accepts connections on 127.0.0.1:@p port.
bool acceptingOnLoopback(std::uint16_t port);

/// A server program (storescp, openssl s_server) started with @p argv, in its own process group,
/// output discarded, waited for until it accepts on 127.0.0.1:@p port (5 s; else
/// std::runtime_error); stopped (SIGTERM, reaped) when the object goes.
class ServerProcess {
 public:
  ServerProcess(std::vector<std::string> argv, std::uint16_t port);
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

 private:
  void stop() noexcept;
  int pid_{-1};
};

/// A small F32 network-like safetensors buffer; @p seed changes the values.
iod::ByteBuffer smallWeights(std::uint32_t seed = 1, std::size_t extraFloats = 0);
/// A PackInput for an MR HEAD network with smallWeights().
iod::PackInput samplePackInput(std::uint32_t seed = 1);

/// An axial MR slice's attributes for writing RT Structure Sets: fresh UIDs, a patient and study,
/// @p rows x @p columns, 1 mm pixels at the origin. Callers change what their test is about.
iod::SliceAttributes sampleMrSlice(std::uint16_t rows = 16, std::uint16_t columns = 16);

/// Runs dciodvfy; returns its error lines ("Error - ...", "(tag) ... - Error - ..."), plus one line saying why
/// if the tool is missing, aborted, exited abnormally, or did not print the IOD it recognised.
std::vector<std::string> dciodvfyErrors(const std::filesystem::path& file, std::string* fullOutput = nullptr);

/// The error a call throws: Error(Internal, "none") when it throws nothing.
template <typename F>
Error errorOf(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e;
  }
  return Error(ErrorCode::Internal, "none");
}

/// The code of the error a call throws: Internal when it throws nothing.
template <typename F>
ErrorCode codeOf(F&& f) {
  return errorOf(std::forward<F>(f)).code();
}

}  // namespace iodeep::test
