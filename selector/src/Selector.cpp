#include "iodeep/selector/Selector.hpp"

#include <algorithm>
#include <utility>

#include "iodeep/iod/Error.hpp"
#include "iodeep/selector/BodyParts.hpp"

namespace iodeep::selector {
namespace {

constexpr std::size_t kModality = static_cast<std::size_t>(Criterion::Modality);
constexpr std::size_t kSamples = static_cast<std::size_t>(Criterion::SamplesPerPixel);
constexpr std::size_t kBodyPart = static_cast<std::size_t>(Criterion::BodyPart);

std::string_view trim(std::string_view s) noexcept {
  const auto first = s.find_first_not_of(" \t\r\n\f\v");
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t\r\n\f\v") - first + 1);
}

std::string inQuotes(std::string_view s) {
  return "\"" + std::string(s) + "\"";
}

std::string shown(std::string_view s) {
  return s.empty() ? std::string("(empty)") : std::string(s);
}

std::size_t termIndex(const BodyPartTerm* term) noexcept {
  return static_cast<std::size_t>(term - bodyPartTerms().data());
}

/// The slice's side, computed once per selection.
struct Prepared {
  std::string modality;
  std::string bodyPart;
  const BodyPartTerm* bodyPartTerm{nullptr};
  bool useDescription{false};
  std::string description;
  std::vector<std::string> words;
  std::vector<char> termNamed;     ///< per term: the description names it (code or alias)
  std::vector<char> relatedNamed;  ///< per term: the description names its region or one of its parts
};

/// The first name of @p term (its code, then its aliases) that occurs in @p words, or "".
std::string_view namedIn(const BodyPartTerm& term, std::span<const std::string> words) noexcept {
  if (containsPhrase(words, term.code)) return term.code;
  for (const auto& alias : bodyPartAliases()) {
    if (alias.code == term.code && containsPhrase(words, alias.name)) return alias.name;
  }
  return {};
}

bool related(const BodyPartTerm& a, const BodyPartTerm& b) noexcept {
  return a.region == b.code || b.region == a.code;
}

Prepared prepare(const SliceQuery& slice) {
  Prepared p;
  p.modality = normaliseLabel(slice.modality);
  p.bodyPart = normaliseLabel(slice.bodyPartExamined);
  p.bodyPartTerm = findBodyPart(p.bodyPart);
  p.useDescription = p.bodyPart.empty();
  if (!p.useDescription) return p;
  p.description = std::string(trim(slice.studyDescription));
  p.words = textWords(p.description);
  const auto terms = bodyPartTerms();
  p.termNamed.assign(terms.size(), 0);
  p.relatedNamed.assign(terms.size(), 0);
  for (std::size_t i = 0; i < terms.size(); ++i) p.termNamed[i] = namedIn(terms[i], p.words).empty() ? 0 : 1;
  for (std::size_t i = 0; i < terms.size(); ++i) {
    for (std::size_t j = 0; j < terms.size(); ++j) {
      if (p.termNamed[j] != 0 && related(terms[i], terms[j])) p.relatedNamed[i] = 1;
    }
  }
  return p;
}

void judgeBodyPartExamined(const Prepared& p, const BodyPartTerm* term, Verdict& v) {
  Check& c = v.checks[kBodyPart];
  c.slice = p.bodyPart;
  if (p.bodyPart == c.network) {
    c.passed = true;
    v.rule = MatchRule::BodyPartExact;
    return;
  }
  if (p.bodyPartTerm == nullptr || term == nullptr) return;
  if (p.bodyPartTerm == term) {
    c.passed = true;
    v.rule = MatchRule::BodyPartSynonym;
    c.note = "both name " + std::string(term->code);
  } else if (p.bodyPartTerm->region == term->code) {
    c.passed = true;
    v.rule = MatchRule::BodyPartRelated;
    c.note = std::string(term->code) + " contains " + std::string(p.bodyPartTerm->code);
  } else if (term->region == p.bodyPartTerm->code) {
    c.passed = true;
    v.rule = MatchRule::BodyPartRelated;
    c.note = std::string(term->code) + " is part of " + std::string(p.bodyPartTerm->code);
  } else if (!term->region.empty() && term->region == p.bodyPartTerm->region) {
    c.note = "different parts of " + std::string(term->region);
  }
}

void judgeStudyDescription(const Prepared& p, const BodyPartTerm* term, Verdict& v) {
  Check& c = v.checks[kBodyPart];
  c.slice = p.description;
  if (p.words.empty()) {
    c.note = "the slice has neither BodyPartExamined nor a StudyDescription";
    return;
  }
  const auto terms = bodyPartTerms();
  if (containsPhrase(p.words, c.network) || (term != nullptr && p.termNamed[termIndex(term)] != 0)) {
    c.passed = true;
    v.rule = MatchRule::StudyDescriptionWord;
    const std::string_view word =
        containsPhrase(p.words, c.network) ? std::string_view(c.network) : namedIn(*term, p.words);
    c.note = "the StudyDescription names " + std::string(word);
    return;
  }
  if (term != nullptr && p.relatedNamed[termIndex(term)] != 0) {
    c.passed = true;
    v.rule = MatchRule::StudyDescriptionRelated;
    for (std::size_t j = 0; j < terms.size(); ++j) {
      if (p.termNamed[j] == 0 || !related(*term, terms[j])) continue;
      c.note = "the StudyDescription names " + std::string(namedIn(terms[j], p.words)) +
               (terms[j].region == term->code ? ", part of " : ", which contains ") + std::string(term->code);
      break;
    }
    return;
  }
  c.note = "no word of the StudyDescription names " + c.network + (term != nullptr ? " or a synonym" : "");
}

Verdict judge(const Prepared& p, const SliceQuery& slice, const Candidate& candidate) {
  Verdict v;
  v.studyDescriptionUsed = p.useDescription;
  for (std::size_t i = 0; i < v.checks.size(); ++i) v.checks[i].criterion = static_cast<Criterion>(i);

  Check& modality = v.checks[kModality];
  modality.slice = p.modality;
  modality.network = normaliseLabel(candidate.modality);
  modality.passed = !p.modality.empty() && p.modality == modality.network;

  Check& samples = v.checks[kSamples];
  samples.slice = std::to_string(slice.samplesPerPixel);
  if (candidate.samplesPerPixel) {
    samples.network = std::to_string(*candidate.samplesPerPixel);
    samples.passed = *candidate.samplesPerPixel == slice.samplesPerPixel;
  } else {
    samples.passed = true;
    samples.note = "not returned by the PACS: checked on the retrieved object";
  }

  Check& bodyPart = v.checks[kBodyPart];
  bodyPart.network = normaliseLabel(candidate.bodyPartExamined);
  if (bodyPart.network.empty()) {
    bodyPart.slice = p.useDescription ? p.description : p.bodyPart;
    bodyPart.note = "the network has no BodyPartExamined";
  } else {
    const BodyPartTerm* term = findBodyPart(bodyPart.network);
    if (p.useDescription) {
      judgeStudyDescription(p, term, v);
    } else {
      judgeBodyPartExamined(p, term, v);
    }
  }

  for (const auto& check : v.checks) {
    if (!check.passed) {
      v.failed = check.criterion;
      break;
    }
  }
  v.refusal = candidate.refusal;
  v.matched = !v.failed.has_value() && v.refusal.empty();
  if (!v.matched) v.rule = MatchRule::None;
  return v;
}

/// Why one match is preferred to another: the keys in the order they are compared.
enum class TieBreak : std::uint8_t { Rule, Specificity, SamplesKnown, Version, ContentDateTime, DnnUid, SopUid, None };

struct RankKey {
  std::size_t index{0};
  MatchRule rule{MatchRule::None};
  BodyPartLevel level{BodyPartLevel::Part};
  bool samplesKnown{false};
  std::string_view version;
  std::string stamp;  ///< content date and time, comparable as text; "" is the oldest
  std::string_view dnnUid;
  std::string_view sopInstanceUid;
};

/// Date and time as one comparable text: the date's digits, then the time's digits padded to
/// HHMMSS, then its fraction. Empty when there is no date.
std::string contentStamp(std::string_view date, std::string_view time) {
  std::string out;
  for (const char c : trim(date)) {
    if (c >= '0' && c <= '9') out.push_back(c);
  }
  if (out.empty()) return out;
  out.push_back('T');
  time = trim(time);
  const auto dot = time.find('.');
  std::string hms;
  for (const char c : time.substr(0, dot)) {
    if (c >= '0' && c <= '9') hms.push_back(c);
  }
  hms.resize(std::max<std::size_t>(hms.size(), 6), '0');
  out += hms;
  if (dot != std::string_view::npos) out += time.substr(dot);
  return out;
}

RankKey keyFor(std::size_t index, const Verdict& v, const Candidate& c) {
  RankKey k;
  k.index = index;
  k.rule = v.rule;
  const auto* term = findBodyPart(v.checks[kBodyPart].network);
  k.level = term != nullptr ? term->level : BodyPartLevel::Part;
  k.samplesKnown = c.samplesPerPixel.has_value();
  k.version = trim(c.version);
  k.stamp = contentStamp(c.contentDate, c.contentTime);
  k.dnnUid = trim(c.dnnUid);
  k.sopInstanceUid = trim(c.sopInstanceUid);
  return k;
}

int sign(int v) noexcept {
  return (v > 0) - (v < 0);
}

/// Negative when @p a is preferred, with the key that decided.
std::pair<int, TieBreak> compareKeys(const RankKey& a, const RankKey& b) noexcept {
  if (a.rule != b.rule) return {a.rule < b.rule ? -1 : 1, TieBreak::Rule};
  if (a.level != b.level) return {a.level == BodyPartLevel::Part ? -1 : 1, TieBreak::Specificity};
  if (a.samplesKnown != b.samplesKnown) return {a.samplesKnown ? -1 : 1, TieBreak::SamplesKnown};
  if (const int v = compareVersions(a.version, b.version); v != 0) return {-sign(v), TieBreak::Version};
  if (const int t = a.stamp.compare(b.stamp); t != 0) return {-sign(t), TieBreak::ContentDateTime};
  if (const int u = a.dnnUid.compare(b.dnnUid); u != 0) return {sign(u), TieBreak::DnnUid};
  if (const int s = a.sopInstanceUid.compare(b.sopInstanceUid); s != 0) return {sign(s), TieBreak::SopUid};
  return {0, TieBreak::None};
}

std::string lostNote(const RankKey& best, const RankKey& k, const Verdict& bestVerdict, const Verdict& v) {
  const std::string to = "lost to #" + std::to_string(best.index);
  switch (compareKeys(best, k).second) {
    case TieBreak::Rule:
      return to + ": " + std::string(toString(best.rule)) + " is more specific than " + std::string(toString(k.rule));
    case TieBreak::Specificity:
      return to + ": a network for a part (" + bestVerdict.checks[kBodyPart].network + ") before one for a region (" +
             v.checks[kBodyPart].network + ")";
    case TieBreak::SamplesKnown: return to + ": its SamplesPerPixel is known, this one's is not";
    case TieBreak::Version: return to + " on version (" + shown(best.version) + " newer than " + shown(k.version) + ")";
    case TieBreak::ContentDateTime:
      return to + " on content date/time (" + shown(best.stamp) + " newer than " + shown(k.stamp) + ")";
    case TieBreak::DnnUid:
      return to + " on DnnUID (" + std::string(best.dnnUid) + " before " + std::string(k.dnnUid) + ")";
    case TieBreak::SopUid:
      return to + " on SOP Instance UID (" + std::string(best.sopInstanceUid) + " before " +
             std::string(k.sopInstanceUid) + ")";
    case TieBreak::None: break;
  }
  return to + ": the same network";
}

std::string_view criterionLabel(const Verdict& v, const Check& c) noexcept {
  if (c.criterion == Criterion::BodyPart) return v.studyDescriptionUsed ? "StudyDescription" : "BodyPartExamined";
  return toString(c.criterion);
}

std::string describeCheck(const Verdict& v, const Check& c) {
  const bool text = c.criterion == Criterion::BodyPart && v.studyDescriptionUsed && !c.slice.empty();
  std::string out = std::string(criterionLabel(v, c)) + ": slice " + (text ? inQuotes(c.slice) : shown(c.slice)) +
                    ", network " + shown(c.network);
  if (!c.note.empty()) out += " (" + c.note + ")";
  return out;
}

std::string candidateLabel(const Candidate& c, std::size_t index) {
  std::string out = "#" + std::to_string(index);
  if (!c.name.empty()) out += " " + c.name;
  if (!c.version.empty()) out += " " + c.version;
  // a PACS candidate's DnnUID is known only once retrieved: name it by its SOP Instance UID then
  out += c.dnnUid.empty() && !c.sopInstanceUid.empty() ? " (SOP Instance " + c.sopInstanceUid
                                                       : " (DnnUID " + shown(c.dnnUid);
  if (!c.source.empty()) out += ", " + c.source;
  return out + ")";
}

}  // namespace

SliceQuery SliceQuery::from(const iod::SliceAttributes& slice) {
  return SliceQuery{slice.modality, slice.bodyPartExamined, slice.studyDescription, slice.samplesPerPixel,
                    slice.photometricInterpretation};
}

Candidate Candidate::from(const iod::IodeepModel& model, std::string source) {
  Candidate c;
  c.dnnUid = model.dnnUid;
  c.sopInstanceUid = model.sopInstanceUid;
  c.seriesInstanceUid = model.seriesInstanceUid;
  c.studyInstanceUid = model.studyInstanceUid;
  c.name = model.name;
  c.version = model.version;
  c.modality = model.target.modality;
  c.bodyPartExamined = model.target.bodyPartExamined;
  c.samplesPerPixel = model.target.samplesPerPixel;
  c.photometricInterpretation = model.target.photometricInterpretation;
  c.contentDate = model.contentDate;
  c.contentTime = model.contentTime;
  if (model.weights.size() > 0) c.sizeBytes = model.weights.size();
  c.source = std::move(source);
  return c;
}

int Selection::exitCode() const noexcept {
  return chosen ? kExitOk : kExitNoMatch;
}

std::optional<std::size_t> selectPaper(const SliceQuery& slice, std::span<const Candidate> candidates) {
  const bool useDescription = slice.bodyPartExamined.empty();
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    const Candidate& c = candidates[i];
    if (c.modality != slice.modality) continue;
    if (!c.samplesPerPixel || *c.samplesPerPixel != slice.samplesPerPixel) continue;
    if (useDescription) {
      if (slice.studyDescription.find(c.bodyPartExamined) == std::string::npos) continue;
    } else if (c.bodyPartExamined != slice.bodyPartExamined) {
      continue;
    }
    return i;
  }
  return std::nullopt;
}

