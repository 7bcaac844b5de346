#pragma once
/// @file Network.hpp
/// A built network and the inference engine, behind a torch-free interface.

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "iodeep/iod/ByteBuffer.hpp"
#include "iodeep/netparser/Architecture.hpp"

namespace iodeep::netparser {

/// A dense float32 tensor in row-major order (e.g. C,H,W or N,C,H,W).
struct FloatTensor {
  std::vector<std::int64_t> shape;
  std::vector<float> values;
};

struct BuildOptions {
  /// A TorchScript archive is code as well as data: refuse it unless this is set (it is the
  /// client configuration's decision for networks that come from a PACS).
  bool allowTorchScript{false};
  Limits limits;
  /// Run one pass on a zero input of the declared size while building (Network::warmedUp), so
  /// that the first real call does not pay the kernels' one-time setup. A program that runs the
  /// network once and exits (a one-shot predict) saves a pass by turning it off.
  bool warmUp{true};
};

/// What Network::build did to the graph to run it faster. The outputs stay those of the graph
/// as written, within float rounding (tested against PyTorch within 1e-4).
struct BuildTransforms {
  std::size_t foldedBatchNorms{0};    ///< batch norms (running statistics) folded into the convolution before them
  std::size_t fusedRelus{0};          ///< ReLUs applied inside the convolution before them
  std::size_t packedConvolutions{0};  ///< convolutions whose weights were packed for oneDNN once
  bool channelsLast{false};           ///< activations kept channels-last from input to output
  bool warmedUp{false};               ///< one pass ran at build time (BuildOptions::warmUp)
};

/// A network ready for inference: weights bound, evaluation mode. Thread-compatible: forward()
/// may be called from several threads.
class Network {
 public:
  /// Builds @p arch with @p weights (safetensors for graphs; the TorchScript archive for
  /// TorchScript networks). Throws iodeep::Error: WeightsMismatch (listing missing, unexpected
  /// and mis-shaped tensors), InvalidSafetensors, TorchScriptRefused, UnsupportedWeights,
  /// TorchError.
  static std::shared_ptr<const Network> build(const Architecture& arch, const iod::ByteBuffer& weights,
                                              const BuildOptions& options = {});
  ~Network();
  Network(const Network&) = delete;
  Network& operator=(const Network&) = delete;

  /// Runs the network on @p input (C,H,W or 1,C,H,W) under inference mode. Returns the output
  /// with a batch dimension (1,C,H,W or 1,F). Throws Error(ShapeMismatch, TorchError).
  [[nodiscard]] FloatTensor forward(const FloatTensor& input) const;
  [[nodiscard]] const Architecture& architecture() const noexcept;
  /// Bytes of the weights the network holds (parameters and buffers as bound; a TorchScript
  /// network: the size of its archive). What InferenceEngine counts against its budget.
  [[nodiscard]] std::size_t bytes() const noexcept;
  /// Whether the build already ran one forward pass on a zero input of the declared size, so
  /// that the kernels' one-time setup (oneDNN primitive creation, first allocations) happened
  /// when the network was built (or entered the InferenceEngine cache), not on the first real
  /// call. False for TorchScript networks and for graphs whose declared input has no size.
  [[nodiscard]] bool warmedUp() const noexcept;
  /// The build-time transformations applied (folding, fusion, packing, layout, warm-up). A
  /// TorchScript network: none.
  [[nodiscard]] BuildTransforms transforms() const noexcept;

