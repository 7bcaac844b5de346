#pragma once
// The inference module: everything that includes libtorch lives in a shared library
// (libiodeep-torch.so, netparser/src/torch/) that is opened with dlopen the first time a network
// is built or a torch file is imported. Commands that never run a network (inspect, rtstruct,
// the PACS commands, version) never map libtorch. This header is torch-free and private to
// netparser; both sides are built by this project with the same compiler and flags, so plain C++
// types cross the boundary (kAbi guards against a stale module).

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string_view>

#include "iodeep/iod/ByteBuffer.hpp"
#include "iodeep/iod/Error.hpp"
#include "iodeep/netparser/Architecture.hpp"
#include "iodeep/netparser/Network.hpp"
#include "iodeep/netparser/Training.hpp"
#include "iodeep/netparser/WeightsImport.hpp"

namespace iodeep::netparser::torchmodule {

inline constexpr int kAbi = 4;

/// A built network inside the module.
class Model {
 public:
  Model() = default;
  virtual ~Model() = default;
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;
  Model(Model&&) = delete;
  Model& operator=(Model&&) = delete;
  /// @p shape is 1,C,H,W and @p values hold its elements (checked by the caller).
  [[nodiscard]] virtual FloatTensor forward(std::span<const std::int64_t> shape,
                                            std::span<const float> values) const = 0;
  [[nodiscard]] virtual std::size_t bytes() const noexcept = 0;
  /// What the build did to run the graph faster (Network::transforms).
  [[nodiscard]] virtual BuildTransforms transforms() const noexcept = 0;
};

/// The module's entry points.
struct Api {
  int abi{0};
  /// Builds a checked architecture (policy checked by the caller) with its weights.
  std::unique_ptr<Model> (*build)(const Architecture& arch, const iod::ByteBuffer& weights,
                                  const BuildOptions& options){nullptr};
  int (*configureThreads)(int threads){nullptr};
  /// A torch.save zip archive or a TorchScript archive -> safetensors; errors carry @p where.
  ImportedWeights (*importArchive)(std::span<const std::byte> bytes, const ErrorContext& where){nullptr};
  /// Loads a TorchScript archive to prove that it loads; errors carry @p where.
  void (*loadTorchScript)(std::span<const std::byte> bytes, const ErrorContext& where){nullptr};
  /// Fine-tunes a checked graph architecture (Training.hpp's train, its checks done by the caller).
  TrainingResult (*train)(const Architecture& arch, const iod::ByteBuffer& weights,
                          std::span<const TrainingSample> training, std::span<const TrainingSample> validation,
                          const TrainingOptions& options,
                          const std::function<bool(const EpochReport&)>& onEpoch){nullptr};
};

/// The module, opened on first use (or by preload()). Throws Error(TorchError) naming the file
/// and dlerror() when it cannot be opened or is of another ABI.
const Api& api();

/// Starts opening the module in a background thread; api() then waits for it.
void preload();

/// Waits until a background load (preload()) has ended; at once when none runs.
void waitForBackgroundLoad();

/// True once the module is open (tests, diagnostics).
[[nodiscard]] bool isLoaded() noexcept;

/// Byte checks shared by the import front end and the module.
[[nodiscard]] inline bool startsWith(std::span<const std::byte> b, std::string_view prefix) {
  if (b.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (b[i] != static_cast<std::byte>(prefix[i])) return false;
  }
  return true;
}
[[nodiscard]] inline bool contains(std::span<const std::byte> b, std::string_view needle) {
  const auto* begin = reinterpret_cast<const char*>(b.data());
  return std::string_view(begin, b.size()).find(needle) != std::string_view::npos;
}

}  // namespace iodeep::netparser::torchmodule

/// The module's one exported symbol.
extern "C" const iodeep::netparser::torchmodule::Api* iodeep_torch_module();  // NOLINT(readability-identifier-naming)
