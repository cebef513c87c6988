// The order service: orders and the purchase saga.
//
// POST /api/orders checks the buyer's hold with reservation, then writes the
// order, its saga step and an order.placed event in one transaction, with
// the request's trace context, and answers 202. The saga worker takes it
// from there:
//
//   authorize  payment over HTTP, keyed by the order. Authorized: the order
//              is CONFIRMING and order.confirmed goes out through the outbox.
//              Declined: CANCELLED (reservation releases the hold on
//              order.cancelled). No answer in time, or none by the step's
//              deadline: the outcome is unknown, so -> void.
//   await_seats  reservation's answer on reservation.events: seats.confirmed
//              completes the order; seats.rejected (the hold expired, say)
//              -> void.
//   void       voids the payment (retried until it succeeds), then CANCELLED.
//
// A COMPLETED order can be refunded by its buyer until the event starts
// (POST /api/orders/{id}/refund): the order goes REFUNDING, and the saga's
//   refund     step refunds the payment (retried until it succeeds), then the
//              order is REFUNDED and order.refunded tells reservation to put
//              the seats back on sale.
// The same refund follows event.cancelled from reservation, which an admin's
// cancellation of the event sends for each order of its sold seats.
//
// Workers claim due steps with a lease (FOR UPDATE SKIP LOCKED on
// PostgreSQL), so replicas share them; a step is woken as soon as it is
// committed (Database notifications) and retried with backoff. The replica
// that places an order leases the first step to itself as it creates it,
// when a worker slot is free, and runs it without a claim; if it dies, the
// lease runs out and another replica claims the step. Each step
// runs in the trace its row carries. A restart continues every unfinished
// saga: the steps are rows.
//
// Every status change is an order.events message ("order.<change>"); every
// process serving browsers consumes them with a group of its own and pushes
// them to the order's SSE stream.
//
// Thread safety: safe from any thread after start().
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bus/inbox.hpp"
#include "bus/outbox.hpp"
#include "db/migrations.hpp"
#include "http/client.hpp"
#include "http/router.hpp"
#include "services/common/context.hpp"

namespace seatflow::order {

inline constexpr std::string_view kServiceName = "order";

std::vector<db::MigrationFile> migration_files();
// Where the later changes to the messaging tables land among this service's
// versions (see bus::messaging_upgrade_files).
inline constexpr std::array<int, 1> kMessagingUpgradeVersions = {7};

inline constexpr std::string_view kOrderEventsTopic = "order.events";

// GET /api/orders pages: `limit` when none is given, and its largest.
inline constexpr int64_t kDefaultOrdersPerPage = 20;
inline constexpr int64_t kMaxOrdersPerPage = 100;

struct OrderOptions {
  std::string reservation_url;  // base URL, e.g. http://127.0.0.1:8080
  std::string payment_url;
  // One authorization call may take this long; after it the outcome is unknown.
  std::chrono::milliseconds payment_timeout{std::chrono::seconds(5)};
  // Retries of an authorization that failed outright stop after this.
  std::chrono::milliseconds authorize_deadline{std::chrono::seconds(30)};
  int workers = 16;
  std::chrono::milliseconds lease{std::chrono::seconds(30)};
  std::chrono::milliseconds retry_backoff{std::chrono::milliseconds(200)};
  std::chrono::milliseconds max_retry_backoff{std::chrono::seconds(10)};
  std::chrono::milliseconds poll_interval{std::chrono::milliseconds(250)};
  std::string owner;  // the lease holder's name, unique per process
};

class OrderService {
 public:
  OrderService(services::ServiceContext context, http::HttpClient& client, OrderOptions options);
  ~OrderService();
  OrderService(const OrderService&) = delete;
  OrderService& operator=(const OrderService&) = delete;

  void add_routes(http::Router& router);

  // Where reservation and payment are, when only known after the options
  // were made (an embedded server on a port picked at start).
  void set_peer_urls(std::string reservation_url, std::string payment_url);

  // Starts the saga workers and the consumers.
  Status start();
  void stop();
  // Ready to serve live updates: its consumer of order.events for the SSE
  // streams will receive whatever is published from now on (kUnavailable
  // until it has its partitions). For the readiness check.
  Status live_updates_ready() const;

 private:
  struct Step;
  struct Metrics;

  void place(http::Request& request, http::Responder responder);
  http::Response read(const http::Request& request);
  // GET /api/orders: the buyer's orders, newest first, a page at a time.
  http::Response list(const http::Request& request);
  // POST /api/orders/{id}/refund: a completed order's refund, before its
  // event starts; 202 while the saga refunds it.
  void request_refund(const http::Request& request, http::Responder responder);

  // A worker slot for a step leased here at creation (false when none is
  // free); release_slot() gives it back if the step was not created, and
  // queue_step() hands the created step to the workers.
  bool reserve_slot();
  void release_slot();
  void queue_step(Step step);
  void claim_loop();
  void work_loop();
  Result<std::vector<Step>> claim(int limit);
  void run_step(const Step& step);
  void authorize(const Step& step);
  // The void step (refund false) or the refund step: retried until payment
  // has done it, then the order is CANCELLED or REFUNDED.
  void reverse_payment(const Step& step, bool refund);
  // Reschedules a step after a failure, with backoff.
  void retry(const Step& step, const std::string& error);

  // Moves the order to `status` (with `reason`, and `payment_id` when
  // given), its saga to `next_step` (due now when `due`), records history
  // and publishes order.<event>; all in `session`, only if the order is in
  // `from`. False when it was not. With `held`, only while this worker still
  // holds that step's lease: kAborted when it lost it.
  Result<bool> transition(db::Session& session, const std::string& order_id,
                          std::initializer_list<std::string_view> from, std::string_view status,
                          std::string_view reason, std::string_view next_step, bool due,
                          std::string_view event, const Step* held = nullptr,
                          const std::optional<std::string>& payment_id = std::nullopt);
  // transition() for a step this worker holds the lease of.
  void finish_step(const Step& step, std::string_view status, std::string_view reason,
                   std::string_view next_step, bool due, std::string_view event,
                   std::optional<std::string> payment_id = std::nullopt);

  Status on_reservation_event(db::Session& session, const bus::Message& message);
  void push_status(const bus::Message& message);
  std::string peer_url(bool payment) const;

  services::ServiceContext ctx_;
  http::HttpClient& client_;
  const OrderOptions options_;
  bus::Outbox outbox_;
  UuidV7Generator ids_;
  bus::Inbox inbox_;
  std::shared_ptr<Metrics> metrics_;
  // Sets the saga gauges, at most every few seconds; claim thread only.
  void sample_steps();
  int64_t next_sample_ms_ = 0;

  mutable std::mutex urls_mu_;
  std::string reservation_url_;  // guarded by urls_mu_
  std::string payment_url_;      // guarded by urls_mu_

  std::unique_ptr<db::Listener> listener_;
  std::unique_ptr<bus::Subscription> results_;
  std::unique_ptr<bus::Subscription> live_;

  std::mutex mu_;
  std::condition_variable work_cv_;   // a step was queued, or stopping
  std::condition_variable space_cv_;  // a worker is free, or stopping
  std::deque<Step> queue_;            // guarded by mu_
  int busy_ = 0;                      // guarded by mu_: steps queued or running
  bool stopping_ = false;             // guarded by mu_
  std::thread claimer_;
  std::vector<std::thread> workers_;
};

}  // namespace seatflow::order
