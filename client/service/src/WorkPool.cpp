#include "WorkPool.hpp"

#include <utility>

namespace iodeep::service::detail {

WorkPool::WorkPool(unsigned threads, std::size_t queueLimit) : limit_(queueLimit) {
  for (unsigned i = 0; i < (threads == 0 ? 1U : threads); ++i) threads_.emplace_back([this] { loop(); });
}

WorkPool::~WorkPool() {
  stop();
}

bool WorkPool::tryPush(std::function<void()> job) {
  {
    const std::lock_guard lock(mutex_);
    if (stopping_ || jobs_.size() >= limit_) return false;
    jobs_.push_back(std::move(job));
  }
  wake_.notify_one();
  return true;
}

std::size_t WorkPool::queued() const {
  const std::lock_guard lock(mutex_);
  return jobs_.size();
}

std::size_t WorkPool::running() const {
  const std::lock_guard lock(mutex_);
  return running_;
}

void WorkPool::stop() {
  {
    const std::lock_guard lock(mutex_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

void WorkPool::loop() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;  // stopping, nothing left
      job = std::move(jobs_.front());
      jobs_.pop_front();
      ++running_;
    }
    job();  // jobs catch their own exceptions (they answer a request)
    const std::lock_guard lock(mutex_);
    --running_;
  }
}

}  // namespace iodeep::service::detail
