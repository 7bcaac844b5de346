// Build and forward time of the example networks at 256x256 and 512x512, on 1 and 2 intra-op
// threads. Arguments: (network, size, threads). Figures in bench/README.md.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "iodeep/iod/ByteBuffer.hpp"
#include "iodeep/netparser/Network.hpp"

namespace {

using namespace iodeep;
using namespace iodeep::netparser;

struct Example {
  const char* name;
  const char* file;
};
constexpr Example kExamples[] = {
    {"tiny-unet", IODEEP_SOURCE_DIR "/examples/tiny-unet/architecture.json"},
    {"paper-unet", IODEEP_SOURCE_DIR "/examples/dnn-parser-unet/architecture.json"},
};

struct Loaded {
  Architecture arch;
  iod::ByteBuffer weights;
};

const Loaded& load(std::size_t i) {
  static std::vector<Loaded> cache = [] {
    std::vector<Loaded> v;
    for (const auto& e : kExamples) {
      auto arch = parseArchitecture(iod::readTextFile(e.file));
      auto w = initWeights(arch, 1);
      v.push_back({std::move(arch), std::move(w)});
    }
    return v;
  }();
  return cache.at(i);
}

void BM_Build(benchmark::State& state) {
  const auto& l = load(static_cast<std::size_t>(state.range(0)));
  configureThreads(static_cast<int>(state.range(1)));
  for (auto _ : state) benchmark::DoNotOptimize(Network::build(l.arch, l.weights));
  state.SetLabel(kExamples[state.range(0)].name);
}

void BM_Forward(benchmark::State& state) {
  const auto& l = load(static_cast<std::size_t>(state.range(0)));
  const auto size = state.range(1);
  configureThreads(static_cast<int>(state.range(2)));
  const auto net = Network::build(l.arch, l.weights);
  FloatTensor in{{l.arch.input.channels, size, size},
                 std::vector<float>(static_cast<std::size_t>(l.arch.input.channels * size * size), 0.5F)};
  for (auto _ : state) benchmark::DoNotOptimize(net->forward(in));
  state.SetLabel(std::string(kExamples[state.range(0)].name) + " " + std::to_string(size) + "x" + std::to_string(size) +
                 ", " + std::to_string(state.range(2)) + " thread(s)");
}

BENCHMARK(BM_Build)->ArgsProduct({{0, 1}, {1, 2}})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Forward)->ArgsProduct({{0}, {256, 512}, {1, 2}})->Unit(benchmark::kMillisecond)->MinTime(1.0);
BENCHMARK(BM_Forward)->ArgsProduct({{1}, {256, 512}, {1, 2}})->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace
