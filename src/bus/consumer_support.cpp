#include "bus/consumer_support.hpp"

#include <algorithm>

#include "core/log.hpp"

namespace seatflow::bus {

void StopSignal::stop() {
  std::lock_guard lock(mu_);
  stopped_ = true;
  cv_.notify_all();
}

bool StopSignal::stopped() const {
  std::lock_guard lock(mu_);
  return stopped_;
}

bool StopSignal::sleep_for(std::chrono::milliseconds duration) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, duration, [&] { return stopped_; });
}

bool handle_until_done(const SubscriptionOptions& options, const Message& message,
                       const StopSignal& stop) {
  std::chrono::milliseconds backoff = options.retry_backoff;
  for (int attempt = 1;; ++attempt) {
    Status st;
    try {
      st = options.handler(message);
    } catch (const std::exception& e) {
      st = fail(ErrorCode::kInternal, std::string("handler threw: ") + e.what());
    }
    if (st) return true;
    log::warn("consumer {}: {} {}/{}/{} failed (attempt {}): {}; retrying in {} ms", options.group,
              message.type(), message.topic, message.partition, message.offset, attempt,
              st.error().to_string(), backoff.count());
    if (stop.sleep_for(backoff)) return false;
    backoff = std::min(backoff * 2, options.max_retry_backoff);
  }
}

size_t handle_all_until_done(const SubscriptionOptions& options, std::span<const Message> messages,
                             const StopSignal& stop) {
  size_t handled = 0;
  while (handled < messages.size()) {
    const std::span<const Message> batch =
        messages.subspan(handled, std::min(messages.size() - handled, options.max_batch));
    if (batch.size() > 1 && options.batch_handler) {
      Status st;
      try {
        st = options.batch_handler(batch);
      } catch (const std::exception& e) {
        st = fail(ErrorCode::kInternal, std::string("batch handler threw: ") + e.what());
      }
      if (st) {
        handled += batch.size();
        continue;
      }
      // A batch holding a message already handled (a redelivery) is usual.
      const log::Level level =
          st.error().code() == ErrorCode::kAlreadyExists ? log::Level::kInfo : log::Level::kWarn;
      if (log::enabled(level)) {
        log::write(level,
                   fmt::format("consumer {}: a batch of {} messages failed: {}; handling them one "
                               "at a time",
                               options.group, batch.size(), st.error().to_string()));
      }
    }
    for (const Message& message : batch) {
      if (!handle_until_done(options, message, stop)) return handled;
      ++handled;
    }
  }
  return handled;
}

std::string consumer_thread_name(std::string_view bus, std::string_view group) {
  std::string name(bus);
  name += ':';
  if (const size_t live = group.find(".live."); live != std::string_view::npos) {
    name += "live:";
    name += group.substr(0, live);
  } else {
    name += group;
  }
  return name;
}

}  // namespace seatflow::bus