namespace {

// The matches of out.verdicts ranked (their rank and note set), the choice made.
void rank(Selection& out, std::span<const Candidate> candidates) {
  std::vector<RankKey> keys;
  for (std::size_t i = 0; i < out.verdicts.size(); ++i) {
    Verdict& v = out.verdicts[i];
    if (!v.matched) continue;
    v.rank.reset();
    v.note.clear();
    keys.push_back(keyFor(i, v, candidates[i]));
  }
  std::ranges::sort(keys, [](const RankKey& a, const RankKey& b) { return compareKeys(a, b).first < 0; });
  out.ranking.clear();
  out.chosen.reset();
  out.rule = MatchRule::None;
  out.ranking.reserve(keys.size());
  for (std::size_t r = 0; r < keys.size(); ++r) {
    Verdict& v = out.verdicts[keys[r].index];
    v.rank = r;
    if (r > 0) v.note = lostNote(keys[0], keys[r], out.verdicts[keys[0].index], v);
    out.ranking.push_back(keys[r].index);
  }
  if (!keys.empty()) {
    out.chosen = keys[0].index;
    out.rule = keys[0].rule;
  }
}

}  // namespace

Selection select(const SliceQuery& slice, std::span<const Candidate> candidates) {
  const Prepared prepared = prepare(slice);
  Selection out;
  out.verdicts.reserve(candidates.size());
  for (const auto& candidate : candidates) out.verdicts.push_back(judge(prepared, slice, candidate));
  rank(out, candidates);
  return out;
}

