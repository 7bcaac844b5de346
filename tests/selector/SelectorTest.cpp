#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "iodeep/iod/Error.hpp"
#include "iodeep/selector/BodyParts.hpp"
#include "iodeep/selector/Selector.hpp"

using namespace iodeep;
using namespace iodeep::selector;

namespace {

Candidate net(std::string dnnUid, std::string modality, std::string bodyPart, std::uint16_t samples = 1,
              std::string version = "1.0") {
  Candidate c;
  c.dnnUid = std::move(dnnUid);
  c.sopInstanceUid = c.dnnUid + ".1";
  c.name = "net-" + c.dnnUid;
  c.version = std::move(version);
  c.modality = std::move(modality);
  c.bodyPartExamined = std::move(bodyPart);
  c.samplesPerPixel = samples;
  c.photometricInterpretation = samples == 3 ? "RGB" : "MONOCHROME2";
  c.contentDate = "20260101";
  c.contentTime = "120000";
  return c;
}

SliceQuery slice(std::string modality, std::string bodyPart, std::string description = {}, std::uint16_t samples = 1) {
  return SliceQuery{std::move(modality), std::move(bodyPart), std::move(description), samples, "MONOCHROME2"};
}

std::string chosenUid(const Selection& s, const std::vector<Candidate>& c) {
  return s.chosen ? c.at(*s.chosen).dnnUid : std::string("(none)");
}

}  // namespace

// --- the paper's Algorithm 1, as published ---------------------------------------------------

TEST(SelectPaper, FirstCandidateWithEqualModalitySamplesAndBodyPartWins) {
  const std::vector<Candidate> c = {net("1", "CT", "HEAD"), net("2", "MR", "HEAD", 3), net("3", "MR", "KNEE"),
                                    net("4", "MR", "HEAD"), net("5", "MR", "HEAD")};
  EXPECT_EQ(selectPaper(slice("MR", "HEAD"), c), 3U);
  // first match wins: the order of the list decides, not the networks
  const std::vector<Candidate> reversed(c.rbegin(), c.rend());
  EXPECT_EQ(selectPaper(slice("MR", "HEAD"), reversed), 0U);
  EXPECT_EQ(selectPaper(slice("MR", "CHEST"), c), std::nullopt);
}

TEST(SelectPaper, EmptyBodyPartUsesStudyDescriptionAsSubstring) {
  const std::vector<Candidate> c = {net("1", "MR", "KNEE"), net("2", "MR", "HEAD")};
  EXPECT_EQ(selectPaper(slice("MR", "", "MRI HEAD W/O"), c), 1U);
  EXPECT_EQ(selectPaper(slice("MR", "", "MRI SPINE"), c), std::nullopt);
  // with a body part, the description is ignored
  EXPECT_EQ(selectPaper(slice("MR", "SPINE", "MRI HEAD"), c), std::nullopt);
}

TEST(SelectPaper, KeepsThePublishedPitfalls) {
  // byte-wise and case-sensitive, a substring anywhere, and an unknown SamplesPerPixel never equal
  EXPECT_EQ(selectPaper(slice("MR", "Head"), std::vector{net("1", "MR", "HEAD")}), std::nullopt);
  EXPECT_EQ(selectPaper(slice("MR ", "HEAD"), std::vector{net("1", "MR", "HEAD")}), std::nullopt);
  EXPECT_EQ(selectPaper(slice("CR", "", "PHARMACY"), std::vector{net("1", "CR", "ARM")}), 0U);
  EXPECT_EQ(selectPaper(slice("CR", "", "ANY"), std::vector{net("1", "CR", "")}), 0U);
  auto unknown = net("1", "MR", "HEAD");
  unknown.samplesPerPixel.reset();
  EXPECT_EQ(selectPaper(slice("MR", "HEAD"), std::vector{unknown}), std::nullopt);
}

// --- normalisation and the synonym table -----------------------------------------------------

TEST(BodyParts, NormaliseIgnoresCaseSeparatorsAndPadding) {
  EXPECT_EQ(normaliseLabel(" c_spine "), "C SPINE");
  EXPECT_EQ(normaliseLabel("C-Spine"), "C SPINE");
  EXPECT_EQ(normaliseLabel("head\t"), "HEAD");
  EXPECT_EQ(normaliseLabel("  "), "");
  EXPECT_EQ(relateBodyParts("head ", " HEAD"), BodyPartRelation::Same);
}

