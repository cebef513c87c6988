// Runs tasks after a delay on one thread of its own: for work that must
// happen later without holding a thread meanwhile (a payment gateway's
// latency, say).
//
// Tasks run one at a time, earliest first; a task must be short. Tasks still
// pending when the Scheduler is destroyed are run at once, so every callback
// that answers someone still answers.
//
// Thread safety: schedule() may be called from any thread, including a task.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <queue>
#include <thread>
#include <vector>

namespace seatflow {

class Scheduler {
 public:
  Scheduler();
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  void schedule(std::chrono::milliseconds delay, std::function<void()> task);

 private:
  struct Entry {
    std::chrono::steady_clock::time_point at;
    uint64_t sequence;  // first scheduled runs first among equal times
    std::function<void()> task;
    bool operator>(const Entry& other) const {
      return at != other.at ? at > other.at : sequence > other.sequence;
    }
  };

  void run();

  std::mutex mu_;
  std::condition_variable cv_;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> queue_;  // guarded by mu_
  uint64_t next_sequence_ = 0;                                            // guarded by mu_
  bool stopping_ = false;                                                 // guarded by mu_
  std::thread thread_;
};

}  // namespace seatflow
