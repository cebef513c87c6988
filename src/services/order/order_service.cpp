#include "services/order/order_service.hpp"

#include <algorithm>
#include <charconv>

#include <fmt/core.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "core/log.hpp"
#include "core/thread_name.hpp"
#include "core/uuid.hpp"
#include "http/json.hpp"
#include "services/common/cards.hpp"
#include "services/common/json_fields.hpp"
#include "trace/propagation.hpp"

namespace seatflow::order {

namespace json = boost::json;

namespace {

constexpr std::string_view kSagaChannel = "saga";

std::string current_traceparent() {
  const trace::SpanContext* c = trace::current_context();
  return c != nullptr ? trace::to_text(*c) : std::string();
}

json::array split_seats(std::string_view text) {
  json::array out;
  while (!text.empty()) {
    const size_t at = text.find(',');
    out.emplace_back(text.substr(0, at));
    if (at == std::string_view::npos) break;
    text.remove_prefix(at + 1);
  }
  return out;
}

// Where the saga rests: done, unless the buyer asks for a completed order's
// refund.
bool is_terminal(std::string_view status) {
  return status == "COMPLETED" || status == "CANCELLED" || status == "REFUNDED";
}

using Amount = std::pair<int64_t, std::string>;  // minor units, currency

Result<Amount> read_amount(db::Database& db, const std::string& order_id) {
  return db.transact(
      [&](db::Session& s) -> Result<Amount> {
        auto rows = s.query("SELECT amount_minor, currency FROM orders WHERE id = $1", {order_id});
        if (!rows) return fail(rows.error());
        if (rows->empty()) return fail(ErrorCode::kNotFound, "no order " + order_id);
        return Amount{(*rows)[0].get<int64_t>(0), (*rows)[0].get<std::string>(1)};
      },
      {.read_only = true});
}

}  // namespace

struct OrderService::Step {
  std::string order_id;
  std::string step;
  int64_t attempts = 0;
  std::optional<int64_t> deadline_at;
  std::optional<std::string> card_number;
  std::optional<std::string> traceparent;
  // The amount to authorize, when the step is queued by the process that
  // placed the order; a claimed step reads it from the order.
  std::optional<Amount> amount;
};

struct OrderService::Metrics {
  explicit Metrics(prometheus::Registry& r)
      : transitions(prometheus::BuildCounter()
                        .Name("seatflow_saga_transitions_total")
                        .Help("Order status changes made by the purchase saga, by new status")
                        .Register(r)),
        retries(prometheus::BuildCounter()
                    .Name("seatflow_saga_step_retries_total")
                    .Help("Saga steps rescheduled after a failure")
                    .Register(r)
                    .Add({})),
        steps(prometheus::BuildGauge()
                  .Name("seatflow_saga_steps")
                  .Help("Sagas not finished, by the step they are at (sampled every few seconds)")
                  .Register(r)),
        oldest_step_age(prometheus::BuildGauge()
                            .Name("seatflow_saga_oldest_step_age_seconds")
                            .Help("Time since the oldest unfinished saga at each step last moved")
                            .Register(r)) {}
  prometheus::Family<prometheus::Counter>& transitions;
  prometheus::Counter& retries;
  prometheus::Family<prometheus::Gauge>& steps;
  prometheus::Family<prometheus::Gauge>& oldest_step_age;
};

void OrderService::sample_steps() {
  const int64_t now = ctx_.clock.now_unix_ms();
  if (now < next_sample_ms_) return;
  next_sample_ms_ = now + 5000;
  auto rows = ctx_.db.transact(
      [&](db::Session& s) {
        return s.query(
            "SELECT s.step, COUNT(*), MIN(o.updated_at) FROM saga_steps s JOIN orders o ON o.id "
            "= s.order_id WHERE s.step <> 'done' GROUP BY s.step");
      },
      {.read_only = true});
  if (!rows) return;
  for (const char* step : {"authorize", "await_seats", "void", "refund"}) {
    double count = 0;
    double age = 0;
    for (const auto& r : *rows) {
      if (r.get<std::string>(0) != step) continue;
      count = static_cast<double>(r.get<int64_t>(1));
      age = static_cast<double>(std::max<int64_t>(0, now - r.get<int64_t>(2))) / 1000.0;
    }
    metrics_->steps.Add({{"step", step}}).Set(count);
    metrics_->oldest_step_age.Add({{"step", step}}).Set(age);
  }
}

OrderService::OrderService(services::ServiceContext context, http::HttpClient& client,
                           OrderOptions options)
    : ctx_(std::move(context)),
      client_(client),
      options_(std::move(options)),
      outbox_(ctx_.db, ctx_.bus_system, ctx_.tracer, ctx_.clock),
      ids_(ctx_.clock),
      inbox_(ctx_.db, ctx_.bus_system, ctx_.tracer, ctx_.clock, ctx_.inbox_for(kServiceName),
             &ctx_.registry),
      metrics_(std::make_shared<Metrics>(ctx_.registry.prometheus())),
      reservation_url_(options_.reservation_url),
      payment_url_(options_.payment_url) {}

void OrderService::set_peer_urls(std::string reservation_url, std::string payment_url) {
  std::lock_guard lock(urls_mu_);
  reservation_url_ = std::move(reservation_url);
  payment_url_ = std::move(payment_url);
}

std::string OrderService::peer_url(bool payment) const {
  std::lock_guard lock(urls_mu_);
  return payment ? payment_url_ : reservation_url_;
}

OrderService::~OrderService() { stop(); }

Status OrderService::start() {
  // Steps this owner held when it last stopped (or crashed) are free again:
  // this owner is unique to the process, so nothing else works on them.
  auto released = ctx_.db.transact([&](db::Session& s) -> Status {
    auto r =
        s.execute("UPDATE saga_steps SET lease_until = 0 WHERE lease_owner = $1", {options_.owner});
    return r ? ok() : fail(r.error());
  });
  if (!released) return released;
  auto listener = ctx_.db.listen(kSagaChannel);
  if (!listener) return fail(listener.error());
  listener_ = std::move(*listener);
  const bus::InboxHandler on_event = [this](db::Session& s, const bus::Message& m) {
    return on_reservation_event(s, m);
  };
  auto results = ctx_.subscriber.subscribe(
      bus::SubscriptionOptions{.group = std::string(kServiceName),
                               .topics = {"reservation.events"},
                               .handler = inbox_.wrap(on_event),
                               .batch_handler = inbox_.wrap_batch(on_event)});
  if (!results) return fail(results.error().with_context("cannot consume reservation.events"));
  results_ = std::move(*results);
  auto live = ctx_.subscriber.subscribe(
      bus::SubscriptionOptions{.group = std::string(kServiceName) + ".live." + ctx_.instance,
                               .topics = {std::string(kOrderEventsTopic)},
                               .handler = [this](const bus::Message& m) -> Status {
                                 push_status(m);
                                 return ok();
                               },
                               .start_at_end = true});
  if (!live) return fail(live.error().with_context("cannot consume order.events"));
  live_ = std::move(*live);
  claimer_ = std::thread([this] { claim_loop(); });
  for (int i = 0; i < options_.workers; ++i) workers_.emplace_back([this] { work_loop(); });
  return ok();
}

Status OrderService::live_updates_ready() const {
  if (live_ != nullptr && live_->ready()) return ok();
  return fail(ErrorCode::kUnavailable, "the consumer of order.events has no partitions yet");
}

void OrderService::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  space_cv_.notify_all();
  if (listener_) listener_->interrupt();
  if (claimer_.joinable()) claimer_.join();
  for (auto& w : workers_) w.join();
  workers_.clear();
  if (results_) results_->stop();
  if (live_) live_->stop();
}

