// `predict` split into decode, pre-process, forward, post-process and contour on the brain
// example (examples/brain-unet), per slice. Run after the test fixtures exist (ctest makes them):
//   build/bench/iodeep_predict_bench --benchmark_repetitions=5
// Counters are milliseconds per prediction; "overhead_ratio" = everything but the forward pass,
// divided by the forward pass (target: <= 0.20).
#include <benchmark/benchmark.h>

#include "iodeep/client/Predict.hpp"

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

}  // namespace
