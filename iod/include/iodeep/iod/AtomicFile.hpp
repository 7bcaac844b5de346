#pragma once
/// @file AtomicFile.hpp
/// Write-to-temporary-then-rename: an output file either appears complete or not at all. What we
/// write is patient data, verified networks or our own state: files get mode 0600 and the
/// directories we create 0700 (the owner only).

#include <filesystem>
#include <span>
#include <string_view>

namespace iodeep::iod {

/// Reserves a temporary path next to @p target; commit() gives it mode 0600, fsyncs and renames
/// it over the target; the destructor removes the temporary file when commit() was not reached.
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
  /// Makes the temporary file 0600, flushes it to disk and renames it to the target. Throws
  /// Error(OutputError).
  void commit();

 private:
  std::filesystem::path target_;
  std::filesystem::path temp_;
  bool committed_{false};
};

/// A uniquely named directory "<prefix><pid>-<random>" (mode 0700) inside @p parent (created
/// when missing, as by createMissingDirectories),
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

/// Creates each missing directory of @p directory (parents included) with mode 0700, whatever the
/// umask; existing ones are left as they are (e.g. the directory of a log the user named). Throws
/// Error(OutputError) when one cannot be created or a component exists and is not a directory.
void createMissingDirectories(const std::filesystem::path& directory);

/// A directory only this user can enter, for our caches and outbox: created as by
/// createMissingDirectories; when it already exists and lets the group or others in, tightened to
/// 0700 if this user owns it. Throws Error(OutputError) when it cannot be created, is not a
/// directory, or belongs to another user.
void createPrivateDirectory(const std::filesystem::path& directory);

/// Writes @p bytes to @p target atomically (mode 0600). Throws Error(OutputError).
void writeFileAtomically(const std::filesystem::path& target, std::span<const std::byte> bytes);
void writeFileAtomically(const std::filesystem::path& target, std::string_view text);

}  // namespace iodeep::iod
