#pragma once
/// @file AtomicFile.hpp
/// Write-to-temporary-then-rename: an output file either appears complete or not at all.

#include <filesystem>
#include <span>
#include <string_view>

namespace iodeep::iod {

/// Reserves a temporary path next to @p target; commit() fsyncs and renames it over the
/// target; the destructor removes the temporary file when commit() was not reached.
class AtomicFile {
 public:
  /// Throws Error(OutputError) when the target directory does not exist or is not writable.
  explicit AtomicFile(std::filesystem::path target);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  /// Where to write the content.
  [[nodiscard]] const std::filesystem::path& temporaryPath() const noexcept { return temp_; }
  [[nodiscard]] const std::filesystem::path& target() const noexcept { return target_; }
  /// Flushes the temporary file to disk and renames it to the target. Throws Error(OutputError).
  void commit();

 private:
  std::filesystem::path target_;
  std::filesystem::path temp_;
  bool committed_{false};
};

/// A uniquely named directory "<prefix><pid>-<random>" inside @p parent (created when missing),
/// removed with everything in it by the destructor: where partial downloads and per-run files live.
/// A process killed on the way (SIGKILL, power cut) cannot remove its own: the constructor first
/// removes the "<prefix><pid>-<number>" directories in @p parent whose process no longer runs
/// (which assumes that the processes sharing @p parent run on this machine, in one PID namespace).
class TemporaryDirectory {
 public:
  /// Throws Error(OutputError) when it cannot be created.
  TemporaryDirectory(const std::filesystem::path& parent, std::string_view prefix);
  ~TemporaryDirectory();
  TemporaryDirectory(const TemporaryDirectory&) = delete;
  TemporaryDirectory& operator=(const TemporaryDirectory&) = delete;
  TemporaryDirectory(TemporaryDirectory&&) = delete;
  TemporaryDirectory& operator=(TemporaryDirectory&&) = delete;

  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
};

/// Writes @p bytes to @p target atomically. Throws Error(OutputError).
void writeFileAtomically(const std::filesystem::path& target, std::span<const std::byte> bytes);
void writeFileAtomically(const std::filesystem::path& target, std::string_view text);

}  // namespace iodeep::iod