TEST(BodyParts, TableIsSortedAndEveryNameIsFound) {
  const auto terms = bodyPartTerms();
  ASSERT_GE(terms.size(), 20U);
  EXPECT_TRUE(std::ranges::is_sorted(terms, {}, &BodyPartTerm::code));
  for (const auto& t : terms) {
    EXPECT_EQ(findBodyPart(t.code), &t) << t.code;
    EXPECT_EQ(normaliseLabel(t.code), t.code);
  }
  for (const auto& a : bodyPartAliases()) {
    ASSERT_NE(findBodyPart(a.name), nullptr) << a.name;
    EXPECT_EQ(findBodyPart(a.name)->code, a.code) << a.name;
    EXPECT_EQ(normaliseLabel(a.name), a.name);
  }
  EXPECT_EQ(findBodyPart("PHANTOM"), nullptr);
}

TEST(BodyParts, EveryRelationIsSymmetric) {
  const auto mirror = [](BodyPartRelation r) {
    if (r == BodyPartRelation::Broader) return BodyPartRelation::Narrower;
    if (r == BodyPartRelation::Narrower) return BodyPartRelation::Broader;
    return r;
  };
  std::vector<std::string_view> names;
  for (const auto& t : bodyPartTerms()) names.push_back(t.code);
  for (const auto& a : bodyPartAliases()) names.push_back(a.name);
  for (const auto a : names) {
    for (const auto b : names) EXPECT_EQ(relateBodyParts(a, b), mirror(relateBodyParts(b, a))) << a << " / " << b;
  }
}

struct Family {
  std::string region;
  std::vector<std::string> regionNames;         // the region's code and aliases
  std::vector<std::vector<std::string>> parts;  // each part: its code, then aliases
};

TEST(BodyParts, EachFamilyRelatesRegionAndPartsButNotSiblings) {
  const std::vector<Family> families = {
      {"HEAD", {"HEAD"}, {{"BRAIN", "CEREBRUM", "ENCEPHALON"}, {"SKULL", "CRANIUM"}}},
      {"NECK", {"NECK"}, {{"THYROID", "THYROID GLAND"}}},
      {"CHEST", {"CHEST", "THORAX"}, {{"LUNG", "LUNGS", "PULMONARY"}, {"HEART", "CARDIAC"}}},
      {"ABDOMEN",
       {"ABDOMEN", "ABD", "ABDOMINAL"},
       {{"LIVER", "HEPATIC"}, {"KIDNEY", "KIDNEYS", "RENAL"}, {"PANCREAS", "PANCREATIC"}, {"SPLEEN"}, {"STOMACH"}}},
      {"PELVIS", {"PELVIS", "PELVIC"}, {{"PROSTATE"}, {"BLADDER", "URINARY BLADDER"}, {"UTERUS"}}},
      {"SPINE",
       {"SPINE", "WHOLE SPINE"},
       {{"CSPINE", "C SPINE", "CERVICAL SPINE"},
        {"TSPINE", "T SPINE", "THORACIC SPINE", "DORSAL SPINE"},
        {"LSPINE", "L SPINE", "LUMBAR SPINE", "LUMBAR"},
        {"SSPINE", "S SPINE", "SACRUM"}}},
      {"BREAST", {"BREAST", "BREASTS", "MAMMA", "MAMMO", "MAMMOGRAPHY"}, {}},
      {"KNEE", {"KNEE", "KNEES"}, {}},
  };
  for (const auto& f : families) {
    for (const auto& a : f.regionNames) {
      for (const auto& b : f.regionNames) {
        EXPECT_EQ(relateBodyParts(a, b), a == b ? BodyPartRelation::Same : BodyPartRelation::Synonym) << a << "/" << b;
      }
    }
    for (std::size_t p = 0; p < f.parts.size(); ++p) {
      for (const auto& name : f.parts[p]) {
        for (const auto& region : f.regionNames) {
          EXPECT_EQ(relateBodyParts(name, region), BodyPartRelation::Broader) << name << " in " << region;
          EXPECT_EQ(relateBodyParts(region, name), BodyPartRelation::Narrower) << region << " has " << name;
        }
        for (const auto& alias : f.parts[p]) {
          if (alias != name) {
            EXPECT_EQ(relateBodyParts(name, alias), BodyPartRelation::Synonym) << name << "/" << alias;
          }
        }
        for (std::size_t q = 0; q < f.parts.size(); ++q) {
          if (q != p) {
            EXPECT_EQ(relateBodyParts(name, f.parts[q].front()), BodyPartRelation::Unrelated)
                << name << " / " << f.parts[q].front();
          }
        }
      }
    }
  }
  // across families
  EXPECT_EQ(relateBodyParts("HEAD", "CHEST"), BodyPartRelation::Unrelated);
  EXPECT_EQ(relateBodyParts("THORACIC SPINE", "THORAX"), BodyPartRelation::Unrelated);
  EXPECT_EQ(relateBodyParts("LUNG", "ABDOMEN"), BodyPartRelation::Unrelated);
  EXPECT_EQ(relateBodyParts("PHANTOM", "HEAD"), BodyPartRelation::Unrelated);
  EXPECT_EQ(relateBodyParts("", ""), BodyPartRelation::Unrelated);
}

