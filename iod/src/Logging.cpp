// Our warnings: one handler for the process, replaceable by the viewer and the tests.
#include "iodeep/iod/Logging.hpp"

#include <iostream>
#include <mutex>

namespace iodeep::iod {

namespace {

std::mutex& handlerMutex() {
  static std::mutex m;
  return m;
}

WarningHandler& handler() {
  static WarningHandler h;
  return h;
}

}  // namespace

void setWarningHandler(WarningHandler h) {
  const std::lock_guard lock(handlerMutex());
  handler() = std::move(h);
}

void warn(std::string_view line) noexcept {
  try {
    const std::lock_guard lock(handlerMutex());
    if (handler()) {
      handler()(line);
    } else {
      std::cerr << "iodeep: warning: " << line << '\n' << std::flush;
    }
  } catch (...) {  // a warning must never become an error
  }
}

}  // namespace iodeep::iod
