// `predict` split into decode, pre-process, forward, post-process and contour on the brain
// example (examples/brain-unet), per slice. Run after the test fixtures exist (ctest makes them):
//   build/bench/iodeep_predict_bench --benchmark_repetitions=5
// Counters are milliseconds per prediction; "overhead_ratio" = everything but the forward pass,
// divided by the forward pass (target: <= 0.20).
#include <benchmark/benchmark.h>

#include <filesystem>
#include <vector>

#include "iodeep/stores/ImageCache.hpp"
#include "iodeep/workflow/Predict.hpp"

namespace {

void BM_PredictSplit(benchmark::State& state) {
  using namespace iodeep;
  client::PredictOptions o{IODEEP_SOURCE_DIR "/examples/brain-unet/brain-unet.dcm",
                           IODEEP_BINARY_DIR "/tests/fixtures/brain-series/slice_022.dcm", 0, false};
  (void)client::predict(o);  // build and cache the network
  netparser::PredictionTimings sum;
  for (auto _ : state) {
    const auto r = client::predict(o);
    sum.decodeMs += r.timings.decodeMs;
    sum.preprocessMs += r.timings.preprocessMs;
    sum.forwardMs += r.timings.forwardMs;
    sum.postprocessMs += r.timings.postprocessMs;
    sum.contourMs += r.timings.contourMs;
  }
  const auto n = static_cast<double>(state.iterations());
  state.counters["decode_ms"] = sum.decodeMs / n;
  state.counters["preprocess_ms"] = sum.preprocessMs / n;
  state.counters["forward_ms"] = sum.forwardMs / n;
  state.counters["postprocess_ms"] = sum.postprocessMs / n;
  state.counters["contour_ms"] = sum.contourMs / n;
  state.counters["overhead_ratio"] =
      (sum.decodeMs + sum.preprocessMs + sum.postprocessMs + sum.contourMs) / sum.forwardMs;
}

BENCHMARK(BM_PredictSplit)->Unit(benchmark::kMillisecond)->MinTime(3.0);

// Whole-series proposals in a warm process (the viewer's case: libtorch loaded and the network
// built by an earlier click): predictSeries over the 62 slices of the example series. Counters:
// the series' wall time and forward time in ms, and the forward passes' share of the wall time
// (target >= 0.90).
void BM_SeriesWarm(benchmark::State& state) {
  using namespace iodeep;
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(IODEEP_SOURCE_DIR "/examples/brain-unet/series")) {
    files.push_back(e.path());
  }
  client::SeriesPredictOptions o;
  o.model = IODEEP_SOURCE_DIR "/examples/brain-unet/brain-unet.dcm";
  for (const auto& i : client::orderedImages(files)) o.images.push_back(i.file);
  (void)client::predictSeries(o);  // load libtorch, build and cache the network
  double wall = 0;
  double forward = 0;
  for (auto _ : state) {
    const auto r = client::predictSeries(o);
    wall += r.wallMs;
    forward += r.forwardMs;
  }
  const auto n = static_cast<double>(state.iterations());
  state.counters["slices"] = static_cast<double>(o.images.size());
  state.counters["wall_ms"] = wall / n;
  state.counters["forward_ms"] = forward / n;
  state.counters["forward_share"] = forward / wall;
}

BENCHMARK(BM_SeriesWarm)->Unit(benchmark::kMillisecond)->MinTime(5.0);

}  // namespace
