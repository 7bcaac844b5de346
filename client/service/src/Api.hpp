#pragma once
// The routes of the service (docs/service.md): each parses its request, calls the workflow and
// renders the answer. Cheap routes answer on the I/O thread; the others are queued: PACS work
// (discovery, selection, slice and model retrieval, storing) on one bounded pool, forward passes
// on the bounded inference queue. Nothing here knows about sockets or Beast.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "Exchange.hpp"
#include "Metrics.hpp"
#include "WorkPool.hpp"
#include "iodeep/network/Query.hpp"
#include "iodeep/service/Service.hpp"
#include "iodeep/workflow/Workstation.hpp"

namespace iodeep::service::detail {

class Api {
 public:
  Api(const ServiceConfig& config, client::Workstation& ws, Metrics& metrics);
  Api(const Api&) = delete;
  Api& operator=(const Api&) = delete;
  ~Api();

  /// Routes @p exchange; answers it (now or from a pool) exactly once unless its deadline answers first.
  void handle(const std::shared_ptr<Exchange>& exchange);
  /// From now on new requests get 503; /readyz says not ready.
  void startDrain() noexcept { draining_ = true; }
  [[nodiscard]] bool draining() const noexcept { return draining_.load(); }
  /// Stops the background work and the pools (after the drain).
  void shutdown();

 private:
  struct NetworkList {
    std::vector<client::RemoteModel> models;
    std::chrono::system_clock::time_point at{};
    Clock::time_point refreshed{};
    std::string error;
    bool valid{false};
  };

  void background();
  void checkReadiness();
  void flushOutbox();
  /// @p background: only when backgroundRefreshDue() still holds once it is its turn.
  void refreshNetworks(bool background = false);
  [[nodiscard]] bool backgroundRefreshDue() const;
  void buildAhead(std::vector<client::RemoteModel> fresh);
  [[nodiscard]] bool ready(std::string* why = nullptr) const;
  [[nodiscard]] NetworkList networks();

  // the routes
  [[nodiscard]] Response livez() const;
  [[nodiscard]] Response readyz() const;
  [[nodiscard]] Response metricsText() const;
  [[nodiscard]] Response listNetworks();
  [[nodiscard]] Response select(const Request& request);
  void predict(const std::shared_ptr<Exchange>& exchange);
  [[nodiscard]] Response structureSets(const Request& request);

  /// Queues @p work on @p pool; answers 503 with Retry-After at once when it is full. @p work
  /// returns the answer; Errors become problems.
  void enqueue(WorkPool& pool, const std::shared_ptr<Exchange>& exchange, std::function<Response(const Request&)> work);

  const ServiceConfig& config_;
  client::Workstation& ws_;
  Metrics& metrics_;
  std::atomic<bool> draining_{false};
  WorkPool pacsPool_;
  WorkPool inferencePool_;

  // readiness, refreshed by the background thread
  mutable std::mutex stateMutex_;
  bool pacsOk_{false}, inferenceOk_{false};
  std::string pacsDetail_{"not checked yet"}, inferenceDetail_{"loading"};
  NetworkList networks_;
  bool networksUsed_{false};            // GET /v1/networks read the list since its last refresh
  std::set<std::string> listedBefore_;  // SOP Instance UIDs seen by a discovery: build ahead only new ones
  std::mutex refreshMutex_;             // one discovery at a time
  std::size_t aheadTried_{0};           // networks fetched for build-ahead so far (under refreshMutex_)

  std::mutex backgroundMutex_;
  std::condition_variable backgroundWake_;
  bool stopBackground_{false};
  std::thread background_;
};

/// The HTTP status for an iodeep::Error (docs/service.md, "Errors").
[[nodiscard]] unsigned statusFor(ErrorCode code) noexcept;

}  // namespace iodeep::service::detail