Selection reselect(const SliceQuery& slice, std::span<const Candidate> candidates, Selection previous,
                   std::span<const std::size_t> changed) {
  if (previous.verdicts.size() != candidates.size()) return select(slice, candidates);
  const Prepared prepared = prepare(slice);
  for (const std::size_t i : changed) {
    if (i < candidates.size()) previous.verdicts[i] = judge(prepared, slice, candidates[i]);
  }
  rank(previous, candidates);
  return previous;
}

std::string describe(const Verdict& verdict) {
  if (verdict.matched) {
    std::string out = std::string(verdict.rank == std::size_t{0} ? "chosen: " : "matched: ") +
                      std::string(toString(verdict.rule)) + " (" + describeCheck(verdict, verdict.checks[kBodyPart]);
    if (!verdict.checks[kSamples].note.empty()) out += "; SamplesPerPixel " + verdict.checks[kSamples].note;
    out += ")";
    if (!verdict.note.empty()) out += "; " + verdict.note;
    return out;
  }
  std::string out = "rejected: ";
  bool first = true;
  if (!verdict.refusal.empty()) {
    out += verdict.refusal;
    first = false;
  }
  for (const auto& check : verdict.checks) {
    if (check.passed) continue;
    if (!first) out += "; ";
    first = false;
    out += describeCheck(verdict, check);
  }
  return out;
}

