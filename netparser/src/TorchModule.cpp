// Opens the inference module (libiodeep-torch.so) with dlopen, once, possibly in the background.
#include "TorchModule.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <mutex>

#include "iodeep/iod/Error.hpp"

namespace iodeep::netparser::torchmodule {

namespace {

namespace fs = std::filesystem;

constexpr const char* kFileName = "libiodeep-torch.so";

// Where the module is: $IODEEP_TORCH_MODULE, beside the executable, else where this build put it.
std::vector<fs::path> candidates() {
  std::vector<fs::path> out;
  if (const char* env = std::getenv("IODEEP_TORCH_MODULE"); env != nullptr && *env != '\0') {
    out.emplace_back(env);
    return out;  // told where: nowhere else
  }
  std::array<char, 4096> exe{};
  const ssize_t n = ::readlink("/proc/self/exe", exe.data(), exe.size() - 1);
  if (n > 0) out.push_back(fs::path(std::string(exe.data(), static_cast<std::size_t>(n))).parent_path() / kFileName);
#ifdef IODEEP_TORCH_MODULE_PATH
  out.emplace_back(IODEEP_TORCH_MODULE_PATH);
#endif
  return out;
}

const Api* open() {
  std::string tried;
  for (const auto& path : candidates()) {
    std::error_code ec;
    if (!fs::exists(path, ec)) {
      tried += (tried.empty() ? "" : ", ") + path.string() + " (absent)";
      continue;
    }
    // RTLD_LOCAL: libtorch's symbols stay inside the module
    void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      const char* why = ::dlerror();
      throw Error(ErrorCode::TorchError,
                  std::string("cannot open the inference module: ") + (why != nullptr ? why : "unknown error"),
                  ErrorContext{.file = path.string()});
    }
    using Entry = const Api* (*)();
    auto* entry = reinterpret_cast<Entry>(::dlsym(handle, "iodeep_torch_module"));
    if (entry == nullptr) {
      throw Error(ErrorCode::TorchError, "the inference module has no entry point",
                  ErrorContext{.file = path.string()});
    }
    const Api* api = entry();
    if (api == nullptr || api->abi != kAbi) {
      throw Error(ErrorCode::TorchError,
                  "the inference module is of another build (ABI " + std::to_string(api ? api->abi : -1) +
                      ", expected " + std::to_string(kAbi) + ")",
                  ErrorContext{.file = path.string()});
    }
    return api;  // the handle stays open for the life of the process
  }
  throw Error(ErrorCode::TorchError, "the inference module (" + std::string(kFileName) + ") was not found: " + tried +
                                         "; set IODEEP_TORCH_MODULE");
}

struct Loader {
  std::mutex mutex;
  std::shared_future<const Api*> future;
  std::atomic<bool> loaded{false};
};

Loader& loader() {
  static Loader l;
  return l;
}

}  // namespace

// A process must not exit while another thread is inside dlopen: libtorch's static initialisers
// would race the exit handlers (the handlers of the statics constructed so far run before any
// handler registered earlier could wait). Programs call this before leaving main; the atexit
// registration below is the fallback for those that do not.
void waitForBackgroundLoad() {
  auto& l = loader();
  std::shared_future<const Api*> f;
  {
    std::lock_guard lock(l.mutex);
    f = l.future;
  }
  if (f.valid()) f.wait();
}

namespace {

std::shared_future<const Api*> start(std::launch policy) {
  auto& l = loader();
  std::lock_guard lock(l.mutex);
  if (!l.future.valid()) {
    if (policy == std::launch::async) (void)std::atexit(waitForBackgroundLoad);
    l.future = std::async(policy, [] {
                 const Api* api = open();
                 loader().loaded = true;
                 return api;
               }).share();
  }
  return l.future;
}

}  // namespace

const Api& api() {
  // deferred when nobody preloaded: opened on this thread, now
  return *start(std::launch::deferred).get();
}

void preload() {
  (void)start(std::launch::async);
}

bool isLoaded() noexcept {
  return loader().loaded.load();
}

}  // namespace iodeep::netparser::torchmodule
