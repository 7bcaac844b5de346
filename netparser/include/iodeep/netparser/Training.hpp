#pragma once
/// @file Training.hpp
/// Fine-tuning a graph network in libtorch (autograd, Adam), behind a torch-free interface: the
/// inference module does the work (netparser/src/torch/TorchTrain.cpp). docs/finetuning.md.

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "iodeep/iod/ByteBuffer.hpp"
#include "iodeep/netparser/Architecture.hpp"
#include "iodeep/netparser/Network.hpp"

namespace iodeep::netparser {

/// One training example at the network's grid: the pre-processed input (C,H,W) and the target,
/// one 0/1 mask per output channel (channels x H x W, the output's size). For a softmax output the
/// channels are one-hot (channel 0 the background); for a sigmoid output each channel is a label.
struct TrainingSample {
  FloatTensor input;
  std::vector<std::uint8_t> target;
};

struct TrainingOptions {
  int epochs{30};
  int batchSize{4};
  double learningRate{1e-4};
  double weightDecay{0.0};     ///< Adam's L2 term
  bool freezeBatchNorm{true};  ///< batch norms keep their running statistics (small sets)
  int patience{5};             ///< epochs without a better validation loss before stopping; 0: never stop early
  std::uint64_t seed{1};       ///< shuffling and dropout
  double diceWeight{1.0};      ///< loss = cross-entropy (or BCE) + diceWeight * (1 - soft Dice)
  /// Steps timed only (the benchmark): 0 trains as told; N runs N steps on the first batch and
  /// returns their times, the weights unchanged.
  int timeSteps{0};
};

/// After each epoch: for the progress line; return false to cancel (Error(Cancelled)).
struct EpochReport {
  int epoch{0}, epochs{0};
  double trainLoss{0}, validationLoss{0}, validationDice{0};
  double seconds{0}, secondsLeft{0};
  bool best{false};
};

struct TrainingResult {
  iod::ByteBuffer weights;  ///< safetensors, the input's tensors (names, shapes, dtypes) updated
  /// Mean Dice (threshold 0.5 / argmax, labels only) on the validation samples, or on the training
  /// samples when there are none (validationIsTraining), before and after.
  double diceBefore{0}, diceAfter{0};
  double lossBefore{0}, lossAfter{0};  ///< the same samples' loss
  bool validationIsTraining{false};
  double firstTrainLoss{0}, lastTrainLoss{0};  ///< mean training loss of the first and last epoch
  int epochsRun{0}, bestEpoch{0};
  bool stoppedEarly{false};
  std::size_t trainableTensors{0};
  std::int64_t trainableParameters{0};
  std::vector<EpochReport> epochs;
  std::vector<double> stepMs;  ///< each optimisation step's time
};

/// Fine-tunes @p arch with @p weights on @p training, early stopping on @p validation (when not
/// empty), keeping the best epoch's weights. Throws Error(InvalidArgument: no training sample, a
/// sample of another size, a network without trainable layers, an output that is not a per-pixel
/// sigmoid or softmax map; TorchScriptRefused for a TorchScript network; WeightsMismatch;
/// TorchError; Cancelled).
[[nodiscard]] TrainingResult train(const Architecture& arch, const iod::ByteBuffer& weights,
                                   std::span<const TrainingSample> training, std::span<const TrainingSample> validation,
                                   const TrainingOptions& options,
                                   const std::function<bool(const EpochReport&)>& onEpoch = {});

}  // namespace iodeep::netparser