// ---- placing an order -----------------------------------------------------

void OrderService::place(http::Request& request, http::Responder responder) {
  auto buyer = ctx_.auth.buyer(request);
  if (!buyer) return responder.send(http::problem_for(buyer.error()));
  auto key_header = request.header("Idempotency-Key");
  if (!key_header || key_header->empty() || key_header->size() > 200) {
    return responder.send(
        http::problem(400, "an Idempotency-Key header (1 to 200 characters) is required"));
  }
  const std::string key(*key_header);
  auto body = http::parse_json_body(request);
  if (!body) return responder.send(http::json_error_response(body.error()));
  auto object = services::as_object(*body);
  if (!object) return responder.send(http::problem_for(object.error()));
  auto hold_field = services::string_field(**object, "hold_id", 64);
  if (!hold_field) return responder.send(http::problem_for(hold_field.error()));
  auto card = services::string_field(**object, "card_number", 40);
  if (!card) return responder.send(http::problem_for(card.error()));
  const std::string digits = services::normalize_card_number(*card);
  if (!services::valid_card_number(digits)) {
    return responder.send(http::problem(400, "field 'card_number' is not a valid card number"));
  }
  // A hold id is a UUID, taken in its canonical form (the id in capitals
  // names the same hold). Anything else names no hold, and must not become
  // part of the hold check's URL ("../", a space, a query).
  const auto hold_uuid = Uuid::parse(*hold_field);
  const std::string hold = hold_uuid ? hold_uuid->to_string() : *hold_field;
  const std::string hash = services::sha256_hex(hold + "|" + digits);

  // A repeat of an earlier request answers what that one did. It is looked
  // up only when this one cannot go ahead: when the hold check refuses it
  // (the first request used the hold up) or the order's insert finds the
  // key taken. A first request, the common case, costs no lookup.
  const std::string buyer_id = *buyer;
  auto answer_existing = [buyer_id, key,
                          hash](db::Session& s) -> Result<std::optional<http::Response>> {
    auto rows = s.query(
        "SELECT id, status, request_hash FROM orders WHERE buyer_id = $1 AND idempotency_key = $2",
        {buyer_id, key});
    if (!rows) return fail(rows.error());
    if (rows->empty()) return std::optional<http::Response>();
    const auto& row = (*rows)[0];
    if (row.get<std::string>("request_hash") != hash) {
      return std::optional<http::Response>(http::problem(
          422, "Idempotency-Key " + key + " was already used for a different order request"));
    }
    http::Response r =
        http::json_response(202, json::object{{"id", row.get<std::string>("id")},
                                              {"status", row.get<std::string>("status")}});
    r.headers.set("Location", "/api/orders/" + row.get<std::string>("id"));
    return std::optional<http::Response>(std::move(r));
  };

  auto shared = std::make_shared<http::Responder>(std::move(responder));
  // Answers a refused request: with the earlier order of its key, if any.
  auto refuse = [this, shared, answer_existing](http::Response problem) {
    auto existing = ctx_.db.transact(answer_existing, {.read_only = true});
    if (existing && *existing) return shared->send(std::move(**existing));
    shared->send(std::move(problem));
  };
  if (!hold_uuid) return refuse(http::problem(404, "no hold " + hold));

  http::ClientRequest check{.method = http::Method::kGet,
                            .url = peer_url(false) + "/internal/holds/" + hold,
                            .headers = {},
                            .body = {},
                            .deadline = std::chrono::milliseconds(5000)};
  check.headers.set("Authorization", "Bearer " + ctx_.auth.service_token());
  client_.async_send(
      std::move(check), trace::bind_context([this, shared, buyer_id, key, hash, hold, digits,
                                             refuse](Result<http::ClientResponse> reply) {
        if (!reply) {
          return refuse(http::problem(
              503, "cannot check the hold with reservation: " + reply.error().message()));
        }
        if (reply->status == 404) return refuse(http::problem(404, "no hold " + hold));
        if (reply->status != 200) {
          return refuse(http::problem(
              502, fmt::format("reservation answered {} to the hold check", reply->status)));
        }
        json::error_code ec;
        const json::value h = json::parse(reply->body, ec);
        if (ec || !h.is_object()) {
          return refuse(http::problem(502, "reservation's hold is not JSON"));
        }
        const json::object& o = h.get_object();
        auto field = [&](std::string_view name) -> std::string {
          const json::value* v = o.if_contains(name);
          return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
        };
        if (field("buyer_id") != buyer_id) return refuse(http::problem(404, "no hold " + hold));
        const std::string status = field("status");
        const json::value* expired = o.if_contains("expired");
        if (status != "ACTIVE" ||
            (expired != nullptr && expired->is_bool() && expired->as_bool())) {
          return refuse(http::problem(
              409, status == "ACTIVE" ? "the hold has expired: hold the seats again"
                                      : "the hold is " + status + ": hold the seats again"));
        }
        const json::value* amount = o.if_contains("amount_minor");
        const int64_t amount_minor =
            amount != nullptr && amount->is_int64() ? amount->as_int64() : int64_t{0};
        std::string seats;
        if (const json::value* list = o.if_contains("seats"); list != nullptr && list->is_array()) {
          for (const auto& s : list->get_array()) {
            if (!seats.empty()) seats += ",";
            if (s.is_string()) seats += std::string(s.get_string());
          }
        }
        const std::string order_id = ids_.next().to_string();
        const std::string traceparent = current_traceparent();
        const trace::SpanContext* context = trace::current_context();
        const int64_t now = ctx_.clock.now_unix_ms();
        // With a worker slot free here, the first step is leased to this
        // replica as it is created and queued after the commit: no claim,
        // and no wake-up of every claimer. Otherwise it is left due.
        const bool local = reserve_slot();
        auto placed = ctx_.db.transact([&](db::Session& s) -> Status {
          // Sent with the COMMIT; a key or hold taken fails the commit
          // with kAlreadyExists, answered below.
          auto inserted = s.execute_deferred(
              "INSERT INTO orders (id, buyer_id, idempotency_key, request_hash, event_id, hold_id, "
              "seats, amount_minor, currency, status, trace_id, created_at, updated_at) VALUES "
              "($1, "
              "$2, $3, $4, $5, $6, $7, $8, $9, 'AUTHORIZING', $10, $11, $11)",
              {order_id, buyer_id, key, hash, field("event_id"), hold, seats, amount_minor,
               field("currency"),
               context != nullptr ? db::Value(context->trace_id.hex()) : db::Value(nullptr), now});
          if (!inserted) return fail(inserted.error());
          if (auto r = s.execute_deferred(
                  "INSERT INTO saga_steps (order_id, step, due_at, deadline_at, card_number, "
                  "traceparent, lease_owner, lease_until, attempts) VALUES ($1, 'authorize', $2, "
                  "$3, $4, $5, $6, $7, $8)",
                  {order_id, now, now + options_.authorize_deadline.count(), digits, traceparent,
                   local ? db::Value(options_.owner) : db::Value(nullptr),
                   local ? now + options_.lease.count() : int64_t{0}, int64_t{local ? 1 : 0}});
              !r) {
            return fail(r.error());
          }
          if (auto r = s.execute_deferred(
                  "INSERT INTO order_history (order_id, seq, at, status, detail) "
                  "VALUES ($1, 1, $2, 'AUTHORIZING', 'order placed')",
                  {order_id, now});
              !r) {
            return fail(r.error());
          }
          json::object payload{{"order_id", order_id},
                               {"hold_id", hold},
                               {"buyer_id", buyer_id},
                               {"event_id", field("event_id")},
                               {"status", "AUTHORIZING"}};
          auto added = outbox_.add(s, bus::OutboxMessage{.topic = std::string(kOrderEventsTopic),
                                                         .key = order_id,
                                                         .type = "order.placed",
                                                         .payload = json::serialize(payload),
                                                         .headers = {}});
          if (!added) return fail(added.error());
          if (!local) {
            if (auto st = ctx_.db.notify(s, kSagaChannel); !st) return fail(st.error());
          }
          return ok();
        });
        if (!placed) {
          if (local) release_slot();
          // A concurrent repeat won, or the hold already has an order. The
          // earlier order is read in a transaction of its own: on PostgreSQL
          // the failed insert ended this one.
          if (placed.error().code() == ErrorCode::kAlreadyExists) {
            return refuse(http::problem(409, "the hold already has an order"));
          }
          return shared->send(http::problem_for(placed.error()));
        }
        if (local) {
          queue_step(Step{.order_id = order_id,
                          .step = "authorize",
                          .attempts = 1,
                          .deadline_at = now + options_.authorize_deadline.count(),
                          .card_number = digits,
                          .traceparent = traceparent,
                          .amount = Amount{amount_minor, field("currency")}});
        }
        metrics_->transitions.Add({{"status", "AUTHORIZING"}}).Increment();
        http::Response r =
            http::json_response(202, json::object{{"id", order_id}, {"status", "AUTHORIZING"}});
        r.headers.set("Location", "/api/orders/" + order_id);
        shared->send(std::move(r));
      }));
}

