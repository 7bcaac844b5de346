#pragma once
// Wall-clock milliseconds for the workflows' timings (RoiTimings, PredictResult).
#include <chrono>

namespace iodeep::client::detail {

using Clock = std::chrono::steady_clock;

inline double ms(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

}  // namespace iodeep::client::detail
