#pragma once
// The inference queue: a fixed number of threads and a bounded queue in front of them. A job that
// finds the queue full is refused at once (the caller answers 503 with Retry-After): the service
// sheds load instead of letting latency grow without bound.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace iodeep::service::detail {

class WorkPool {
 public:
  WorkPool(unsigned threads, std::size_t queueLimit);
  WorkPool(const WorkPool&) = delete;
  WorkPool& operator=(const WorkPool&) = delete;
  ~WorkPool();

  /// Queues @p job; false when the queue holds queueLimit jobs already or the pool has stopped.
  [[nodiscard]] bool tryPush(std::function<void()> job);
  /// Jobs waiting (not yet running).
  [[nodiscard]] std::size_t queued() const;
  /// Jobs running now.
  [[nodiscard]] std::size_t running() const;
  [[nodiscard]] std::size_t limit() const noexcept { return limit_; }
  /// Runs what is queued, then joins the threads.
  void stop();

 private:
  void loop();
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  std::size_t limit_;
  std::size_t running_{0};
  bool stopping_{false};
  std::vector<std::thread> threads_;
};

}  // namespace iodeep::service::detail