namespace {

// The columns of an order that its JSON shows, for read() and list().
constexpr std::string_view kOrderColumns =
    "id, buyer_id, event_id, hold_id, seats, amount_minor, currency, status, reason, payment_id, "
    "trace_id, created_at, updated_at";

json::object order_json(const db::Row& r) {
  json::object o{{"id", r.get<std::string>("id")},
                 {"event_id", r.get<std::string>("event_id")},
                 {"hold_id", r.get<std::string>("hold_id")},
                 {"seats", split_seats(r.get<std::string>("seats"))},
                 {"amount_minor", r.get<int64_t>("amount_minor")},
                 {"currency", r.get<std::string>("currency")},
                 {"status", r.get<std::string>("status")},
                 {"terminal", is_terminal(r.get<std::string>("status"))},
                 {"created_at", services::format_rfc3339(r.get<int64_t>("created_at"))},
                 {"updated_at", services::format_rfc3339(r.get<int64_t>("updated_at"))}};
  if (auto reason = r.get<std::optional<std::string>>("reason")) o["reason"] = *reason;
  if (auto payment = r.get<std::optional<std::string>>("payment_id")) o["payment_id"] = *payment;
  if (auto trace_id = r.get<std::optional<std::string>>("trace_id")) o["trace_id"] = *trace_id;
  return o;
}

// A page of a buyer's orders ends where the next begins: `next` names the
// last order shown, by its creation time and id ("<ms>.<id>"), and the next
// page holds the orders older than it.
struct Cursor {
  int64_t created_at = 0;
  std::string id;
};

std::string to_cursor(const db::Row& r) {
  return std::to_string(r.get<int64_t>("created_at")) + "." + r.get<std::string>("id");
}

// `limit`: how many orders a page holds, kDefaultOrdersPerPage if not given.
Result<int64_t> parse_limit(const std::optional<std::string>& text) {
  if (!text) return kDefaultOrdersPerPage;
  const std::string_view digits = *text;
  int64_t limit = 0;
  const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), limit);
  if (ec != std::errc() || ptr != digits.data() + digits.size() || limit < 1 ||
      limit > kMaxOrdersPerPage) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("'limit' must be a whole number from 1 to {}", kMaxOrdersPerPage));
  }
  return limit;
}

