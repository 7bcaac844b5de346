// Build and write an RT Structure Set of 10 ROIs x 500 points (issue 5). Figures in bench/README.md.
#include <benchmark/benchmark.h>

#include <array>
#include <cmath>
#include <filesystem>

#include "TestSupport.hpp"
#include "iodeep/rtstruct/StructureSet.hpp"

namespace {

using namespace iodeep;

rtstruct::StructureSetInput tenRois() {
  iod::SliceAttributes a = test::sampleMrSlice(512, 512);
  a.pixelSpacing = std::array<double, 2>{0.8, 0.8};
  a.imagePositionPatient = std::array<double, 3>{-200, -200, 10};
  rtstruct::StructureSetInput in;
  in.network = {"bench", "1", "2.25.1", "2.25.2"};
  in.reviewerName = "Doe^Jane";
  for (int r = 0; r < 10; ++r) {
    iod::Ring ring;
    for (int i = 0; i < 500; ++i) {
      const double t = 2 * M_PI * i / 500.0;
      ring.points.push_back({256 + (50 + 10 * r) * std::cos(t), 256 + (50 + 10 * r) * std::sin(t)});
    }
    in.rois.push_back(
        {"ROI " + std::to_string(r), {255, 0, 0}, "ORGAN", rtstruct::RoiGeneration::Automatic, {{a, {ring}}}});
  }
  return in;
}

// Google Benchmark's naming (BM_) and loop idiom (an unused `_`) are kept: NOLINT below.
void BM_WriteStructureSet(benchmark::State& state) {  // NOLINT(readability-identifier-naming)
  const auto in = tenRois();
  const auto path = std::filesystem::temp_directory_path() / "iodeep-bench-rtstruct.dcm";
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores)
    benchmark::DoNotOptimize(rtstruct::writeStructureSet(in, path));
  }
}

void BM_ReadStructureSet(benchmark::State& state) {  // NOLINT(readability-identifier-naming)
  const auto path = std::filesystem::temp_directory_path() / "iodeep-bench-rtstruct.dcm";
  (void)rtstruct::writeStructureSet(tenRois(), path);
  for (auto _ : state) {  // NOLINT(clang-analyzer-deadcode.DeadStores)
    benchmark::DoNotOptimize(rtstruct::readStructureSet(path));
  }
}

BENCHMARK(BM_WriteStructureSet)->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK(BM_ReadStructureSet)->Unit(benchmark::kMillisecond)->MinTime(2.0);

}  // namespace