TEST(BodyParts, PhrasesMatchWholeWordsOnly) {
  EXPECT_EQ(textWords("MRI head w/o"), (std::vector<std::string>{"MRI", "HEAD", "W", "O"}));
  const auto words = textWords("MR C-SPINE, pharmacy; BRAINSTEM");
  EXPECT_TRUE(containsPhrase(words, "C SPINE"));
  EXPECT_TRUE(containsPhrase(words, "SPINE"));
  EXPECT_TRUE(containsPhrase(words, "MR C"));
  EXPECT_FALSE(containsPhrase(words, "ARM"));
  EXPECT_FALSE(containsPhrase(words, "BRAIN"));
  EXPECT_FALSE(containsPhrase(words, "SPINE PHARMACY BRAIN"));
  EXPECT_FALSE(containsPhrase(words, "C SPINE X"));
  EXPECT_FALSE(containsPhrase(words, ""));
  EXPECT_FALSE(containsPhrase({}, "HEAD"));
}

// --- the robust selection -------------------------------------------------------------------

TEST(Select, IgnoresCaseAndWhitespace) {
  const std::vector<Candidate> c = {net("1", "MR", "HEAD")};
  const auto s = select(slice(" mr ", "head "), c);
  ASSERT_TRUE(s.matched());
  EXPECT_EQ(s.rule, MatchRule::BodyPartExact);
  const auto spine = select(slice("MR", "c_spine"), std::vector{net("2", "mr", "C-Spine")});
  ASSERT_TRUE(spine.matched());
  EXPECT_EQ(spine.rule, MatchRule::BodyPartExact);
}

TEST(Select, SynonymAndRelatedBodyParts) {
  EXPECT_EQ(select(slice("CT", "THORAX"), std::vector{net("1", "CT", "CHEST")}).rule, MatchRule::BodyPartSynonym);
  EXPECT_EQ(select(slice("CT", "CRANIUM"), std::vector{net("1", "CT", "skull")}).rule, MatchRule::BodyPartSynonym);
  EXPECT_EQ(select(slice("MR", "BRAIN"), std::vector{net("1", "MR", "HEAD")}).rule, MatchRule::BodyPartRelated);
  EXPECT_EQ(select(slice("MR", "HEAD"), std::vector{net("1", "MR", "BRAIN")}).rule, MatchRule::BodyPartRelated);
  const auto siblings = select(slice("CT", "LIVER"), std::vector{net("1", "CT", "KIDNEY")});
  ASSERT_FALSE(siblings.matched());
  EXPECT_EQ(siblings.verdicts[0].failed, Criterion::BodyPart);
  EXPECT_NE(siblings.verdicts[0].checks[2].note.find("different parts of ABDOMEN"), std::string::npos);
}