Result<Cursor> parse_cursor(std::string_view text) {
  const auto bad = [&] {
    return fail(ErrorCode::kInvalidArgument,
                "'before' is not a cursor from this list: pass the 'next' of the page before");
  };
  const size_t dot = text.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == text.size()) return bad();
  Cursor cursor;
  const char* end = text.data() + dot;
  const auto [ptr, ec] = std::from_chars(text.data(), end, cursor.created_at);
  if (ec != std::errc() || ptr != end || cursor.created_at < 0) return bad();
  cursor.id = std::string(text.substr(dot + 1));
  return cursor;
}

}  // namespace

http::Response OrderService::read(const http::Request& request) {
  auto buyer = ctx_.auth.buyer(request);
  if (!buyer) return http::problem_for(buyer.error());
  const std::string id(request.param("order_id"));
  auto order = ctx_.db.transact(
      [&](db::Session& s) -> Result<json::object> {
        auto rows =
            s.query("SELECT " + std::string(kOrderColumns) + " FROM orders WHERE id = $1", {id});
        if (!rows) return fail(rows.error());
        // Another buyer's order does not exist, as far as this buyer knows.
        if (rows->empty() || (*rows)[0].get<std::string>("buyer_id") != *buyer) {
          return fail(ErrorCode::kNotFound, "no order " + id);
        }
        json::object o = order_json((*rows)[0]);
        auto history = s.query(
            "SELECT at, status, detail FROM order_history WHERE order_id = $1 ORDER BY seq", {id});
        if (!history) return fail(history.error());
        json::array steps;
        for (const auto& h : *history) {
          json::object step{{"at", services::format_rfc3339(h.get<int64_t>("at"))},
                            {"status", h.get<std::string>("status")}};
          if (auto detail = h.get<std::optional<std::string>>("detail")) step["detail"] = *detail;
          steps.push_back(std::move(step));
        }
        o["history"] = std::move(steps);
        return o;
      },
      {.read_only = true});
  if (!order) return http::problem_for(order.error());
  return http::json_response(200, *order);
}

