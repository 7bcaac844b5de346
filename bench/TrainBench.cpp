// Our training step, for bench/train_vs_pytorch.sh (the side-by-side run against PyTorch on the
// same network, weights, batch, input and thread count).
//
//   iodeep_train_bench ARCH.json WEIGHTS.safetensors BATCH THREADS STEPS
//
// BATCH samples of the network's declared input size, input value i of sample s =
// ((i + 97 s) % 251) / 251 and target 1 where that value exceeds 0.5 (what train_vs_pytorch.py
// feeds PyTorch); STEPS + 1 optimisation steps on that batch (Adam, lr 1e-3, BCE + soft Dice,
// batch norms frozen: netparser::train's timeSteps), the first untimed. Prints one JSON line.
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "iodeep/iod/ByteBuffer.hpp"
#include "iodeep/iod/Text.hpp"
#include "iodeep/netparser/Architecture.hpp"
#include "iodeep/netparser/Network.hpp"
#include "iodeep/netparser/Training.hpp"

int main(int argc, char** argv) {
  using namespace iodeep;
  using namespace iodeep::netparser;
  if (argc != 6) {
    std::cerr << "usage: iodeep_train_bench ARCH.json WEIGHTS.safetensors BATCH THREADS STEPS\n";
    return 2;
  }
  try {
    const auto arch = parseArchitecture(iod::readTextFile(argv[1]));
    const auto weights = iod::ByteBuffer::mapFile(argv[2]);
    const int batch = std::stoi(argv[3]);
    const int threads = configureThreads(std::stoi(argv[4]));
    const int steps = std::stoi(argv[5]);
    const auto c = arch.input.channels;
    const auto h = arch.input.height;
    const auto w = arch.input.width;
    const auto outChannels = inferShapes(arch).outputShape.at(0);
    std::vector<TrainingSample> samples(static_cast<std::size_t>(batch));
    for (int s = 0; s < batch; ++s) {
      auto& x = samples[static_cast<std::size_t>(s)];
      x.input.shape = {c, h, w};
      x.input.values.resize(static_cast<std::size_t>(c * h * w));
      for (std::size_t i = 0; i < x.input.values.size(); ++i) {
        x.input.values[i] = static_cast<float>((i + 97 * static_cast<std::size_t>(s)) % 251) / 251.0F;
      }
      x.target.resize(static_cast<std::size_t>(outChannels * h * w));
      for (std::size_t i = 0; i < x.target.size(); ++i) x.target[i] = x.input.values[i % x.input.values.size()] > 0.5F;
    }
    TrainingOptions o;
    o.batchSize = batch;
    o.learningRate = 1e-3;
    o.timeSteps = steps + 1;
    const auto r = train(arch, weights, samples, {}, o);
    std::string ms;
    for (std::size_t i = 1; i < r.stepMs.size(); ++i) ms += (ms.empty() ? "" : ", ") + std::to_string(r.stepMs[i]);
    std::cout << "{\"threads\": " << threads << ", \"firstStepMs\": " << r.stepMs.front() << ", \"stepMs\": [" << ms
              << "]}\n";
  } catch (const std::exception& e) {
    std::cerr << "iodeep_train_bench: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
