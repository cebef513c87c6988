#include "core/scheduler.hpp"

#include "core/thread_name.hpp"

namespace seatflow {

Scheduler::Scheduler() : thread_([this] { run(); }) {}

Scheduler::~Scheduler() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

void Scheduler::schedule(std::chrono::milliseconds delay, std::function<void()> task) {
  {
    std::lock_guard lock(mu_);
    queue_.push(Entry{std::chrono::steady_clock::now() + delay, next_sequence_++, std::move(task)});
  }
  cv_.notify_one();
}

void Scheduler::run() {
  set_thread_name("scheduler");
  std::unique_lock lock(mu_);
  for (;;) {
    if (queue_.empty()) {
      if (stopping_) return;
      cv_.wait(lock);
      continue;
    }
    if (!stopping_ && queue_.top().at > std::chrono::steady_clock::now()) {
      cv_.wait_until(lock, queue_.top().at);
      continue;
    }
    auto task = std::move(const_cast<Entry&>(queue_.top()).task);  // NOLINT: popped next
    queue_.pop();
    lock.unlock();
    task();
    lock.lock();
  }
}

}  // namespace seatflow
