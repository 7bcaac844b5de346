// Fine-tuning's front end: the policy and weights checks here, the work in the inference module.
#include "iodeep/netparser/Training.hpp"

#include "TorchModule.hpp"
#include "iodeep/iod/Error.hpp"

namespace iodeep::netparser {

TrainingResult train(const Architecture& arch, const iod::ByteBuffer& weights, std::span<const TrainingSample> training,
                     std::span<const TrainingSample> validation, const TrainingOptions& options,
                     const std::function<bool(const EpochReport&)>& onEpoch) {
  if (arch.kind == Architecture::Kind::TorchScript) {
    throw Error(ErrorCode::TorchScriptRefused,
                "a TorchScript network is not fine-tuned: its code decides its own training behaviour (a traced "
                "module keeps its train/eval mode); fine-tune the graph it was exported from");
  }
  if (training.empty()) throw Error(ErrorCode::InvalidArgument, "no training sample: the dataset is empty");
  if (options.epochs < 1 || options.batchSize < 1 || !(options.learningRate > 0.0)) {
    throw Error(ErrorCode::InvalidArgument, "epochs, batch size and learning rate must be positive");
  }
  checkWeights(arch, weights);
  return torchmodule::api().train(arch, weights, training, validation, options, onEpoch);
}

}  // namespace iodeep::netparser
