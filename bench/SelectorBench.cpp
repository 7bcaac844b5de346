// Selection over 10,000 synthetic candidates (selection issue: target < 5 ms). Figures in
// bench/README.md.
#include <benchmark/benchmark.h>

#include <array>
#include <random>
#include <string>
#include <vector>

#include "iodeep/selector/Selector.hpp"

namespace {

using namespace iodeep::selector;

constexpr std::size_t kCandidates = 10'000;

// What a PACS holding many models might answer: every modality, body parts from the synonym table
// and outside it, in the spellings found in the wild, versions, dates, some SamplesPerPixel unknown.
// Exactly one network is for an MR BRAIN slice (BodyPartExact), in the middle of the list; about
// 1 in 60 others match it more loosely (MR HEAD, related), so the ranking has work to do.
std::vector<Candidate> candidates() {
  const std::array<const char*, 8> modalities = {"CT", "MR", "CR", "DX", "US", "PT", "MG", "mr "};
  const std::array<const char*, 24> bodyParts = {
      "HEAD",  "CHEST", "THORAX",    "ABDOMEN", "abd",   "PELVIS",       "LIVER",    "KIDNEY",
      "LUNG",  "HEART", "C_SPINE",   "LSPINE",  "SPINE", "KNEE",         "BREAST",   "PROSTATE",
      "SKULL", "NECK",  "WHOLEBODY", "ANKLE",   "WRIST", "Lumbar Spine", "PANCREAS", "SHOULDER"};
  std::mt19937 rng(2026);
  std::vector<Candidate> out;
  out.reserve(kCandidates);
  for (std::size_t i = 0; i < kCandidates; ++i) {
    Candidate c;
    c.dnnUid = "2.25." + std::to_string(rng()) + std::to_string(rng());
    c.sopInstanceUid = c.dnnUid + ".1";
    c.seriesInstanceUid = c.dnnUid + ".2";
    c.studyInstanceUid = "2.25.1";
    c.name = "net-" + std::to_string(i);
    c.version = std::to_string(rng() % 3) + "." + std::to_string(rng() % 12);
    c.modality = modalities[rng() % modalities.size()];
    c.bodyPartExamined = bodyParts[rng() % bodyParts.size()];
    if (rng() % 10 != 0) c.samplesPerPixel = static_cast<std::uint16_t>(rng() % 4 == 0 ? 3 : 1);
    c.photometricInterpretation = c.samplesPerPixel == 3 ? "RGB" : "MONOCHROME2";
    c.contentDate = "2025" + std::to_string(10 + rng() % 3) + std::to_string(10 + rng() % 18);
    c.contentTime = std::to_string(100000 + rng() % 130000);
    out.push_back(std::move(c));
  }
  out[kCandidates / 2].modality = "MR";
  out[kCandidates / 2].bodyPartExamined = "BRAIN";
  out[kCandidates / 2].samplesPerPixel = 1;
  return out;
}

void BM_SelectBodyPart(benchmark::State& state) {
  const auto c = candidates();
  const SliceQuery slice{"MR", "BRAIN", "MRI BRAIN W/O", 1, "MONOCHROME2"};
  for (auto _ : state) benchmark::DoNotOptimize(select(slice, c));
  const auto s = select(slice, c);
  state.counters["matches"] = static_cast<double>(s.ranking.size());
  if (s.chosen != kCandidates / 2) state.SkipWithError("the BRAIN network was not chosen");
}

void BM_SelectStudyDescription(benchmark::State& state) {
  const auto c = candidates();
  const SliceQuery slice{"MR", "", "MRI BRAIN W/O CONTRAST", 1, "MONOCHROME2"};
  for (auto _ : state) benchmark::DoNotOptimize(select(slice, c));
  const auto s = select(slice, c);
  state.counters["matches"] = static_cast<double>(s.ranking.size());
  if (s.chosen != kCandidates / 2) state.SkipWithError("the BRAIN network was not chosen");
}

void BM_SelectNoMatch(benchmark::State& state) {
  const auto c = candidates();
  const SliceQuery slice{"XA", "HAND", "", 1, "MONOCHROME2"};
  for (auto _ : state) benchmark::DoNotOptimize(select(slice, c));
}

void BM_SelectPaper(benchmark::State& state) {
  const auto c = candidates();
  const SliceQuery slice{"MR", "BRAIN", "", 1, "MONOCHROME2"};
  for (auto _ : state) benchmark::DoNotOptimize(selectPaper(slice, c));
}

void BM_Explain(benchmark::State& state) {
  const auto c = candidates();
  const SliceQuery slice{"MR", "BRAIN", "", 1, "MONOCHROME2"};
  const auto s = select(slice, c);
  for (auto _ : state) benchmark::DoNotOptimize(explain(s, slice, c));
}

BENCHMARK(BM_SelectBodyPart)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SelectStudyDescription)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SelectNoMatch)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SelectPaper)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Explain)->Unit(benchmark::kMillisecond);

}  // namespace
