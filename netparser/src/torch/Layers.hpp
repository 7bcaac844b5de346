#pragma once
// The graph interpreter's layers over ATen, shared by inference (TorchNetwork.cpp) and training
// (TorchTrain.cpp) inside the inference module. Includes ATen: module-private.

#include <ATen/ATen.h>

#include <cstdint>
#include <string>
#include <vector>

#include "iodeep/iod/Safetensors.hpp"
#include "iodeep/netparser/Architecture.hpp"

namespace iodeep::netparser {

// One primitive layer, bound to its tensors.
struct BoundLayer {
  const Layer* layer{nullptr};
  std::vector<std::size_t> inputs;  // indices into the value table (0 = network input)
  at::Tensor weight, bias, runningMean, runningVar;
  std::int64_t groups{1};
  std::int64_t lastUse{0};  // index of the last layer that reads this layer's output
  // Build-time transformations (inference only): a layer whose work was folded into the layer
  // before it (a batch norm into its convolution, a ReLU into the convolution's kernel) passes its
  // input on; a convolution may carry its weights packed for oneDNN once, with the ReLU after it.
  bool passThrough{false};
  bool fusedRelu{false};
  c10::IValue packed;  // mkldnn_prepacked ConvOpContext, when libtorch offers it
};

// The layer @p b on the value table @p values (its inputs read from there), with evaluation
// semantics unless told: @p dropout drops (training), @p batchStatistics makes batch norms use
// the batch's statistics and update their running ones (training with statistics not frozen).
at::Tensor applyLayer(const BoundLayer& b, const std::vector<at::Tensor>& values, bool dropout, bool batchStatistics);

// A c10 error's first line (no backtrace), for our one-line errors.
std::string firstLine(const c10::Error& e);

// The ATen type of a safetensors dtype.
at::ScalarType scalarTypeOf(iod::DType d);

// libtorch's intra-op threads set to the cores unless configureThreads() set them.
void ensureThreadsConfigured();

}  // namespace iodeep::netparser
