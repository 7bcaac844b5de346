#pragma once
/// @file Selector.hpp
/// Choosing the IODeep network for a slice: the paper's Algorithm 1 as published (selectPaper)
/// and the robust selection the product uses (select). Pure logic on plain values: nothing here
/// throws on content, and "no network matches" is a result with reasons. See docs/selection.md.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "iodeep/iod/IodeepObject.hpp"
#include "iodeep/iod/Slice.hpp"

namespace iodeep::selector {

/// What the selection reads from the slice.
struct SliceQuery {
  std::string modality;          ///< (0008,0060)
  std::string bodyPartExamined;  ///< (0018,0015), may be empty
  std::string studyDescription;  ///< (0008,1030), used when bodyPartExamined is empty
  std::uint16_t samplesPerPixel{1};
  std::string photometricInterpretation;  ///< for information only, never a criterion

  /// The selection attributes of a slice read with iod::readSliceAttributes.
  [[nodiscard]] static SliceQuery from(const iod::SliceAttributes& slice);
};

/// A network that may be chosen: what a SERIES/IMAGE-level C-FIND returns for an IODeep instance
/// (docs/iodeep-iod.md, "Finding IODeep objects on a PACS"), or a local file's model.
struct Candidate {
  std::string dnnUid;
  std::string sopInstanceUid;
  std::string seriesInstanceUid;
  std::string studyInstanceUid;
  std::string name;
  std::string version;
  std::string modality;
  std::string bodyPartExamined;
  /// Unknown when the PACS does not return it at C-FIND (Orthanc with StorageAccessOnFind
  /// "Never"); then it is checked on the retrieved object.
  std::optional<std::uint16_t> samplesPerPixel;
  std::string photometricInterpretation;
  std::string contentDate;  ///< YYYYMMDD
  std::string contentTime;  ///< HHMMSS[.FFFFFF]
  std::optional<std::uint64_t> sizeBytes;
  std::string source;  ///< where it was found (file path, AE title), for messages only
  /// Set by the client when the candidate may not be used whatever it matches, e.g. the trust
  /// policy refused its signature ("not trusted: signed by CN=..., ..."). A refused candidate is
  /// judged like the others (its checks are filled) but never matches; describe() gives this.
  std::string refusal;

  /// The candidate for a model read from a local file (@p source: its path, for messages).
  [[nodiscard]] static Candidate from(const iod::IodeepModel& model, std::string source = {});
};

/// The criteria of Algorithm 1, in its order.
enum class Criterion : std::uint8_t { Modality, SamplesPerPixel, BodyPart };

/// How a matching network matched, from the most specific to the least (docs/selection.md).
enum class MatchRule : std::uint8_t {
  None,                     ///< did not match
  BodyPartExact,            ///< BodyPartExamined equal after normalisation
  BodyPartSynonym,          ///< the same term under another name (THORAX / CHEST)
  BodyPartRelated,          ///< region and one of its parts (HEAD / BRAIN), either way round
  StudyDescriptionWord,     ///< slice without body part: the network's term, or a synonym, as a word
  StudyDescriptionRelated,  ///< slice without body part: a region/part of the network's term as a word
};

/// One criterion compared for one candidate, with the values as compared (normalised in select).
struct Check {
  Criterion criterion{Criterion::Modality};
  bool passed{false};
  std::string slice;    ///< the slice's value; for the StudyDescription fallback, the description
  std::string network;  ///< the candidate's value ("" when it has none)
  std::string note;     ///< how it passed or why it failed, when the values alone do not say
};

/// What the selection decided about one candidate.
struct Verdict {
  bool matched{false};
  MatchRule rule{MatchRule::None};
  /// The slice had no BodyPartExamined: the BodyPart check searched its StudyDescription.
  bool studyDescriptionUsed{false};
  /// The three criteria, indexed by Criterion, all evaluated (not only up to the first failure).
  std::array<Check, 3> checks{};
  /// The first criterion that failed, in the paper's order; empty when matched.
  std::optional<Criterion> failed;
  /// Place among the matching candidates, 0 = chosen; empty when not matched.
  std::optional<std::size_t> rank;
  /// For a match that was not chosen: "lost to #<index> on <tie-break> (<values>)".
  std::string note;
  /// The candidate's refusal (Candidate::refusal): it would otherwise have matched when every
  /// check passed.
  std::string refusal;
};

/// The outcome of select: never an exception for "no match".
struct Selection {
  std::optional<std::size_t> chosen;  ///< index into the candidates
  MatchRule rule{MatchRule::None};    ///< how the chosen one matched
  std::vector<Verdict> verdicts;      ///< verdicts[i] is about candidates[i]
  std::vector<std::size_t> ranking;   ///< indices of the matching candidates, best first

  [[nodiscard]] bool matched() const noexcept { return chosen.has_value(); }
  /// kExitOk when a network was chosen, kExitNoMatch (7) otherwise.
  [[nodiscard]] int exitCode() const noexcept;
};

/// The paper's Algorithm 1 exactly: the first candidate (in the given order) whose Modality and
/// SamplesPerPixel equal the slice's and whose BodyPartExamined equals the slice's, or, when the
/// slice's BodyPartExamined is empty, occurs as a substring of its StudyDescription. Byte-wise,
/// case-sensitive comparison; an unknown SamplesPerPixel never equals. Index of the match, or
/// empty.
[[nodiscard]] std::optional<std::size_t> selectPaper(const SliceQuery& slice, std::span<const Candidate> candidates);

/// The robust selection: case- and whitespace-insensitive comparison, the body-part synonym
/// table, the StudyDescription fallback as a whole-word search, a deterministic choice among
/// several matches (most specific, then newest version, then content date/time, then DnnUID) and
/// a verdict for every candidate. The result does not depend on the order of @p candidates.
[[nodiscard]] Selection select(const SliceQuery& slice, std::span<const Candidate> candidates);

/// select() again after the candidates at @p changed (indices) changed (a PACS told more about
/// them, one was refused): only those are judged again and the matches ranked again. The result
/// equals select(slice, candidates) when @p previous is select(slice, candidates as they were):
/// with thousands of candidates and a few changed, the others are not judged twice.
[[nodiscard]] Selection reselect(const SliceQuery& slice, std::span<const Candidate> candidates, Selection previous,
                                 std::span<const std::size_t> changed);

/// One line about @p verdict: how it matched (and why it lost), or every failed criterion with
/// the values compared, e.g. "Modality: slice CT, network MR".
[[nodiscard]] std::string describe(const Verdict& verdict);

/// Text for the command line: the slice's keys, the choice (or "no match"), then one line per
/// candidate (at most @p maxListed; the rest are counted).
[[nodiscard]] std::string explain(const Selection& selection, const SliceQuery& slice,
                                  std::span<const Candidate> candidates, std::size_t maxListed = 50);

/// Compares version strings by components: runs of digits numerically (1.10 > 1.9), runs of
/// letters case-insensitively, a number above a word; a trailing word marks a pre-release
/// (1.0rc1 < 1.0 < 1.0.1); a leading "v" is ignored; an empty version is the oldest.
/// Negative, zero or positive like strcmp.
[[nodiscard]] int compareVersions(std::string_view a, std::string_view b) noexcept;

/// Stable names, e.g. "BodyPartSynonym", "SamplesPerPixel" (for JSON and tests).
[[nodiscard]] std::string_view toString(MatchRule rule) noexcept;
[[nodiscard]] std::string_view toString(Criterion criterion) noexcept;

}  // namespace iodeep::selector
