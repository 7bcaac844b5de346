// Networks as the rest of the project sees them (torch-free): the policy, the checks on the input,
// the in-memory cache of built networks. Building and running happen in the inference module
// (TorchModule.hpp), opened on first use.
#include "iodeep/netparser/Network.hpp"

#include "TorchModule.hpp"
#include "iodeep/iod/Error.hpp"

namespace iodeep::netparser {

struct Network::Impl {
  Architecture arch;
  std::unique_ptr<torchmodule::Model> model;
};

Network::Network(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Network::~Network() = default;
const Architecture& Network::architecture() const noexcept {
  return impl_->arch;
}
std::size_t Network::bytes() const noexcept {
  return impl_->model->bytes();
}
bool Network::warmedUp() const noexcept {
  return impl_->model->transforms().warmedUp;
}
BuildTransforms Network::transforms() const noexcept {
  return impl_->model->transforms();
}

std::shared_ptr<const Network> Network::build(const Architecture& arch, const iod::ByteBuffer& weights,
                                              const BuildOptions& options) {
  checkBuildPolicy(arch, options);
  auto impl = std::make_unique<Impl>();
  impl->arch = arch;
  impl->model = torchmodule::api().build(impl->arch, weights, options);
  return std::shared_ptr<const Network>(new Network(std::move(impl)));
}

FloatTensor Network::forward(const FloatTensor& input) const {
  std::vector<std::int64_t> shape = input.shape;
  if (shape.size() == 3) shape.insert(shape.begin(), 1);
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  if (shape.size() != 4 || shape[0] != 1 || n != static_cast<std::int64_t>(input.values.size())) {
    throw Error(ErrorCode::ShapeMismatch, "network input must be C,H,W or 1,C,H,W with matching values");
  }
  const auto& a = impl_->arch;
  if (a.kind == Architecture::Kind::Graph) {
    if (shape[1] != a.input.channels) {
      throw Error(ErrorCode::ShapeMismatch, "the network takes " + std::to_string(a.input.channels) +
                                                " channel(s), got " + std::to_string(shape[1]));
    }
    // another input size than the one validated at build: a clear error before any kernel runs
    if (shape[2] != a.input.height || shape[3] != a.input.width) {
      (void)inferShapes(a, InputSpec{shape[1], shape[2], shape[3]});
    }
  }
  return impl_->model->forward(shape, input.values);
}

int configureThreads(int threads) {
  return torchmodule::api().configureThreads(threads);
}

void preloadInference() {
  torchmodule::preload();
}

void awaitInferenceLoad() {
  torchmodule::waitForBackgroundLoad();
}

void loadInference() {
  (void)torchmodule::api();
}

InferenceEngine::InferenceEngine(std::uint64_t memoryBudget) : budget_(memoryBudget) {}

InferenceEngine& InferenceEngine::shared() {
  static InferenceEngine engine;
  return engine;
}

void checkBuildPolicy(const Architecture& arch, const BuildOptions& options) {
  if (arch.kind == Architecture::Kind::TorchScript && !options.allowTorchScript) {
    throw Error(ErrorCode::TorchScriptRefused,
                "a TorchScript network is code as well as data; it is refused unless the configuration allows "
                "TorchScript networks (allow_torchscript)");
  }
}

namespace {

// The cache key: the network's identity and every option that decides whether or how it is built.
std::string cacheKey(const std::string& dnnUid, const BuildOptions& o) {
  const Limits& l = o.limits;
  std::string key = dnnUid + (o.allowTorchScript ? "|ts" : "|no-ts");
  for (const std::int64_t v : {l.maxLayers, l.maxChannels, l.maxSpatial, l.maxKernel, l.maxParameters,
                               l.maxActivationBytes, static_cast<std::int64_t>(l.maxJsonBytes)}) {
    key += "|" + std::to_string(v);
  }
  return key;
}

}  // namespace

std::shared_ptr<const Network> InferenceEngine::network(const std::string& dnnUid, const Architecture& arch,
                                                        const iod::ByteBuffer& weights, const BuildOptions& options) {
  checkBuildPolicy(arch, options);  // on every use, cached or not
  const std::string key = cacheKey(dnnUid, options);
  {
    std::lock_guard lock(mutex_);
    if (const auto it = index_.find(key); it != index_.end()) {
      touch(it->second);
      return it->second->network;
    }
  }
  auto net = Network::build(arch, weights, options);  // outside the lock: building may take seconds
  std::lock_guard lock(mutex_);
  ++builds_;
  if (const auto it = index_.find(key); it != index_.end()) {  // built meanwhile by another thread
    touch(it->second);
    return it->second->network;
  }
  const std::uint64_t bytes = net->bytes();
  lru_.push_front(Entry{key, std::move(net), bytes});
  index_.emplace(key, lru_.begin());
  bytes_ += bytes;
  evict();
  return lru_.front().network;
}

std::shared_ptr<const Network> InferenceEngine::cached(const std::string& dnnUid, const Architecture& arch,
                                                       const BuildOptions& options) {
  checkBuildPolicy(arch, options);
  const std::string key = cacheKey(dnnUid, options);
  std::lock_guard lock(mutex_);
  const auto it = index_.find(key);
  if (it == index_.end()) return nullptr;
  touch(it->second);
  return it->second->network;
}

void InferenceEngine::touch(std::list<Entry>::iterator it) {
  lru_.splice(lru_.begin(), lru_, it);  // iterators stay valid
}

void InferenceEngine::evict() {
  while (bytes_ > budget_ && lru_.size() > 1) {
    const Entry& last = lru_.back();
    bytes_ -= last.bytes;
    index_.erase(last.key);
    lru_.pop_back();  // only the cache's reference: callers holding the network keep it
    ++evictions_;
  }
}

void InferenceEngine::setMemoryBudget(std::uint64_t bytes) {
  std::lock_guard lock(mutex_);
  budget_ = bytes;
  evict();
}

std::uint64_t InferenceEngine::memoryBudget() const {
  std::lock_guard lock(mutex_);
  return budget_;
}

std::uint64_t InferenceEngine::memoryBytes() const {
  std::lock_guard lock(mutex_);
  return bytes_;
}

bool InferenceEngine::contains(const std::string& dnnUid, const BuildOptions& options) const {
  const std::string key = cacheKey(dnnUid, options);
  std::lock_guard lock(mutex_);
  return index_.count(key) != 0;
}

std::size_t InferenceEngine::builds() const {
  std::lock_guard lock(mutex_);
  return builds_;
}

std::size_t InferenceEngine::evictions() const {
  std::lock_guard lock(mutex_);
  return evictions_;
}

std::size_t InferenceEngine::size() const {
  std::lock_guard lock(mutex_);
  return lru_.size();
}

void InferenceEngine::clear() {
  std::lock_guard lock(mutex_);
  lru_.clear();
  index_.clear();
  bytes_ = 0;
}

}  // namespace iodeep::netparser