TEST(Select, StudyDescriptionMatchesWholeWordsAndSynonyms) {
  const auto one = [](std::string description, std::string bodyPart) {
    return select(slice("MR", "", std::move(description)), std::vector{net("1", "MR", std::move(bodyPart))});
  };
  EXPECT_EQ(one("MRI HEAD W/O", "HEAD").rule, MatchRule::StudyDescriptionWord);
  EXPECT_EQ(one("Brain MRI", "brain").rule, MatchRule::StudyDescriptionWord);
  EXPECT_EQ(one("MR C-SPINE", "CSPINE").rule, MatchRule::StudyDescriptionWord);
  EXPECT_EQ(one("cervical spine mri", "CSPINE").rule, MatchRule::StudyDescriptionWord);
  EXPECT_EQ(one("CT THORAX", "CHEST").rule, MatchRule::StudyDescriptionWord);
  EXPECT_EQ(one("MR LUMBAR SPINE", "L SPINE").rule, MatchRule::StudyDescriptionWord);
  EXPECT_EQ(one("CT HEAD", "BRAIN").rule, MatchRule::StudyDescriptionRelated);
  EXPECT_EQ(one("MR BRAIN", "HEAD").rule, MatchRule::StudyDescriptionRelated);
  EXPECT_EQ(one("MR PHANTOM QA", "PHANTOM").rule, MatchRule::StudyDescriptionWord);
  const auto matched = one("MRI HEAD W/O", "HEAD");
  EXPECT_EQ(matched.verdicts[0].checks[2].slice, "MRI HEAD W/O");
  EXPECT_TRUE(matched.verdicts[0].studyDescriptionUsed);
}

TEST(Select, StudyDescriptionSubstringsDoNotMatch) {
  const auto one = [](std::string description, std::string bodyPart) {
    return select(slice("CR", "", std::move(description)), std::vector{net("1", "CR", std::move(bodyPart))});
  };
  EXPECT_FALSE(one("PHARMACY", "ARM").matched());
  EXPECT_FALSE(one("HEADACHE CLINIC", "HEAD").matched());
  EXPECT_FALSE(one("MR BRAINSTEM", "BRAIN").matched());
  EXPECT_FALSE(one("MR THORACIC SPINE", "CHEST").matched());
  EXPECT_FALSE(one("CT ABDOMEN", "KIDNEY_LEFT").matched());
  EXPECT_FALSE(one("", "HEAD").matched());
  EXPECT_FALSE(one("MRI HEAD", "").matched());  // the paper's "" matches everything; ours nothing
  const auto failed = one("HEADACHE CLINIC", "HEAD");
  EXPECT_EQ(failed.verdicts[0].failed, Criterion::BodyPart);
  EXPECT_EQ(describe(failed.verdicts[0]),
            "rejected: StudyDescription: slice \"HEADACHE CLINIC\", network HEAD (no word of the StudyDescription "
            "names HEAD or a synonym)");
}

TEST(Select, MostSpecificMatchWins) {
  // exact beats synonym beats related, whatever the versions say
  std::vector<Candidate> c = {net("1", "MR", "HEAD", 1, "9.0"), net("2", "MR", "BRAIN", 1, "1.0")};
  EXPECT_EQ(chosenUid(select(slice("MR", "BRAIN"), c), c), "2");
  c = {net("1", "CT", "LUNG", 1, "9.0"), net("2", "CT", "CHEST", 1, "1.0"), net("3", "CT", "THORAX", 1, "0.1")};
  auto s = select(slice("CT", "THORAX"), c);
  EXPECT_EQ(chosenUid(s, c), "3");
  EXPECT_EQ(s.ranking, (std::vector<std::size_t>{2, 1, 0}));
  EXPECT_EQ(s.verdicts[1].rule, MatchRule::BodyPartSynonym);
  EXPECT_EQ(s.verdicts[0].rule, MatchRule::BodyPartRelated);
  EXPECT_EQ(s.verdicts[1].note, "lost to #2: BodyPartExact is more specific than BodyPartSynonym");
  // in a description naming both, the network for the part beats the one for the region
  c = {net("1", "MR", "HEAD", 1, "9.0"), net("2", "MR", "BRAIN", 1, "1.0")};
  s = select(slice("MR", "", "MR HEAD/BRAIN"), c);
  EXPECT_EQ(chosenUid(s, c), "2");
  EXPECT_EQ(s.rule, MatchRule::StudyDescriptionWord);
  EXPECT_NE(s.verdicts[0].note.find("a network for a part (BRAIN)"), std::string::npos) << s.verdicts[0].note;
  // a word of the description beats a related word
  s = select(slice("MR", "", "MR BRAIN"), c);
  EXPECT_EQ(chosenUid(s, c), "2");
  // a confirmed SamplesPerPixel beats an unknown one
  c = {net("1", "MR", "HEAD", 1, "9.0"), net("2", "MR", "HEAD", 1, "1.0")};
  c[0].samplesPerPixel.reset();
  s = select(slice("MR", "HEAD"), c);
  EXPECT_EQ(chosenUid(s, c), "2");
  EXPECT_TRUE(s.verdicts[0].matched);
  EXPECT_EQ(s.verdicts[0].checks[1].network, "");
}