http::Response OrderService::list(const http::Request& request) {
  auto buyer = ctx_.auth.buyer(request);
  if (!buyer) return http::problem_for(buyer.error());
  auto limit = parse_limit(request.query_param("limit"));
  if (!limit) return http::problem_for(limit.error());
  std::optional<Cursor> before;
  if (auto text = request.query_param("before")) {
    auto cursor = parse_cursor(*text);
    if (!cursor) return http::problem_for(cursor.error());
    before = std::move(*cursor);
  }
  auto page = ctx_.db.transact(
      [&](db::Session& s) -> Result<json::object> {
        // One more than asked for: whether there is a next page.
        std::string sql =
            "SELECT " + std::string(kOrderColumns) + " FROM orders WHERE buyer_id = $1";
        db::Params params{*buyer, *limit + 1};
        if (before) {
          sql += " AND (created_at < $3 OR (created_at = $3 AND id < $4))";
          params.emplace_back(before->created_at);
          params.emplace_back(before->id);
        }
        sql += " ORDER BY created_at DESC, id DESC LIMIT $2";
        auto rows = s.query(sql, params);
        if (!rows) return fail(rows.error());
        json::array orders;
        const auto shown = std::min(rows->size(), static_cast<size_t>(*limit));
        for (size_t i = 0; i < shown; ++i) orders.push_back(order_json((*rows)[i]));
        json::object out{{"orders", std::move(orders)}};
        if (rows->size() > shown) out["next"] = to_cursor((*rows)[shown - 1]);
        return out;
      },
      {.read_only = true});
  if (!page) return http::problem_for(page.error());
  return http::json_response(200, *page);
}

// ---- refunds --------------------------------------------------------------

namespace {

http::Response refund_accepted(const std::string& order_id, std::string_view status) {
  http::Response r = http::json_response(202, json::object{{"id", order_id}, {"status", status}});
  r.headers.set("Location", "/api/orders/" + order_id);
  return r;
}

// A refund asked for again answers as the first did: 202 with the status.
bool refund_under_way(std::string_view status) {
  return status == "REFUNDING" || status == "REFUNDED";
}

http::Response not_refundable(const std::string& status) {
  return http::problem(409, "only a completed order can be refunded; this one is " + status);
}

}  // namespace

void OrderService::request_refund(const http::Request& request, http::Responder responder) {
  auto buyer = ctx_.auth.buyer(request);
  if (!buyer) return responder.send(http::problem_for(buyer.error()));
  const std::string id(request.param("order_id"));
  struct Found {
    std::string status;
    std::string hold_id;
  };
  auto status_of = [&](db::Session& s) -> Result<Found> {
    auto rows = s.query("SELECT buyer_id, status, hold_id FROM orders WHERE id = $1", {id});
    if (!rows) return fail(rows.error());
    if (rows->empty() || (*rows)[0].get<std::string>("buyer_id") != *buyer) {
      return fail(ErrorCode::kNotFound, "no order " + id);
    }
    return Found{(*rows)[0].get<std::string>("status"), (*rows)[0].get<std::string>("hold_id")};
  };
  auto order = ctx_.db.transact(status_of, {.read_only = true});
  if (!order) return responder.send(http::problem_for(order.error()));
  if (refund_under_way(order->status)) return responder.send(refund_accepted(id, order->status));
  if (order->status != "COMPLETED") {
    return responder.send(not_refundable(order->status));
  }

  // Reservation voids the order's tickets first, or says why they cannot be
  // refunded: the event has started, or a ticket was used at the door.
  http::ClientRequest void_tickets{
      .method = http::Method::kPost,
      .url = peer_url(false) + "/internal/holds/" + order->hold_id + "/tickets/void",
      .headers = {},
      .body = {},
      .deadline = std::chrono::milliseconds(5000)};
  void_tickets.headers.set("Authorization", "Bearer " + ctx_.auth.service_token());
  auto shared = std::make_shared<http::Responder>(std::move(responder));
  client_.async_send(
      std::move(void_tickets), trace::bind_context([this, shared, id, buyer_id = *buyer](
                                                       Result<http::ClientResponse> reply) {
        if (!reply) {
          return shared->send(http::problem(
              503, "cannot void the tickets with reservation: " + reply.error().message()));
        }
        if (reply->status == 409) {
          // Why not, in reservation's words.
          json::error_code ec;
          const json::value problem = json::parse(reply->body, ec);
          const json::value* detail =
              !ec && problem.is_object() ? problem.get_object().if_contains("detail") : nullptr;
          return shared->send(
              http::problem(409, detail != nullptr && detail->is_string()
                                     ? std::string(detail->get_string())
                                     : std::string("reservation refused to void the tickets")));
        }
        if (reply->status != 200) {
          return shared->send(http::problem(
              502, fmt::format("reservation answered {} to voiding the tickets", reply->status)));
        }
        auto moved = ctx_.db.transact([&](db::Session& s) -> Result<std::string> {
          auto r = transition(s, id, {"COMPLETED"}, "REFUNDING", "requested_by_buyer", "refund",
                              true, "refunding");
          if (!r) return fail(r.error());
          if (*r) return std::string("REFUNDING");
          // Moved meanwhile: by a refund asked for at the same time.
          auto current =
              s.query("SELECT status FROM orders WHERE id = $1 AND buyer_id = $2", {id, buyer_id});
          if (!current) return fail(current.error());
          return current->empty() ? std::string() : (*current)[0].get<std::string>(0);
        });
        if (!moved) return shared->send(http::problem_for(moved.error()));
        if (!refund_under_way(*moved)) return shared->send(not_refundable(*moved));
        shared->send(refund_accepted(id, *moved));
      }));
}

// ---- transitions ----------------------------------------------------------

