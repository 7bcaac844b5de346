#pragma once
// The DICOM readers take a path: each fuzz input is written to one file per process (rewritten
// every run, removed at exit). DCMTK's logger is silenced so the fuzzer's log stays readable.
#include <dcmtk/oflog/oflog.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace iodeep::fuzz {

inline const std::filesystem::path& inputPath() {
  static const std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("iodeep-fuzz-" + std::to_string(getpid()) + ".dcm");
  return path;
}

inline void removeInput() {
  std::error_code ec;
  std::filesystem::remove(inputPath(), ec);
}

inline void quietDcmtk() {
  OFLog::configure(OFLogger::OFF_LOG_LEVEL);
  std::atexit(removeInput);
}

/// Writes @p data to inputPath() and returns it; aborts if the file cannot be written.
inline const std::filesystem::path& writeInput(const std::uint8_t* data, std::size_t size) {
  const auto& path = inputPath();
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr || (size > 0 && std::fwrite(data, 1, size, f) != size) || std::fclose(f) != 0) std::abort();
  return path;
}

}  // namespace iodeep::fuzz