TEST(Select, VersionsCompareByNumericComponents) {
  EXPECT_GT(compareVersions("1.10", "1.9"), 0);
  EXPECT_LT(compareVersions("1.9", "1.10"), 0);
  EXPECT_EQ(compareVersions("01.2", "1.2"), 0);
  EXPECT_EQ(compareVersions("v1.2", "1.2"), 0);
  EXPECT_LT(compareVersions("1.0", "1.0.1"), 0);
  EXPECT_LT(compareVersions("1.0rc1", "1.0"), 0);
  EXPECT_LT(compareVersions("1.0-beta", "1.0.1"), 0);
  EXPECT_LT(compareVersions("1.0-alpha", "1.0-BETA"), 0);
  EXPECT_LT(compareVersions("", "0"), 0);
  EXPECT_GT(compareVersions("2", "1.99.99"), 0);
  EXPECT_GT(compareVersions("1.100000000000000000000", "1.99999999999999999999"), 0);
  EXPECT_EQ(compareVersions("", ""), 0);

  std::vector<Candidate> c = {net("1", "MR", "HEAD", 1, "1.9"), net("2", "MR", "HEAD", 1, "1.10"),
                              net("3", "MR", "HEAD", 1, "1.2")};
  const auto s = select(slice("MR", "HEAD"), c);
  EXPECT_EQ(chosenUid(s, c), "2");
  EXPECT_EQ(s.verdicts[0].note, "lost to #1 on version (1.10 newer than 1.9)");
  EXPECT_EQ(s.verdicts[0].rank, 1U);
  EXPECT_EQ(s.verdicts[2].rank, 2U);
}

TEST(Select, ThenContentDateTimeThenDnnUid) {
  std::vector<Candidate> c = {net("2.25.9", "MR", "HEAD"), net("2.25.5", "MR", "HEAD")};
  c[0].contentDate = "20260102";
  auto s = select(slice("MR", "HEAD"), c);
  EXPECT_EQ(chosenUid(s, c), "2.25.9");
  c[0].contentDate = c[1].contentDate;
  c[0].contentTime = "1300";  // HHMM: 13:00 is after 12:00:00
  s = select(slice("MR", "HEAD"), c);
  EXPECT_EQ(chosenUid(s, c), "2.25.9");
  c[0].contentTime = c[1].contentTime;
  s = select(slice("MR", "HEAD"), c);
  EXPECT_EQ(chosenUid(s, c), "2.25.5");
  EXPECT_EQ(s.verdicts[0].note, "lost to #1 on DnnUID (2.25.5 before 2.25.9)");
}