Result<bool> OrderService::transition(db::Session& session, const std::string& order_id,
                                      std::initializer_list<std::string_view> from,
                                      std::string_view status, std::string_view reason,
                                      std::string_view next_step, bool due, std::string_view event,
                                      const Step* held,
                                      const std::optional<std::string>& payment_id) {
  const int64_t now = ctx_.clock.now_unix_ms();
  db::Params params{order_id, std::string(status),
                    reason.empty() ? db::Value(nullptr) : db::Value(std::string(reason)), now,
                    payment_id ? db::Value(*payment_id) : db::Value(nullptr)};
  for (std::string_view status_from : from) params.emplace_back(std::string(status_from));
  const std::string in = db::placeholder_list(6, from.size());
  auto moved = session.query(
      "UPDATE orders SET status = $2, reason = COALESCE($3, reason), updated_at = $4, payment_id "
      "= COALESCE($5, payment_id) WHERE id = $1 AND status IN (" +
          in + ") RETURNING hold_id, buyer_id, event_id, reason",
      params);
  if (!moved) return fail(moved.error());
  if (moved->empty()) return false;
  const auto& order = (*moved)[0];
  db::Params step_params{order_id, std::string(next_step),
                         due ? db::Value(now) : db::Value(nullptr), current_traceparent()};
  if (held != nullptr) {
    step_params.emplace_back(held->step);
    step_params.emplace_back(options_.owner);
  }
  auto step = session.execute(
      "UPDATE saga_steps SET step = $2, due_at = $3, attempts = 0, lease_owner = NULL, "
      "lease_until = 0, card_number = NULL, traceparent = $4, last_error = NULL WHERE order_id = "
      "$1" +
          std::string(held != nullptr ? " AND step = $5 AND lease_owner = $6" : ""),
      step_params);
  if (!step) return fail(step.error());
  if (held != nullptr && *step == 0) return fail(ErrorCode::kAborted, "the step's lease was lost");
  auto history = session.execute_deferred(
      "INSERT INTO order_history (order_id, seq, at, status, detail) VALUES ($1, (SELECT "
      "COALESCE(MAX(seq), 0) + 1 FROM order_history WHERE order_id = $1), $2, $3, $4)",
      {order_id, now, std::string(status),
       reason.empty() ? db::Value(nullptr) : db::Value(std::string(reason))});
  if (!history) return fail(history.error());
  json::object payload{{"order_id", order_id},
                       {"hold_id", order.get<std::string>("hold_id")},
                       {"buyer_id", order.get<std::string>("buyer_id")},
                       {"event_id", order.get<std::string>("event_id")},
                       {"status", status}};
  if (auto r = order.get<std::optional<std::string>>("reason")) payload["reason"] = *r;
  auto added = outbox_.add(session, bus::OutboxMessage{.topic = std::string(kOrderEventsTopic),
                                                       .key = order_id,
                                                       .type = "order." + std::string(event),
                                                       .payload = json::serialize(payload),
                                                       .headers = {}});
  if (!added) return fail(added.error());
  if (due) {
    if (auto st = ctx_.db.notify(session, kSagaChannel); !st) return fail(st.error());
  }
  session.after_commit([metrics = metrics_, s = std::string(status)] {
    metrics->transitions.Add({{"status", s}}).Increment();
  });
  return true;
}

void OrderService::finish_step(const Step& step, std::string_view status, std::string_view reason,
                               std::string_view next_step, bool due, std::string_view event,
                               std::optional<std::string> payment_id) {
  auto st = ctx_.db.transact([&](db::Session& s) -> Status {
    // Only while this worker still holds the step (else kAborted rolls back).
    auto moved = step.step == "refund"
                     ? transition(s, step.order_id, {"REFUNDING"}, status, reason, next_step, due,
                                  event, &step, payment_id)
                     : transition(s, step.order_id, {"AUTHORIZING", "CANCELLING"}, status, reason,
                                  next_step, due, event, &step, payment_id);
    if (!moved) return fail(moved.error());
    return ok();
  });
  if (!st) {
    log::warn("order {}: cannot finish step {}: {}", step.order_id, step.step,
              st.error().message());
    if (st.error().code() != ErrorCode::kAborted) retry(step, st.error().message());
  }
}

void OrderService::retry(const Step& step, const std::string& error) {
  metrics_->retries.Increment();
  const int64_t shift = std::min<int64_t>(step.attempts, 16);
  const int64_t backoff = std::min<int64_t>(options_.retry_backoff.count() << shift,
                                            options_.max_retry_backoff.count());
  auto st = ctx_.db.transact([&](db::Session& s) -> Status {
    auto r = s.execute(
        "UPDATE saga_steps SET due_at = $3, lease_owner = NULL, lease_until = 0, last_error = $4 "
        "WHERE order_id = $1 AND lease_owner = $2",
        {step.order_id, options_.owner, ctx_.clock.now_unix_ms() + backoff, error});
    return r ? ok() : fail(r.error());
  });
  if (!st) log::warn("order {}: cannot reschedule: {}", step.order_id, st.error().message());
}

// ---- the saga worker ------------------------------------------------------