std::string explain(const Selection& selection, const SliceQuery& slice, std::span<const Candidate> candidates,
                    std::size_t maxListed) {
  std::string out = "slice: Modality " + shown(trim(slice.modality)) + ", ";
  if (normaliseLabel(slice.bodyPartExamined).empty()) {
    out += "BodyPartExamined (empty), so StudyDescription " + inQuotes(trim(slice.studyDescription));
  } else {
    out += "BodyPartExamined " + std::string(trim(slice.bodyPartExamined));
  }
  out += ", SamplesPerPixel " + std::to_string(slice.samplesPerPixel);
  if (!trim(slice.photometricInterpretation).empty()) {
    out += ", PhotometricInterpretation " + std::string(trim(slice.photometricInterpretation));
  }
  out += "\n";
  if (selection.chosen && *selection.chosen < candidates.size()) {
    out += "chosen: " + candidateLabel(candidates[*selection.chosen], *selection.chosen) + " by " +
           std::string(toString(selection.rule)) + "\n";
  } else {
    out += "no match: none of the " + std::to_string(candidates.size()) + " candidates matches the slice\n";
  }
  // Matches best first, then the rejected in the given order.
  std::vector<std::size_t> order = selection.ranking;
  for (std::size_t i = 0; i < selection.verdicts.size(); ++i) {
    if (!selection.verdicts[i].matched) order.push_back(i);
  }
  std::size_t listed = 0;
  for (const std::size_t i : order) {
    if (i >= candidates.size()) continue;
    if (listed == maxListed) {
      out += "  ... " + std::to_string(order.size() - listed) + " more\n";
      break;
    }
    out += "  " + candidateLabel(candidates[i], i) + ": " + describe(selection.verdicts[i]) + "\n";
    ++listed;
  }
  return out;
}