TEST(Select, ChoiceDoesNotDependOnCandidateOrder) {
  std::vector<Candidate> c;
  for (int i = 0; i < 24; ++i) {
    const std::string uid = "2.25." + std::to_string(1000 - i);
    c.push_back(net(uid, i % 3 == 0 ? "CT" : "MR", i % 2 == 0 ? "HEAD" : "BRAIN", 1, "1." + std::to_string(i % 4)));
    c.back().contentDate = "2026010" + std::to_string(1 + i % 2);
  }
  const auto first = select(slice("MR", "BRAIN"), c);
  ASSERT_TRUE(first.matched());
  std::vector<std::string> expected;
  for (const auto i : first.ranking) expected.push_back(c[i].dnnUid);
  std::mt19937 rng(7);
  for (int round = 0; round < 50; ++round) {
    std::ranges::shuffle(c, rng);
    const auto s = select(slice("MR", "BRAIN"), c);
    std::vector<std::string> ranking;
    for (const auto i : s.ranking) ranking.push_back(c[i].dnnUid);
    EXPECT_EQ(ranking, expected);
  }
}

TEST(Select, EveryCandidateGetsAVerdictNamingTheFailedCriterionAndValues) {
  std::vector<Candidate> c = {net("1", "CT", "HEAD"), net("2", "MR", "HEAD", 3), net("3", "MR", "KNEE"),
                              net("4", "CT", "KNEE", 3), net("5", "MR", "HEAD")};
  const auto s = select(slice("MR", "HEAD"), c);
  ASSERT_EQ(s.verdicts.size(), c.size());
  EXPECT_EQ(s.verdicts[0].failed, Criterion::Modality);
  EXPECT_EQ(s.verdicts[0].checks[0].slice, "MR");
  EXPECT_EQ(s.verdicts[0].checks[0].network, "CT");
  EXPECT_EQ(describe(s.verdicts[0]), "rejected: Modality: slice MR, network CT");
  EXPECT_EQ(s.verdicts[1].failed, Criterion::SamplesPerPixel);
  EXPECT_EQ(describe(s.verdicts[1]), "rejected: SamplesPerPixel: slice 1, network 3");
  EXPECT_EQ(s.verdicts[2].failed, Criterion::BodyPart);
  EXPECT_EQ(describe(s.verdicts[2]), "rejected: BodyPartExamined: slice HEAD, network KNEE");
  // all three criteria are evaluated; the first failure is named
  EXPECT_EQ(s.verdicts[3].failed, Criterion::Modality);
  EXPECT_EQ(describe(s.verdicts[3]),
            "rejected: Modality: slice MR, network CT; SamplesPerPixel: slice 1, network 3; BodyPartExamined: slice "
            "HEAD, network KNEE");
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_FALSE(s.verdicts[i].matched);
    EXPECT_EQ(s.verdicts[i].rule, MatchRule::None);
    EXPECT_FALSE(s.verdicts[i].rank.has_value());
  }
  EXPECT_TRUE(s.verdicts[4].matched);
  EXPECT_EQ(s.verdicts[4].rank, 0U);
  EXPECT_FALSE(s.verdicts[4].failed.has_value());
  EXPECT_EQ(describe(s.verdicts[4]), "chosen: BodyPartExact (BodyPartExamined: slice HEAD, network HEAD)");
  EXPECT_EQ(s.chosen, 4U);
  EXPECT_EQ(s.exitCode(), kExitOk);
}

TEST(Select, NoCandidatesIsNoMatch) {
  const auto s = select(slice("MR", "HEAD"), std::vector<Candidate>{});
  EXPECT_FALSE(s.matched());
  EXPECT_EQ(s.rule, MatchRule::None);
  EXPECT_TRUE(s.verdicts.empty());
  EXPECT_TRUE(s.ranking.empty());
  EXPECT_EQ(s.exitCode(), kExitNoMatch);
  EXPECT_EQ(s.exitCode(), 7);
  EXPECT_NE(explain(s, slice("MR", "HEAD"), {}).find("no match: none of the 0 candidates"), std::string::npos);
}

TEST(Select, NoMatchIsAResultWithReasons) {
  const std::vector<Candidate> c = {net("1", "CT", "HEAD"), net("2", "MR", "KNEE")};
  const auto q = slice("MR", "", "");
  const auto s = select(q, c);
  EXPECT_FALSE(s.matched());
  EXPECT_EQ(s.exitCode(), kExitNoMatch);
  ASSERT_EQ(s.verdicts.size(), 2U);
  EXPECT_EQ(s.verdicts[0].failed, Criterion::Modality);
  EXPECT_EQ(s.verdicts[1].failed, Criterion::BodyPart);
  EXPECT_EQ(s.verdicts[1].checks[2].note, "the slice has neither BodyPartExamined nor a StudyDescription");
  const auto text = explain(s, q, c);
  EXPECT_NE(text.find("no match: none of the 2 candidates matches the slice"), std::string::npos) << text;
  EXPECT_NE(text.find("#0 net-1 1.0 (DnnUID 1): rejected: Modality: slice MR, network CT"), std::string::npos) << text;
  // a slice without Modality matches nothing, even a network without one
  EXPECT_FALSE(select(slice("", "HEAD"), std::vector{net("1", "", "HEAD")}).matched());
}

