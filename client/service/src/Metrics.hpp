#pragma once
// What /metrics tells (Prometheus text format 0.0.4): requests by route and status, latency
// histograms by route, the queue, the work in flight, network builds, cache hits and misses,
// bytes retrieved. Routes are the service's own (unknown paths count as "other"), so the number
// of series is bounded whatever clients send.

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace iodeep::service::detail {

class Metrics {
 public:
  static constexpr std::array<double, 12> kBuckets{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};

  void observe(const std::string& route, int status, double seconds);
  std::atomic<std::int64_t> inFlight{0};
  std::atomic<std::uint64_t> modelCacheHits{0}, modelCacheMisses{0}, engineHits{0}, engineMisses{0};
  std::atomic<std::uint64_t> bytesRetrieved{0}, rejectedQueueFull{0}, deadlineExceeded{0};
  std::atomic<std::uint64_t> idempotentReplays{0}, networksBuiltAhead{0}, networkListings{0};

  /// Gauges read when /metrics is asked.
  struct Gauges {
    std::size_t queueDepth{0}, queueLimit{0}, running{0};
    std::size_t engineNetworks{0}, engineBuilds{0}, engineEvictions{0};
    std::uint64_t engineBytes{0};
    std::size_t networksListed{0};
    bool ready{false}, draining{false};
  };
  [[nodiscard]] std::string text(const Gauges& g) const;

 private:
  struct Histogram {
    std::array<std::uint64_t, kBuckets.size()> counts{};
    std::uint64_t count{0};
    double sum{0};
  };
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, std::uint64_t> requests_;
  std::map<std::string, Histogram> latency_;
};

}  // namespace iodeep::service::detail