int compareVersions(std::string_view a, std::string_view b) noexcept {
  a = trim(a);
  b = trim(b);
  if (a.empty() || b.empty()) return static_cast<int>(!a.empty()) - static_cast<int>(!b.empty());
  const auto isDigit = [](char c) { return c >= '0' && c <= '9'; };
  const auto isAlpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  const auto skipV = [&](std::string_view& s) {
    if (s.size() > 1 && (s[0] == 'v' || s[0] == 'V') && isDigit(s[1])) s.remove_prefix(1);
  };
  skipV(a);
  skipV(b);
  // Next component: a run of digits or of letters; separators skipped. Empty at the end.
  const auto next = [&](std::string_view& s) {
    while (!s.empty() && !isDigit(s[0]) && !isAlpha(s[0])) s.remove_prefix(1);
    std::size_t n = 0;
    if (!s.empty()) {
      const bool digits = isDigit(s[0]);
      while (n < s.size() && (digits ? isDigit(s[n]) : isAlpha(s[n]))) ++n;
    }
    const std::string_view token = s.substr(0, n);
    s.remove_prefix(n);
    return token;
  };
  const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
  for (;;) {
    std::string_view x = next(a);
    std::string_view y = next(b);
    if (x.empty() && y.empty()) return 0;
    // A missing component: a number after it is newer (1.0.1 > 1.0), a word older (1.0rc1 < 1.0).
    if (x.empty()) return isDigit(y[0]) ? -1 : 1;
    if (y.empty()) return isDigit(x[0]) ? 1 : -1;
    const bool xn = isDigit(x[0]);
    const bool yn = isDigit(y[0]);
    if (xn != yn) return xn ? 1 : -1;
    if (xn) {
      while (x.size() > 1 && x[0] == '0') x.remove_prefix(1);
      while (y.size() > 1 && y[0] == '0') y.remove_prefix(1);
      if (x.size() != y.size()) return x.size() < y.size() ? -1 : 1;
      if (const int c = x.compare(y); c != 0) return sign(c);
    } else {
      for (std::size_t i = 0; i < std::min(x.size(), y.size()); ++i) {
        if (lower(x[i]) != lower(y[i])) return lower(x[i]) < lower(y[i]) ? -1 : 1;
      }
      if (x.size() != y.size()) return x.size() < y.size() ? -1 : 1;
    }
  }
}

std::string_view toString(MatchRule rule) noexcept {
  switch (rule) {
    case MatchRule::None: return "None";
    case MatchRule::BodyPartExact: return "BodyPartExact";
    case MatchRule::BodyPartSynonym: return "BodyPartSynonym";
    case MatchRule::BodyPartRelated: return "BodyPartRelated";
    case MatchRule::StudyDescriptionWord: return "StudyDescriptionWord";
    case MatchRule::StudyDescriptionRelated: return "StudyDescriptionRelated";
  }
  return "None";
}

std::string_view toString(Criterion criterion) noexcept {
  switch (criterion) {
    case Criterion::Modality: return "Modality";
    case Criterion::SamplesPerPixel: return "SamplesPerPixel";
    case Criterion::BodyPart: return "BodyPart";
  }
  return "BodyPart";
}

}  // namespace iodeep::selector