TEST(Select, ExplainListsChoiceMatchesThenRejected) {
  const std::vector<Candidate> c = {net("1", "CT", "HEAD"), net("2", "MR", "HEAD", 1, "1.9"),
                                    net("3", "MR", "HEAD", 1, "1.10")};
  const auto q = slice("MR", "HEAD");
  const auto text = explain(select(q, c), q, c);
  EXPECT_EQ(text,
            "slice: Modality MR, BodyPartExamined HEAD, SamplesPerPixel 1, PhotometricInterpretation MONOCHROME2\n"
            "chosen: #2 net-3 1.10 (DnnUID 3) by BodyPartExact\n"
            "  #2 net-3 1.10 (DnnUID 3): chosen: BodyPartExact (BodyPartExamined: slice HEAD, network HEAD)\n"
            "  #1 net-2 1.9 (DnnUID 2): matched: BodyPartExact (BodyPartExamined: slice HEAD, network HEAD); lost to "
            "#2 on version (1.10 newer than 1.9)\n"
            "  #0 net-1 1.0 (DnnUID 1): rejected: Modality: slice MR, network CT\n");
  const auto shortText = explain(select(q, c), q, c, 1);
  EXPECT_NE(shortText.find("  ... 2 more\n"), std::string::npos) << shortText;
}

TEST(Select, FromLocalModelAndSliceAttributes) {
  iod::IodeepModel m;
  m.dnnUid = "2.25.42";
  m.sopInstanceUid = "2.25.43";
  m.name = "brain-unet";
  m.version = "2.0";
  m.target.modality = "MR";
  m.target.bodyPartExamined = "HEAD";
  m.target.samplesPerPixel = 1;
  m.contentDate = "20260101";
  const auto c = Candidate::from(m, "models/brain.dcm");
  EXPECT_EQ(c.dnnUid, "2.25.42");
  EXPECT_EQ(c.samplesPerPixel, 1);
  EXPECT_EQ(c.source, "models/brain.dcm");
  EXPECT_FALSE(c.sizeBytes.has_value());
  iod::SliceAttributes a;
  a.modality = "MR";
  a.bodyPartExamined = "BRAIN";
  a.studyDescription = "MRI HEAD";
  a.samplesPerPixel = 1;
  a.photometricInterpretation = "MONOCHROME2";
  const auto q = SliceQuery::from(a);
  EXPECT_EQ(q.bodyPartExamined, "BRAIN");
  const auto s = select(q, std::vector{c});
  ASSERT_TRUE(s.matched());
  EXPECT_EQ(s.rule, MatchRule::BodyPartRelated);
  EXPECT_EQ(s.verdicts[0].checks[2].note, "HEAD contains BRAIN");
  EXPECT_NE(explain(s, q, std::vector{c}).find("(DnnUID 2.25.42, models/brain.dcm)"), std::string::npos);
}

TEST(Select, StableNames) {
  EXPECT_EQ(toString(MatchRule::StudyDescriptionRelated), "StudyDescriptionRelated");
  EXPECT_EQ(toString(MatchRule::None), "None");
  EXPECT_EQ(toString(Criterion::SamplesPerPixel), "SamplesPerPixel");
}

// --- refusals set by the client (the trust policy) --------------------------------------------