 private:
  struct Impl;
  explicit Network(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// Checks that @p weights (safetensors) fit @p arch, without libtorch: every expected tensor
/// present with the right shape and dtype, nothing unexpected. Throws Error(WeightsMismatch)
/// listing every problem.
void checkWeights(const Architecture& arch, const iod::ByteBuffer& weights);

/// Randomly initialised weights that fit @p arch (He-normal convs/linears, unit norms), as
/// safetensors. Deterministic for a given seed.
[[nodiscard]] iod::ByteBuffer initWeights(const Architecture& arch, std::uint64_t seed);

/// Sets libtorch's intra-op threads; 0 means the number of hardware cores. Returns the count set.
/// Without a call, the first Network::build() sets the hardware core count.
int configureThreads(int threads = 0);

/// Starts opening the inference module (libtorch, about 0.6 s) in a background thread, so that a
/// command that will build a network hides that time behind reading and decoding. Building a
/// network waits for it. Commands that never build one never open it.
void preloadInference();

/// Waits until a load started by preloadInference() has ended (at once when none runs). A program
/// calls it before it exits: exiting while another thread is inside dlopen of libtorch crashes.
void awaitInferenceLoad();

/// Opens the inference module now (waiting for a background load): a long-running service does
/// it before it says it is ready. Throws Error(TorchError) naming the module when it cannot.
void loadInference();

/// Throws Error(TorchScriptRefused) when @p options do not allow what @p arch is (a TorchScript
/// network is code). Network::build and InferenceEngine::network call it before anything else.
void checkBuildPolicy(const Architecture& arch, const BuildOptions& options);

/// Built networks cached by DnnUID (and build options), within a memory budget: when the
/// networks' bytes (Network::bytes) exceed it, the least recently used are dropped from the cache.
/// Dropping only releases the cache's reference: a caller still holding a network keeps it alive.
/// The network just built or asked for is never dropped, even when it alone exceeds the budget.
/// Thread-safe.
class InferenceEngine {
 public:
  /// The default budget: 2 GiB (the client configuration's engine_max_mb default).
  static constexpr std::uint64_t kDefaultMemoryBudget = 2ULL << 30U;

  /// The process-wide engine; its first use sets intra-op threads to the hardware cores.
  static InferenceEngine& shared();
  /// An engine of its own (tests, tools); sets intra-op threads as shared() does.
  explicit InferenceEngine(std::uint64_t memoryBudget = kDefaultMemoryBudget);
  InferenceEngine(const InferenceEngine&) = delete;
  InferenceEngine& operator=(const InferenceEngine&) = delete;

  /// The network @p dnnUid: cached, or built from @p arch and @p weights and stored. The build
  /// policy of @p options is checked on every call, before the cache is consulted, and the
  /// options are part of the cache key: a network built once with a permission is never handed
  /// to a caller without it. Either way it becomes the most recently used; storing a new one
  /// drops least recently used networks beyond the budget. Throws what Network::build throws.
  std::shared_ptr<const Network> network(const std::string& dnnUid, const Architecture& arch,
                                         const iod::ByteBuffer& weights, const BuildOptions& options = {});
  /// The network @p dnnUid when it is cached (then the most recently used), else null: no build.
  /// The build policy of @p options is checked against @p arch first, as network() does.
  std::shared_ptr<const Network> cached(const std::string& dnnUid, const Architecture& arch,
                                        const BuildOptions& options = {});
  /// Sets the budget in bytes (the client configuration's engine_max_mb) and drops least recently
  /// used networks beyond it at once (the most recent stays).
  void setMemoryBudget(std::uint64_t bytes);
  [[nodiscard]] std::uint64_t memoryBudget() const;
  /// Bytes of the cached networks (Network::bytes), as counted against the budget.
  [[nodiscard]] std::uint64_t memoryBytes() const;
  /// Whether @p dnnUid built with @p options is cached; does not change the order of use.
  [[nodiscard]] bool contains(const std::string& dnnUid, const BuildOptions& options = {}) const;
  [[nodiscard]] std::size_t builds() const;
  /// Networks dropped to stay within the budget, since construction.
  [[nodiscard]] std::size_t evictions() const;
  [[nodiscard]] std::size_t size() const;
  void clear();

 private:
  struct Entry {
    std::string key;
    std::shared_ptr<const Network> network;
    std::uint64_t bytes{0};
  };
  void touch(std::list<Entry>::iterator it);  // caller holds mutex_
  void evict();                               // caller holds mutex_
  mutable std::mutex mutex_;
  std::list<Entry> lru_;  // most recently used first
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
  std::uint64_t budget_;
  std::uint64_t bytes_{0};
  std::size_t builds_{0};
  std::size_t evictions_{0};
};

}  // namespace iodeep::netparser
