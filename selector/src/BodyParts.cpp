#include "iodeep/selector/BodyParts.hpp"

#include <algorithm>
#include <array>

namespace iodeep::selector {
namespace {

using enum BodyPartLevel;

// The synonym table (docs/selection.md, "Body-part synonyms"). Codes are DICOM PS3.16 CID 4031
// body-part code strings; a region's parts name it in `region`. Parts of one region are not
// synonyms of each other.
constexpr auto kTerms = [] {
  std::array<BodyPartTerm, 27> t{{
      {"HEAD", "", Region},        {"BRAIN", "HEAD", Part},
      {"SKULL", "HEAD", Part},     {"NECK", "", Region},
      {"THYROID", "NECK", Part},   {"CHEST", "", Region},
      {"LUNG", "CHEST", Part},     {"HEART", "CHEST", Part},
      {"ABDOMEN", "", Region},     {"LIVER", "ABDOMEN", Part},
      {"KIDNEY", "ABDOMEN", Part}, {"PANCREAS", "ABDOMEN", Part},
      {"SPLEEN", "ABDOMEN", Part}, {"STOMACH", "ABDOMEN", Part},
      {"PELVIS", "", Region},      {"PROSTATE", "PELVIS", Part},
      {"BLADDER", "PELVIS", Part}, {"UTERUS", "PELVIS", Part},
      {"SPINE", "", Region},       {"CSPINE", "SPINE", Part},
      {"TSPINE", "SPINE", Part},   {"LSPINE", "SPINE", Part},
      {"SSPINE", "SPINE", Part},   {"BREAST", "", Part},
      {"KNEE", "", Part},          {"HIP", "", Part},
      {"SHOULDER", "", Part},
  }};
  std::ranges::sort(t, {}, &BodyPartTerm::code);
  return t;
}();

// Other names of the same anatomy, normalised (normaliseLabel). Deliberately absent: "THORACIC"
// (THORACIC SPINE is not the chest), "CERVICAL" (cervix or cervical spine), "CRANIAL".
constexpr auto kAliases = [] {
  std::array<BodyPartAlias, 32> a{{
      {"CRANIUM", "SKULL"},
      {"CEREBRUM", "BRAIN"},
      {"ENCEPHALON", "BRAIN"},
      {"THORAX", "CHEST"},
      {"LUNGS", "LUNG"},
      {"PULMONARY", "LUNG"},
      {"CARDIAC", "HEART"},
      {"ABD", "ABDOMEN"},
      {"ABDOMINAL", "ABDOMEN"},
      {"HEPATIC", "LIVER"},
      {"KIDNEYS", "KIDNEY"},
      {"RENAL", "KIDNEY"},
      {"PANCREATIC", "PANCREAS"},
      {"PELVIC", "PELVIS"},
      {"URINARY BLADDER", "BLADDER"},
      {"WHOLE SPINE", "SPINE"},
      {"C SPINE", "CSPINE"},
      {"CERVICAL SPINE", "CSPINE"},
      {"T SPINE", "TSPINE"},
      {"THORACIC SPINE", "TSPINE"},
      {"DORSAL SPINE", "TSPINE"},
      {"L SPINE", "LSPINE"},
      {"LUMBAR SPINE", "LSPINE"},
      {"LUMBAR", "LSPINE"},
      {"S SPINE", "SSPINE"},
      {"SACRUM", "SSPINE"},
      {"BREASTS", "BREAST"},
      {"MAMMA", "BREAST"},
      {"MAMMO", "BREAST"},
      {"MAMMOGRAPHY", "BREAST"},
      {"KNEES", "KNEE"},
      {"THYROID GLAND", "THYROID"},
  }};
  std::ranges::sort(a, {}, &BodyPartAlias::name);
  return a;
}();

constexpr const BodyPartTerm* findCode(std::string_view code) noexcept {
  const auto* it = std::ranges::lower_bound(kTerms, code, {}, &BodyPartTerm::code);
  return it != kTerms.end() && it->code == code ? it : nullptr;
}

constexpr bool tableIsConsistent() {
  for (const auto& t : kTerms) {
    if (!t.region.empty() && (findCode(t.region) == nullptr || findCode(t.region)->level != Region)) return false;
  }
  for (std::size_t i = 0; i < kAliases.size(); ++i) {
    if (findCode(kAliases[i].code) == nullptr || findCode(kAliases[i].name) != nullptr) return false;
    if (i > 0 && kAliases[i - 1].name == kAliases[i].name) return false;
  }
  for (std::size_t i = 1; i < kTerms.size(); ++i) {
    if (kTerms[i - 1].code == kTerms[i].code) return false;
  }
  return true;
}
static_assert(tableIsConsistent(), "every region exists, every alias names a term, no name twice");

constexpr bool isWordChar(char c) noexcept {
  const auto u = static_cast<unsigned char>(c);
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || u >= 0x80;
}

constexpr char upper(char c) noexcept {
  return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
}

}  // namespace

std::span<const BodyPartTerm> bodyPartTerms() noexcept {
  return kTerms;
}
std::span<const BodyPartAlias> bodyPartAliases() noexcept {
  return kAliases;
}

std::string normaliseLabel(std::string_view label) {
  std::string out;
  out.reserve(label.size());
  bool gap = false;
  for (const char c : label) {
    if (!isWordChar(c)) {
      gap = true;
      continue;
    }
    if (gap && !out.empty()) out.push_back(' ');
    gap = false;
    out.push_back(upper(c));
  }
  return out;
}

const BodyPartTerm* findBodyPart(std::string_view label) noexcept {
  // Labels in the table are short; normalise on the stack when the input is already short.
  std::array<char, 32> buffer{};
  std::size_t n = 0;
  bool gap = false;
  for (const char c : label) {
    if (!isWordChar(c)) {
      gap = true;
      continue;
    }
    if (n + 2 > buffer.size()) return nullptr;  // longer than any name in the table
    if (gap && n > 0) buffer[n++] = ' ';
    gap = false;
    buffer[n++] = upper(c);
  }
  const std::string_view name(buffer.data(), n);
  if (const auto* term = findCode(name)) return term;
  const auto* alias = std::ranges::lower_bound(kAliases, name, {}, &BodyPartAlias::name);
  if (alias != kAliases.end() && alias->name == name) return findCode(alias->code);
  return nullptr;
}

BodyPartRelation relateBodyParts(std::string_view slice, std::string_view network) {
  const std::string s = normaliseLabel(slice);
  const std::string n = normaliseLabel(network);
  if (s.empty() || n.empty()) return BodyPartRelation::Unrelated;
  if (s == n) return BodyPartRelation::Same;
  const auto* ts = findBodyPart(s);
  const auto* tn = findBodyPart(n);
  if (ts == nullptr || tn == nullptr) return BodyPartRelation::Unrelated;
  if (ts == tn) return BodyPartRelation::Synonym;
  if (ts->region == tn->code) return BodyPartRelation::Broader;
  if (tn->region == ts->code) return BodyPartRelation::Narrower;
  return BodyPartRelation::Unrelated;
}

std::vector<std::string> textWords(std::string_view text) {
  std::vector<std::string> words;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && !isWordChar(text[i])) ++i;
    std::string word;
    while (i < text.size() && isWordChar(text[i])) word.push_back(upper(text[i++]));
    if (!word.empty()) words.push_back(std::move(word));
  }
  return words;
}

bool containsPhrase(std::span<const std::string> words, std::string_view phrase) noexcept {
  if (phrase.empty()) return false;
  for (std::size_t start = 0; start < words.size(); ++start) {
    std::string_view rest = phrase;
    std::size_t w = start;
    while (w < words.size()) {
      const std::string_view head = rest.substr(0, rest.find(' '));
      if (words[w] != head) break;
      ++w;
      if (head.size() == rest.size()) return true;
      rest.remove_prefix(head.size() + 1);
    }
  }
  return false;
}

}  // namespace iodeep::selector
