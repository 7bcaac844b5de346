#pragma once
// The DCMTK bridge: the one place where DCMTK conditions become iodeep::Error and where files are
// loaded. Private to the modules (iod, rtstruct, client core; CMake target iodeep::dcmtk_bridge):
// never included from a public header.

#include <dcmtk/dcmdata/dcspchrs.h>
#include <dcmtk/dcmdata/dctk.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>

#include "iodeep/iod/Error.hpp"

namespace iodeep::iod::dcmtk {

/// Throws Error(@p code) "<what>: <DCMTK text>" with @p context when @p cond is bad. Call it on
/// the line that produced the condition.
void check(const OFCondition& cond, ErrorCode code, std::string_view what, ErrorContext context = {});

/// "(gggg,eeee)" of a tag, for error context.
[[nodiscard]] std::string tagString(const DcmTagKey& key);

/// Registers the IODeep private dictionary entries once per process, so that Implicit VR
/// copies made by a PACS still read with the right VRs.
void registerPrivateDictionary();

/// Registers DCMTK's image decoders (JPEG, JPEG-LS, RLE) once per process.
void registerDecoders();

/// Loads a DICOM file as DCMTK reads one (ERM_autoDetect): a Part 10 file with or without the
/// 128-byte preamble and "DICM" (pydicom writes the file meta group directly when a new data set
/// is saved without a preamble), or a data set without file meta information in Implicit VR
/// Little Endian, Explicit VR Little Endian or Explicit VR Big Endian (the syntax detected from
/// its first bytes); such a bare data set must have a SOP Class UID. Every value up to
/// @p maxReadLength bytes is read now, so a truncated value is reported here and not on first
/// access; longer values stay in the file (DcmElement::getInputStream() says where). Throws
/// Error(FileNotFound, IoError, NotDicom, TruncatedDicom), each with the file as context.
[[nodiscard]] std::unique_ptr<DcmFileFormat> loadFile(const std::filesystem::path& path,
                                                      std::uint32_t maxReadLength = 0xFFFFFFFEU);

/// The same as loadFile, but parsing stops before the first top-level element with tag
/// @p stopAt (that element and everything after it are not read): tells whether the damage in a
/// file that loadFile refuses lies at or after @p stopAt (e.g. in the DigitalSignaturesSequence).
/// Throws what loadFile throws.
[[nodiscard]] std::unique_ptr<DcmFileFormat> loadFileUntil(const std::filesystem::path& path, const DcmTagKey& stopAt,
                                                           std::uint32_t maxReadLength = 0xFFFFFFFEU);

/// DCMTK keeps reading options in process-wide flags, and DcmSCP::openListenPort switches one of
/// them (automatic input correction) off for the whole process. loadFile reads with it on while
/// holding this mutex shared; code that lets DCMTK change such a flag holds it exclusively and
/// restores the flag before letting go (client/core's move destination).
[[nodiscard]] std::shared_mutex& globalsMutex();

/// Where the value of @p element starts in its file, when DCMTK left it there (loaded with a
/// maxReadLength below its length, from a file that is not deflated); nothing otherwise.
[[nodiscard]] std::optional<std::uint64_t> valueOffsetInFile(const DcmElement& element);

/// True when the file had file meta information (group 0002), with or without a preamble.
[[nodiscard]] bool hasMetaInformation(DcmFileFormat& file);

/// The transfer syntax UID of the file meta information, or, for a data set without one, of the
/// encoding DCMTK detected.
[[nodiscard]] std::string transferSyntaxOf(DcmFileFormat& file);

/// String value of an element, or empty when absent. Works for text VRs and for UN/OB values
/// holding text (private tags read without a dictionary).
[[nodiscard]] std::string getString(DcmItem& item, const DcmTagKey& key);

/// Finds the element (gggg,0010-00FF) whose value is @p creator; 0 when absent.
[[nodiscard]] std::uint16_t findPrivateCreator(DcmItem& item, std::uint16_t group, std::string_view creator);

/// Text values of one data set as UTF-8, what the objects we write declare (ISO_IR 192):
/// converted from its SpecificCharacterSet by DCMTK (iconv), ISO 2022 Japanese through
/// iod::japaneseIso2022ToUtf8 where Debian's DCMTK cannot. Without a character set, bytes beyond
/// the default repertoire are ISO 8859-1, as pydicom reads them; what cannot be converted keeps
/// its ASCII and gets U+FFFD for the rest (failed() then says so).
class Utf8Text {
 public:
  explicit Utf8Text(DcmItem& dataset);
  ~Utf8Text();
  Utf8Text(const Utf8Text&) = delete;
  Utf8Text& operator=(const Utf8Text&) = delete;
  Utf8Text(Utf8Text&&) = delete;
  Utf8Text& operator=(Utf8Text&&) = delete;

  /// @p raw (a value of this data set) as UTF-8; @p personName: PN, whose component and group
  /// delimiters reset ISO 2022 code extensions.
  [[nodiscard]] std::string operator()(const std::string& raw, bool personName = false);
  [[nodiscard]] bool failed() const noexcept { return failed_; }
  [[nodiscard]] const std::string& charset() const noexcept { return charset_; }

 private:
  std::string charset_;
  std::unique_ptr<DcmSpecificCharacterSet> converter_;
  bool failed_{false};
};

}  // namespace iodeep::iod::dcmtk