Result<std::vector<OrderService::Step>> OrderService::claim(int limit) {
  return ctx_.db.transact([&](db::Session& s) -> Result<std::vector<Step>> {
    const int64_t now = ctx_.clock.now_unix_ms();
    const bool pg = s.dialect() == db::Dialect::kPostgres;
    auto rows = s.query(
        "UPDATE saga_steps SET lease_owner = $1, lease_until = $2, attempts = attempts + 1 "
        "WHERE order_id IN (SELECT order_id FROM saga_steps WHERE due_at IS NOT NULL AND due_at "
        "<= $3 AND lease_until <= $3 ORDER BY due_at LIMIT $4" +
            std::string(pg ? " FOR UPDATE SKIP LOCKED" : "") +
            ") RETURNING order_id, step, attempts, deadline_at, card_number, traceparent",
        {options_.owner, now + options_.lease.count(), now, int64_t{limit}});
    if (!rows) return fail(rows.error());
    std::vector<Step> steps;
    steps.reserve(rows->size());
    for (const auto& r : *rows) {
      steps.push_back(Step{.order_id = r.get<std::string>("order_id"),
                           .step = r.get<std::string>("step"),
                           .attempts = r.get<int64_t>("attempts"),
                           .deadline_at = r.get<std::optional<int64_t>>("deadline_at"),
                           .card_number = r.get<std::optional<std::string>>("card_number"),
                           .traceparent = r.get<std::optional<std::string>>("traceparent")});
    }
    return steps;
  });
}

bool OrderService::reserve_slot() {
  std::lock_guard lock(mu_);
  if (stopping_ || busy_ >= options_.workers * 2) return false;
  ++busy_;
  return true;
}

void OrderService::release_slot() {
  {
    std::lock_guard lock(mu_);
    --busy_;
  }
  space_cv_.notify_one();
}

void OrderService::queue_step(Step step) {
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(step));
  }
  work_cv_.notify_one();
}

void OrderService::claim_loop() {
  set_thread_name("saga-claim");
  for (;;) {
    int free = 0;
    {
      std::unique_lock lock(mu_);
      space_cv_.wait(lock, [&] { return stopping_ || busy_ < options_.workers * 2; });
      if (stopping_) return;
      free = options_.workers * 2 - busy_;
    }
    auto steps = claim(free);
    if (!steps) {
      log::warn("order: cannot claim saga steps: {}", steps.error().message());
    } else if (!steps->empty()) {
      std::lock_guard lock(mu_);
      busy_ += static_cast<int>(steps->size());
      for (auto& s : *steps) queue_.push_back(std::move(s));
      work_cv_.notify_all();
      if (static_cast<int>(queue_.size()) >= free) continue;  // there may be more due
    }
    if (steps && !steps->empty()) continue;
    sample_steps();
    listener_->wait(options_.poll_interval);
  }
}

void OrderService::work_loop() {
  set_thread_name("saga-worker");
  for (;;) {
    Step step;
    {
      std::unique_lock lock(mu_);
      work_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping
      step = std::move(queue_.front());
      queue_.pop_front();
    }
    run_step(step);
    {
      std::lock_guard lock(mu_);
      --busy_;
    }
    space_cv_.notify_one();
  }
}

void OrderService::run_step(const Step& step) {
  trace::StartOptions start{.kind = trace::SpanKind::kInternal, .root = true};
  if (step.traceparent) start.parent = trace::from_text(*step.traceparent);
  trace::Span span = ctx_.tracer.start_span("saga " + step.step, std::move(start));
  span.set_attribute("order.id", step.order_id).set_attribute("saga.attempt", step.attempts);
  trace::Scope scope(span);
  if (step.step == "authorize") {
    authorize(step);
  } else if (step.step == "void") {
    reverse_payment(step, false);
  } else if (step.step == "refund") {
    reverse_payment(step, true);
  } else {
    log::warn("order {}: step {} is not due work; leaving it", step.order_id, step.step);
  }
}

void OrderService::authorize(const Step& step) {
  auto order = step.amount ? Result<Amount>(*step.amount) : read_amount(ctx_.db, step.order_id);
  if (!order) return retry(step, order.error().message());
  if (!step.card_number) {
    // Cannot happen: the card is erased only when the step moves on.
    return finish_step(step, "CANCELLING", "payment_unknown", "void", true, "cancelling");
  }
  http::ClientRequest request{
      .method = http::Method::kPost,
      .url = peer_url(true) + "/internal/payments/authorize",
      .headers = {},
      .body = json::serialize(json::object{{"order_id", step.order_id},
                                           {"amount_minor", order->first},
                                           {"currency", order->second},
                                           {"card_number", *step.card_number}}),
      .deadline = options_.payment_timeout};
  request.headers.set("Authorization", "Bearer " + ctx_.auth.service_token());
  request.headers.set("Content-Type", "application/json");
  request.headers.set("Idempotency-Key", "order-" + step.order_id);
  auto reply = client_.send(std::move(request));
  const bool past_deadline = step.deadline_at && ctx_.clock.now_unix_ms() >= *step.deadline_at;
  if (!reply) {
    if (reply.error().code() == ErrorCode::kDeadlineExceeded || past_deadline) {
      // The gateway may have authorized it: void to be sure.
      log::info("order {}: authorization outcome unknown ({}): voiding", step.order_id,
                reply.error().message());
      return finish_step(step, "CANCELLING", "payment_timeout", "void", true, "cancelling");
    }
    return retry(step, reply.error().message());
  }
  json::error_code ec;
  const json::value body = json::parse(reply->body, ec);
  auto text = [&](std::string_view name) -> std::string {
    if (ec || !body.is_object()) return {};
    const json::value* v = body.get_object().if_contains(name);
    return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
  };
  switch (reply->status) {
    case 200:
    case 201:
      return finish_step(step, "CONFIRMING", "", "await_seats", false, "confirmed", text("id"));
    case 402: {
      const std::string code = text("decline_code");
      return finish_step(step, "CANCELLED", code.empty() ? "card_declined" : code, "done", false,
                         "cancelled");
    }
    case 400:
    case 409:
    case 422: return finish_step(step, "CANCELLING", "payment_refused", "void", true, "cancelling");
    default:
      if (past_deadline) {
        return finish_step(step, "CANCELLING", "payment_unavailable", "void", true, "cancelling");
      }
      return retry(step, fmt::format("payment answered {}", reply->status));
  }
}

