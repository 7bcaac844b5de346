// Pack and read throughput of the IODeep object with a 100 MB payload (in-process).
// Peak memory of whole commands is measured by bench/pack_read_e2e.sh.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <random>
#include <vector>

#include "iodeep/iod/IodeepObject.hpp"
#include "iodeep/iod/Safetensors.hpp"
#include "iodeep/iod/Sha256.hpp"

namespace {

using namespace iodeep::iod;

const ByteBuffer& payload100MB() {
  static const ByteBuffer buf = [] {
    std::vector<float> values(25 * 1024 * 1024);
    std::mt19937 rng(1);
    std::uniform_real_distribution<float> d(-1.0F, 1.0F);
    for (auto& v : values) v = d(rng);
    SafetensorsWriter w;
    w.add("big.weight", DType::F32, {static_cast<std::int64_t>(values.size())},
          std::as_bytes(std::span<const float>(values)));
    return w.finish();
  }();
  return buf;
}

PackInput input() {
  PackInput in;
  in.architectureJson = R"({"layers": []})";
  in.weights = payload100MB();
  in.name = "bench";
  in.target.modality = "MR";
  in.target.bodyPartExamined = "HEAD";
  return in;
}

std::filesystem::path benchFile() {
  return std::filesystem::temp_directory_path() / "iodeep-bench.dcm";
}

void BM_Sha256(benchmark::State& state) {
  const auto& b = payload100MB();
  for (auto _ : state) benchmark::DoNotOptimize(sha256(b.bytes()));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(b.size()));
}

void BM_BuildModel(benchmark::State& state) {  // validate, NaN scan, SHA-256, DnnUID
  for (auto _ : state) benchmark::DoNotOptimize(buildModel(input()));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(payload100MB().size()));
}

void BM_WriteIodeep(benchmark::State& state) {
  const IodeepModel m = buildModel(input());
  for (auto _ : state) writeIodeep(m, benchFile());
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(m.weights.size()));
}

void BM_ReadIodeep(benchmark::State& state) {
  writeIodeep(buildModel(input()), benchFile());
  for (auto _ : state) benchmark::DoNotOptimize(readIodeep(benchFile()));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(payload100MB().size()));
}

void BM_ReadAndVerify(benchmark::State& state) {
  writeIodeep(buildModel(input()), benchFile());
  for (auto _ : state) benchmark::DoNotOptimize(verifyIodeep(readIodeep(benchFile())));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(payload100MB().size()));
}

BENCHMARK(BM_Sha256)->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK(BM_BuildModel)->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK(BM_WriteIodeep)->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK(BM_ReadIodeep)->Unit(benchmark::kMillisecond)->MinTime(2.0);
BENCHMARK(BM_ReadAndVerify)->Unit(benchmark::kMillisecond)->MinTime(2.0);

}  // namespace