TEST(Select, RefusedCandidateNeverMatchesAndSaysWhy) {
  std::vector<Candidate> c = {net("1", "MR", "HEAD", 1, "2.0"), net("2", "MR", "HEAD", 1, "1.0")};
  ASSERT_EQ(chosenUid(select(slice("MR", "HEAD"), c), c), "1");  // the newer version wins
  c[0].refusal = "not trusted: signed by CN=Rogue Signer, the chain does not lead to a trusted certificate";
  const auto s = select(slice("MR", "HEAD"), c);
  EXPECT_EQ(chosenUid(s, c), "2");
  EXPECT_FALSE(s.verdicts[0].matched);
  EXPECT_FALSE(s.verdicts[0].failed.has_value());  // every criterion passed: only the refusal stops it
  EXPECT_EQ(s.verdicts[0].refusal, c[0].refusal);
  EXPECT_NE(describe(s.verdicts[0]).find("CN=Rogue Signer"), std::string::npos) << describe(s.verdicts[0]);
  EXPECT_NE(explain(s, slice("MR", "HEAD"), c).find("not trusted"), std::string::npos);
  c[1].refusal = "not signed";
  const auto none = select(slice("MR", "HEAD"), c);
  EXPECT_FALSE(none.matched());
  EXPECT_EQ(none.exitCode(), kExitNoMatch);
  EXPECT_EQ(describe(none.verdicts[1]), "rejected: not signed");
}

// reselect judges again only what changed and ranks again: the same result as a full select, for
// random candidates, slices and changes (SamplesPerPixel learnt, a refusal, a new version or body
// part), including a chosen one that stops matching.
TEST(Select, ReselectEqualsSelectAfterChanges) {
  const std::vector<std::string> modalities = {"MR", "CT"};
  const std::vector<std::string> parts = {"HEAD", "BRAIN", "KNEE", "", "ABDOMEN", "LIVER"};
  std::mt19937 rng(19);
  const auto pick = [&](const std::vector<std::string>& v) { return v[rng() % v.size()]; };
  for (int round = 0; round < 200; ++round) {
    std::vector<Candidate> c;
    const std::size_t n = 1 + rng() % 30;
    for (std::size_t i = 0; i < n; ++i) {
      c.push_back(net("2.25." + std::to_string(static_cast<std::size_t>(round) * 100 + i), pick(modalities),
                      pick(parts), 1, "1." + std::to_string(rng() % 4)));
      if (rng() % 2 == 0) c.back().samplesPerPixel.reset();
    }
    const auto query = rng() % 3 == 0 ? slice("MR", "", "MRI brain with contrast") : slice("MR", pick(parts));
    auto before = select(query, c);
    std::vector<std::size_t> changed;
    if (before.chosen) changed.push_back(*before.chosen);
    for (std::size_t i = 0; i < n; ++i) {
      if (rng() % 4 == 0) changed.push_back(i);
    }
    for (const std::size_t i : changed) {
      switch (rng() % 4) {
        case 0: c[i].samplesPerPixel = static_cast<std::uint16_t>(rng() % 2 == 0 ? 1 : 3); break;
        case 1: c[i].refusal = "not trusted"; break;
        case 2: c[i].version = "2." + std::to_string(rng() % 4); break;
        default: c[i].bodyPartExamined = pick(parts);
      }
    }
    const auto again = reselect(query, c, std::move(before), changed);
    const auto full = select(query, c);
    ASSERT_EQ(again.chosen, full.chosen) << "round " << round;
    EXPECT_EQ(again.rule, full.rule);
    EXPECT_EQ(again.ranking, full.ranking);
    ASSERT_EQ(again.verdicts.size(), full.verdicts.size());
    for (std::size_t i = 0; i < n; ++i) {
      EXPECT_EQ(again.verdicts[i].matched, full.verdicts[i].matched);
      EXPECT_EQ(again.verdicts[i].rank, full.verdicts[i].rank);
      EXPECT_EQ(again.verdicts[i].note, full.verdicts[i].note);
      EXPECT_EQ(describe(again.verdicts[i]), describe(full.verdicts[i])) << "round " << round << " #" << i;
    }
  }
  // a previous selection of another size is not trusted: a full select
  const std::vector<Candidate> two = {net("1", "MR", "HEAD"), net("2", "MR", "HEAD", 1, "2.0")};
  EXPECT_EQ(chosenUid(reselect(slice("MR", "HEAD"), two, Selection{}, {}), two), "2");
}