void OrderService::reverse_payment(const Step& step, bool refund) {
  const std::string_view action = refund ? "refund" : "void";
  http::ClientRequest request{
      .method = http::Method::kPost,
      .url = peer_url(true) + "/internal/payments/" + std::string(action),
      .headers = {},
      .body = json::serialize(
          json::object{{"idempotency_key", "order-" + step.order_id}, {"order_id", step.order_id}}),
      .deadline = options_.payment_timeout};
  request.headers.set("Authorization", "Bearer " + ctx_.auth.service_token());
  request.headers.set("Content-Type", "application/json");
  auto reply = client_.send(std::move(request));
  if (!reply) return retry(step, reply.error().message());
  if (reply->status != 200) {
    return retry(step, fmt::format("{} answered {}", action, reply->status));
  }
  if (refund) return finish_step(step, "REFUNDED", "", "done", false, "refunded");
  finish_step(step, "CANCELLED", "", "done", false, "cancelled");
}

// ---- reservation.events ---------------------------------------------------

Status OrderService::on_reservation_event(db::Session& session, const bus::Message& message) {
  const std::string type = message.type();
  if (type != "seats.confirmed" && type != "seats.rejected" && type != "event.cancelled") {
    return ok();
  }
  json::error_code ec;
  const json::value body = json::parse(message.payload, ec);
  if (ec || !body.is_object()) {
    return fail(ErrorCode::kInvalidArgument, "reservation event payload is not a JSON object");
  }
  auto order_id = services::string_field(body.get_object(), "order_id");
  if (!order_id) return fail(order_id.error());
  Result<bool> moved = false;
  if (type == "seats.confirmed") {
    moved =
        transition(session, *order_id, {"CONFIRMING"}, "COMPLETED", "", "done", false, "completed");
  } else if (type == "event.cancelled") {
    // The event's sold seats are refunded; an order refunding already, or
    // not completed (its seats were refused), is left as it is.
    moved = transition(session, *order_id, {"COMPLETED"}, "REFUNDING", "event_cancelled", "refund",
                       true, "refunding");
  } else {
    auto reason = services::optional_string_field(body.get_object(), "reason");
    moved = transition(session, *order_id, {"CONFIRMING"}, "CANCELLING",
                       reason && *reason ? **reason : "seats_not_confirmed", "void", true,
                       "cancelling");
  }
  if (!moved) return fail(moved.error());
  return ok();  // not moved: already past this point (a redelivery)
}

void OrderService::push_status(const bus::Message& message) {
  trace::Span process = bus::start_process_span(ctx_.tracer, ctx_.bus_system, message,
                                                std::string(kServiceName) + ".live");
  trace::Scope scope(process);
  json::error_code ec;
  json::value body = json::parse(message.payload, ec);
  if (ec || !body.is_object()) return;
  json::object& o = body.get_object();
  const json::value* id = o.if_contains("order_id");
  if (id == nullptr || !id->is_string()) return;
  const std::string topic = services::order_stream_topic(id->get_string());
  trace::Span push = ctx_.tracer.start_span("sse push " + std::string(kOrderEventsTopic),
                                            {.kind = trace::SpanKind::kProducer});
  push.set_attribute("messaging.system", "sse").set_attribute("messaging.destination.name", topic);
  o.erase("buyer_id");
  o["type"] = message.type();
  o["terminal"] = is_terminal(o["status"].is_string() ? std::string_view(o["status"].get_string())
                                                      : std::string_view());
  o["traceparent"] = trace::to_text(push.context());
  o["trace_id"] = push.context().trace_id.hex();
  ctx_.hub.publish(topic, "status", json::serialize(o));
}

// ---- routes ---------------------------------------------------------------

void OrderService::add_routes(http::Router& router) {
  router.add(
      http::Method::kPost, "/api/orders",
      [this](http::Request& r, http::Responder responder) { place(r, std::move(responder)); });
  router.add_sync(http::Method::kGet, "/api/orders",
                  [this](const http::Request& r) { return list(r); });
  router.add_sync(http::Method::kGet, "/api/orders/{order_id}",
                  [this](const http::Request& r) { return read(r); });
  router.add(http::Method::kPost, "/api/orders/{order_id}/refund",
             [this](http::Request& r, http::Responder responder) {
               request_refund(r, std::move(responder));
             });
  router.add(http::Method::kGet, "/api/orders/{order_id}/events",
             [this](http::Request& r, http::Responder responder) {
               // The order must be the buyer's; then its status stream.
               http::Response current = read(r);
               if (current.status != 200) return responder.send(std::move(current));
               const uint64_t last = http::last_event_id(r);
               responder.stream_events(ctx_.hub, services::order_stream_topic(r.param("order_id")),
                                       last);
             });
}

}  // namespace seatflow::order
