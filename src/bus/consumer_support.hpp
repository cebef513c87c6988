// What both adapters' consumers share: a stop signal a consumer thread can
// sleep on, and the retry loop around a handler.
//
// Thread safety: StopSignal is safe from any thread; handle_until_done runs
// on the consumer's thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <span>
#include <string>
#include <string_view>

#include "bus/bus.hpp"

namespace seatflow::bus {

class StopSignal {
 public:
  void stop();
  bool stopped() const;
  // Sleeps for `duration` or until stop(); true when stopped.
  bool sleep_for(std::chrono::milliseconds duration) const;

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  bool stopped_ = false;  // guarded by mu_
};

// Offers `message` to the subscription's handler until it succeeds, backing
// off exponentially between attempts (each failure is logged). Returns true
// once handled, false when `stop` was signalled first.
bool handle_until_done(const SubscriptionOptions& options, const Message& message,
                       const StopSignal& stop);

// Handles `messages` in order: through the batch handler, up to max_batch at
// a time, when the subscription has one; a batch that fails, and every
// message of a subscription without one, goes through handle_until_done.
// Returns how many were handled: all, unless `stop` was signalled first.
size_t handle_all_until_done(const SubscriptionOptions& options, std::span<const Message> messages,
                             const StopSignal& stop);

// The name of a consumer thread of `group` on `bus` ("bus", "kafka"). A
// live-update group ("<service>.live.<instance>") is "<bus>:live:<service>",
// so that within Linux's 15 bytes it still differs from the service's own
// consumer ("<bus>:<service>").
std::string consumer_thread_name(std::string_view bus, std::string_view group);

}  // namespace seatflow::bus
