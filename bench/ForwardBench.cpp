// Our forward pass, for bench/forward_vs_pytorch.sh (the side-by-side run against PyTorch eager
// and torch.jit.optimize_for_inference on the same network, weights and input).
//
//   iodeep_forward_bench ARCH.json WEIGHTS.safetensors SIZE THREADS ITERATIONS [OUT.f32]
//
// Builds the network (timed), runs one first forward (timed alone), then ITERATIONS forwards on a
// 3-channel SIZExSIZE input filled with (i % 251) / 251 (what forward_vs_pytorch.py feeds PyTorch)
// and prints one JSON line: build and first-forward ms, every timed forward in ms, the convolution
// FLOPs of one pass (2 x multiply-adds, from the static shapes), and whether the build ran a
// warm-up pass. OUT.f32 receives the output (float32, row-major) for the comparison with PyTorch.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <unordered_map>
#include <vector>

#include "iodeep/iod/ByteBuffer.hpp"
#include "iodeep/netparser/Network.hpp"

namespace {

using namespace iodeep;
using namespace iodeep::netparser;
using Clock = std::chrono::steady_clock;

double msSince(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// 2 x multiply-adds of the convolutions (and linear layers) for an input of @p size.
double convFlops(const Architecture& arch, std::int64_t size) {
  const auto shapes = inferShapes(arch, InputSpec{arch.input.channels, size, size});
  std::unordered_map<std::string, std::vector<std::int64_t>> out{{"input", {arch.input.channels, size, size}}};
  for (const auto& s : shapes.layers) out[s.id] = s.shape;
  double flops = 0.0;
  for (const auto& l : arch.layers) {
    const auto& in = out.at(l.inputs.front());
    const auto& o = out.at(l.id);
    const auto& p = l.params;
    if (l.type == LayerType::Conv2d || l.type == LayerType::ConvTranspose2d) {
      const std::int64_t groups = p.depthwise ? in[0] : p.groups;
      const double k2 = static_cast<double>(p.kernelSize * p.kernelSize);
      // a transposed conv does as many multiply-adds as the conv it transposes: per input pixel
      const auto& spatial = l.type == LayerType::Conv2d ? o : in;
      const double pixels = static_cast<double>(spatial[1] * spatial[2]);
      flops += 2.0 * pixels * static_cast<double>(in[0] / groups) * static_cast<double>(o[0]) * k2;
    } else if (l.type == LayerType::Linear) {
      flops += 2.0 * static_cast<double>(in[0]) * static_cast<double>(o[0]);
    }
  }
  return flops;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 6) {
    std::cerr << "usage: iodeep_forward_bench ARCH.json WEIGHTS.safetensors SIZE THREADS ITERATIONS [OUT.f32]\n";
    return 2;
  }
  try {
    const auto arch = parseArchitecture(iod::readTextFile(argv[1]));
    const auto weights = iod::ByteBuffer::mapFile(argv[2]);
    const std::int64_t size = std::stoll(argv[3]);
    const int threads = std::stoi(argv[4]);
    const int iterations = std::stoi(argv[5]);
    const int threadsSet = configureThreads(threads);

    auto t = Clock::now();
    const auto net = Network::build(arch, weights);
    const double buildMs = msSince(t);

    FloatTensor in{{arch.input.channels, size, size},
                   std::vector<float>(static_cast<std::size_t>(arch.input.channels * size * size))};
    for (std::size_t i = 0; i < in.values.size(); ++i) in.values[i] = static_cast<float>(i % 251) / 251.0F;

    t = Clock::now();
    auto out = net->forward(in);
    const double firstMs = msSince(t);
    std::vector<double> times;
    for (int i = 0; i < iterations; ++i) {
      t = Clock::now();
      out = net->forward(in);
      times.push_back(msSince(t));
    }
    if (argc > 6) {
      std::ofstream f(argv[6], std::ios::binary);
      f.write(reinterpret_cast<const char*>(out.values.data()),
              static_cast<std::streamsize>(out.values.size() * sizeof(float)));
    }
    std::string list;
    for (const double v : times) list += (list.empty() ? "" : ", ") + std::to_string(v);
    std::cout << "{\"threads\": " << threadsSet << ", \"buildMs\": " << buildMs << ", \"firstForwardMs\": " << firstMs
              << ", \"forwardMs\": [" << list << "], \"convFlops\": " << convFlops(arch, size)
              << ", \"warmedUp\": " << (net->warmedUp() ? "true" : "false") << "}\n";
  } catch (const std::exception& e) {
    std::cerr << "iodeep_forward_bench: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
