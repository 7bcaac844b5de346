// Our warnings: one handler for the process, replaceable by the viewer and the tests.
#include "iodeep/iod/Logging.hpp"

#include <iostream>
#include <memory>
#include <mutex>

namespace iodeep::iod {

namespace {

std::mutex& handlerMutex() {
  static std::mutex m;
  return m;
}

std::shared_ptr<const WarningHandler>& handler() {
  static std::shared_ptr<const WarningHandler> h;
  return h;
}

}  // namespace

void setWarningHandler(WarningHandler h) {
  auto next = h ? std::make_shared<const WarningHandler>(std::move(h)) : nullptr;
  const std::lock_guard lock(handlerMutex());
  handler() = std::move(next);
}

void warn(std::string_view line) noexcept {
  try {
    std::shared_ptr<const WarningHandler> current;
    {
      const std::lock_guard lock(handlerMutex());
      current = handler();
    }
    // called without the lock: a handler may warn, or wait for a thread that warns
    if (current) {
      (*current)(line);
    } else {
      static std::mutex stderrMutex;  // whole lines, whatever the threads
      const std::lock_guard lock(stderrMutex);
      std::cerr << "iodeep: warning: " << line << '\n' << std::flush;
    }
  } catch (...) {  // a warning must never become an error
  }
}

}  // namespace iodeep::iod
