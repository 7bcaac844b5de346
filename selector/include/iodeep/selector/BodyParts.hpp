#pragma once
/// @file BodyParts.hpp
/// Body-part labels as the selector compares them: normalisation, the synonym table (DICOM PS3.16
/// CID 4031 code strings and common free-text forms) and whole-word search in free text. The
/// table and its rules are documented in docs/selection.md.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace iodeep::selector {

/// How general a body-part term is: a region contains parts (HEAD contains BRAIN and SKULL).
enum class BodyPartLevel : std::uint8_t { Region, Part };

/// One anatomical term of the table: its code string (normalised, e.g. "CSPINE") and the code of
/// the region that contains it ("" for a region or a term that stands alone).
struct BodyPartTerm {
  std::string_view code;
  std::string_view region;
  BodyPartLevel level;
};

/// Another name of a term (same anatomy): normalised, e.g. "THORAX" for "CHEST".
struct BodyPartAlias {
  std::string_view name;
  std::string_view code;
};

/// How a network's body part relates to the slice's.
enum class BodyPartRelation : std::uint8_t {
  Same,       ///< equal after normalisation
  Synonym,    ///< the same term under another name (THORAX / CHEST)
  Broader,    ///< the network's term is the region containing the slice's (slice BRAIN, network HEAD)
  Narrower,   ///< the network's term is a part of the slice's region (slice HEAD, network BRAIN)
  Unrelated,  ///< anything else, including two parts of the same region (LIVER / KIDNEY)
};

/// Every term of the table, sorted by code.
[[nodiscard]] std::span<const BodyPartTerm> bodyPartTerms() noexcept;
/// Every alias of the table, sorted by name.
[[nodiscard]] std::span<const BodyPartAlias> bodyPartAliases() noexcept;

/// Upper case (ASCII), every run of characters that are not letters or digits becomes one space,
/// trimmed: " c_spine " and "C-Spine" give "C SPINE". Bytes >= 0x80 (UTF-8) are kept as letters.
[[nodiscard]] std::string normaliseLabel(std::string_view label);

/// The term named by @p label (a code or an alias; normalised first), or nullptr when the table
/// does not know it.
[[nodiscard]] const BodyPartTerm* findBodyPart(std::string_view label) noexcept;

/// How @p network relates to @p slice (both normalised first). Unknown labels are only ever
/// Same or Unrelated. Empty labels are Unrelated.
[[nodiscard]] BodyPartRelation relateBodyParts(std::string_view slice, std::string_view network);

/// The words of a free text (e.g. StudyDescription): maximal runs of letters and digits, upper
/// case. "MRI HEAD W/O" gives {"MRI", "HEAD", "W", "O"}.
[[nodiscard]] std::vector<std::string> textWords(std::string_view text);

/// Whether @p phrase (normalised, words separated by one space) occurs in @p words as consecutive
/// whole words: "HEAD" is in {"MRI", "HEAD"}, "ARM" is not in {"PHARMACY"}, "C SPINE" is in
/// {"MR", "C", "SPINE"}. An empty phrase is never found.
[[nodiscard]] bool containsPhrase(std::span<const std::string> words, std::string_view phrase) noexcept;

}  // namespace iodeep::selector
