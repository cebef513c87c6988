#include "services/payment/payment_service.hpp"

#include <fmt/core.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <boost/json/serialize.hpp>

#include "core/log.hpp"
#include "http/json.hpp"
#include "services/common/cards.hpp"
#include "services/common/json_fields.hpp"
#include "trace/span.hpp"

namespace seatflow::payment {

namespace json = boost::json;

const std::vector<TestCard>& test_cards() {
  static const std::vector<TestCard> kCards = {
      {"4242424242424242", CardOutcome::kApprove, "approved"},
      {"4000000000000002", CardOutcome::kDecline, "declined: card_declined"},
      {"4000000000009995", CardOutcome::kInsufficientFunds, "declined: insufficient_funds"},
      {"4000000000000077", CardOutcome::kSlowApprove,
       "approved too late: the order service stops waiting, voids the payment and cancels "
       "the order"},
  };
  return kCards;
}

CardOutcome gateway_outcome(std::string_view digits) {
  for (const auto& card : test_cards()) {
    if (card.number == digits) return card.outcome;
  }
  return CardOutcome::kApprove;
}

namespace {

std::string_view decline_code(CardOutcome outcome) {
  switch (outcome) {
    case CardOutcome::kDecline: return "card_declined";
    case CardOutcome::kInsufficientFunds: return "insufficient_funds";
    case CardOutcome::kApprove:
    case CardOutcome::kSlowApprove: break;
  }
  return "";
}

std::string_view outcome_name(CardOutcome outcome) {
  switch (outcome) {
    case CardOutcome::kApprove: return "approve";
    case CardOutcome::kDecline: return "decline";
    case CardOutcome::kInsufficientFunds: return "insufficient_funds";
    case CardOutcome::kSlowApprove: return "slow_approve";
  }
  return "approve";
}

constexpr std::string_view kColumns =
    "id, idempotency_key, request_hash, order_id, amount_minor, currency, card_last4, status, "
    "decline_code, gateway_outcome, decide_at";

}  // namespace

struct PaymentService::Payment {
  std::string id;
  std::string idempotency_key;
  std::string request_hash;
  std::string order_id;
  int64_t amount_minor = 0;
  std::string currency;
  std::string card_last4;
  std::string status;
  std::optional<std::string> decline_code;
  std::optional<std::string> gateway_outcome;
  std::optional<int64_t> decide_at;

  static Payment from_row(const db::Row& r) {
    return Payment{.id = r.get<std::string>("id"),
                   .idempotency_key = r.get<std::string>("idempotency_key"),
                   .request_hash = r.get<std::string>("request_hash"),
                   .order_id = r.get<std::string>("order_id"),
                   .amount_minor = r.get<int64_t>("amount_minor"),
                   .currency = r.get<std::string>("currency"),
                   .card_last4 = r.get<std::string>("card_last4"),
                   .status = r.get<std::string>("status"),
                   .decline_code = r.get<std::optional<std::string>>("decline_code"),
                   .gateway_outcome = r.get<std::optional<std::string>>("gateway_outcome"),
                   .decide_at = r.get<std::optional<int64_t>>("decide_at")};
  }

  json::object to_json() const {
    json::object o{{"id", id},
                   {"idempotency_key", idempotency_key},
                   {"order_id", order_id},
                   {"status", status},
                   {"amount_minor", amount_minor},
                   {"currency", currency},
                   {"card_last4", card_last4}};
    if (decline_code) o["decline_code"] = *decline_code;
    return o;
  }

  // The answer to an authorization: 201 authorized, 202 still pending, 402
  // declined, 409 voided or refunded.
  http::Response response() const {
    json::object o = to_json();
    if (status == "AUTHORIZED") return http::json_response(201, o);
    if (status == "PENDING") return http::json_response(202, o);
    if (status == "DECLINED") {
      o["type"] = "about:blank";
      o["title"] = "Payment Required";
      o["status"] = 402;
      o["detail"] = "the card was declined: " + decline_code.value_or("card_declined");
      o["payment_status"] = "DECLINED";
      http::Response r = http::json_response(402, o);
      r.headers.set("Content-Type", "application/problem+json");
      return r;
    }
    return http::problem(409, "the payment is " + status);
  }
};

struct PaymentService::Metrics {
  explicit Metrics(prometheus::Registry& r)
      : family(prometheus::BuildCounter()
                   .Name("seatflow_payments_total")
                   .Help("Payment operations by outcome")
                   .Register(r)) {}
  prometheus::Family<prometheus::Counter>& family;
  prometheus::Counter& count(std::string_view outcome) {
    return family.Add({{"outcome", std::string(outcome)}});
  }
};

PaymentService::PaymentService(services::ServiceContext context, GatewayOptions options)
    : ctx_(std::move(context)),
      options_(options),
      ids_(ctx_.clock),
      metrics_(std::make_shared<Metrics>(ctx_.registry.prometheus())),
      random_(std::random_device{}()) {}

Result<PaymentService::Payment> PaymentService::find(db::Session& session, std::string_view column,
                                                     const std::string& value, bool lock) {
  auto rows = session.query(
      fmt::format("SELECT {} FROM payments WHERE {} = $1{}", kColumns, column,
                  lock && session.dialect() == db::Dialect::kPostgres ? " FOR UPDATE" : ""),
      {value});
  if (!rows) return fail(rows.error());
  if (rows->empty())
    return fail(ErrorCode::kNotFound, "no payment with " + std::string(column) + " " + value);
  return Payment::from_row((*rows)[0]);
}

void PaymentService::authorize(http::Request& request, http::Responder responder) {
  if (auto st = ctx_.auth.service(request); !st)
    return responder.send(http::problem_for(st.error()));
  auto key = request.header("Idempotency-Key");
  if (!key || key->empty() || key->size() > 200) {
    return responder.send(http::problem(400,
                                        "an Idempotency-Key header (1 to 200 characters) "
                                        "is required"));
  }
  auto body = http::parse_json_body(request);
  if (!body) return responder.send(http::json_error_response(body.error()));
  auto object = services::as_object(*body);
  if (!object) return responder.send(http::problem_for(object.error()));
  auto order_id = services::string_field(**object, "order_id");
  auto amount = services::integer_field(**object, "amount_minor", 1, 100'000'000'000);
  auto currency = services::currency_field(**object);
  auto card = services::string_field(**object, "card_number", 40);
  for (const Error* e : {order_id ? nullptr : &order_id.error(), amount ? nullptr : &amount.error(),
                         currency ? nullptr : &currency.error(), card ? nullptr : &card.error()}) {
    if (e != nullptr) return responder.send(http::problem_for(*e));
  }
  const std::string digits = services::normalize_card_number(*card);
  if (!services::valid_card_number(digits)) {
    return responder.send(http::problem(400, "field 'card_number' is not a valid card number"));
  }
  {
    std::lock_guard lock(random_mu_);
    if (options_.failure_ratio > 0 &&
        std::uniform_real_distribution<double>(0, 1)(random_) < options_.failure_ratio) {
      metrics_->count("gateway_unavailable").Increment();
      return responder.send(
          http::problem(503, "the card gateway is unavailable (injected failure)"));
    }
  }
  const std::string hash =
      services::sha256_hex(fmt::format("{}|{}|{}|{}", *order_id, *amount, *currency, digits));
  const std::string idempotency_key(*key);
  const CardOutcome outcome = gateway_outcome(digits);
  auto delay = options_.latency;
  if (outcome == CardOutcome::kSlowApprove) delay += options_.slow_card_delay;
  // A card the gateway answers at once is decided in the transaction that
  // records the payment; a slower one is recorded PENDING and decided when due.
  const bool at_once = delay.count() == 0;
  const std::string_view code = decline_code(outcome);
  bool created = false;
  auto payment = ctx_.db.transact([&](db::Session& s) -> Result<Payment> {
    Payment p{
        .id = ids_.next().to_string(),
        .idempotency_key = idempotency_key,
        .request_hash = hash,
        .order_id = *order_id,
        .amount_minor = *amount,
        .currency = *currency,
        .card_last4 = digits.substr(digits.size() - 4),
        .status = !at_once       ? "PENDING"
                  : code.empty() ? "AUTHORIZED"
                                 : "DECLINED",
        .decline_code = at_once && !code.empty() ? std::optional<std::string>(code) : std::nullopt};
    const int64_t now = ctx_.clock.now_unix_ms();
    auto inserted = s.execute(
        "INSERT INTO payments (id, idempotency_key, request_hash, order_id, amount_minor, "
        "currency, card_last4, status, decline_code, gateway_outcome, decide_at, created_at, "
        "updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) "
        "ON CONFLICT (idempotency_key) DO NOTHING",
        {p.id, p.idempotency_key, p.request_hash, p.order_id, p.amount_minor, p.currency,
         p.card_last4, p.status, p.decline_code ? db::Value(*p.decline_code) : db::Value(nullptr),
         std::string(outcome_name(outcome)), now + delay.count(), now});
    if (!inserted) return fail(inserted.error());
    if (*inserted == 1) {
      created = true;
      return p;
    }
    // The key was used before: a repeat, or a void that came first.
    auto existing = find(s, "idempotency_key", idempotency_key, true);
    if (!existing) return fail(existing.error());
    if (existing->request_hash.empty()) {
      return fail(ErrorCode::kConflict, "the payment was voided before it was authorized");
    }
    if (existing->request_hash != hash) {
      return fail(ErrorCode::kFailedPrecondition,
                  "Idempotency-Key " + idempotency_key + " was used for another request");
    }
    return std::move(*existing);
  });
  if (!payment) return responder.send(http::problem_for(payment.error()));
  if (created && at_once) {
    count_decision(*payment);
    return responder.send(payment->response());
  }
  if (!created) {
    // A repeat. A PENDING payment whose answer was lost (this process
    // restarted) is answered when it is due, like the first request.
    if (payment->status != "PENDING" || !payment->decide_at) {
      return responder.send(payment->response());
    }
    delay = std::chrono::milliseconds(
        std::max<int64_t>(0, *payment->decide_at - ctx_.clock.now_unix_ms()));
  }
  if (delay.count() == 0) return decide(payment->id, outcome, std::move(responder));
  auto shared = std::make_shared<http::Responder>(std::move(responder));
  scheduler_.schedule(delay, trace::bind_context([this, id = payment->id, outcome, shared] {
                        decide(id, outcome, std::move(*shared));
                      }));
}

void PaymentService::decide(const std::string& payment_id, CardOutcome outcome,
                            http::Responder responder) {
  auto payment = ctx_.db.transact([&](db::Session& s) -> Result<Payment> {
    const std::string_view code = decline_code(outcome);
    auto decided = s.query(
        fmt::format("UPDATE payments SET status = $2, decline_code = $3, updated_at = $4 WHERE id "
                    "= $1 AND status = 'PENDING' RETURNING {}",
                    kColumns),
        {payment_id, std::string(code.empty() ? "AUTHORIZED" : "DECLINED"),
         code.empty() ? db::Value(nullptr) : db::Value(std::string(code)),
         ctx_.clock.now_unix_ms()});
    if (!decided) return fail(decided.error());
    if (!decided->empty()) return Payment::from_row((*decided)[0]);
    return find(s, "id", payment_id, false);  // decided already, or voided first
  });
  if (!payment) return responder.send(http::problem_for(payment.error()));
  count_decision(*payment);
  responder.send(payment->response());
}

void PaymentService::count_decision(const Payment& payment) {
  metrics_
      ->count(payment.status == "AUTHORIZED" ? "authorized"
              : payment.status == "DECLINED" ? "declined"
                                             : "voided_before_authorized")
      .Increment();
}

http::Response PaymentService::void_or_refund(const http::Request& request, bool refund) {
  if (auto st = ctx_.auth.service(request); !st) return http::problem_for(st.error());
  auto body = http::parse_json_body(request);
  if (!body) return http::json_error_response(body.error());
  auto object = services::as_object(*body);
  if (!object) return http::problem_for(object.error());
  auto key = services::string_field(**object, "idempotency_key");
  if (!key) return http::problem_for(key.error());
  auto order_id = services::optional_string_field(**object, "order_id");
  if (!order_id) return http::problem_for(order_id.error());
  auto payment = ctx_.db.transact([&](db::Session& s) -> Result<Payment> {
    auto existing = find(s, "idempotency_key", *key, true);
    const int64_t now = ctx_.clock.now_unix_ms();
    if (!existing) {
      if (existing.error().code() != ErrorCode::kNotFound || refund) {
        return fail(existing.error());
      }
      // Voided before it was ever authorized: remember, to refuse it later.
      Payment p{.id = ids_.next().to_string(),
                .idempotency_key = *key,
                .request_hash = "",
                .order_id = order_id->value_or(""),
                .amount_minor = 0,
                .currency = "",
                .card_last4 = "",
                .status = "VOIDED",
                .decline_code = std::nullopt};
      auto inserted = s.execute(
          "INSERT INTO payments (id, idempotency_key, request_hash, order_id, amount_minor, "
          "currency, card_last4, status, created_at, updated_at) VALUES ($1, $2, '', $3, 0, '', "
          "'', 'VOIDED', $4, $4)",
          {p.id, p.idempotency_key, p.order_id, now});
      if (!inserted) return fail(inserted.error());
      return p;
    }
    Payment p = std::move(*existing);
    const std::string target = refund ? "REFUNDED" : "VOIDED";
    if (p.status == target || (!refund && p.status == "DECLINED")) return p;  // nothing to do
    const bool allowed =
        refund ? p.status == "AUTHORIZED" : (p.status == "PENDING" || p.status == "AUTHORIZED");
    if (!allowed) {
      return fail(ErrorCode::kConflict, fmt::format("a {} payment cannot be {}", p.status,
                                                    refund ? "refunded" : "voided"));
    }
    auto updated = s.execute("UPDATE payments SET status = $2, updated_at = $3 WHERE id = $1",
                             {p.id, target, now});
    if (!updated) return fail(updated.error());
    p.status = target;
    return p;
  });
  if (!payment) return http::problem_for(payment.error());
  metrics_->count(refund ? "refunded" : "voided").Increment();
  return http::json_response(200, json::object{{"id", payment->id},
                                               {"idempotency_key", payment->idempotency_key},
                                               {"order_id", payment->order_id},
                                               {"status", payment->status}});
}

void PaymentService::add_routes(http::Router& router) {
  router.add(
      http::Method::kPost, "/internal/payments/authorize",
      [this](http::Request& r, http::Responder responder) { authorize(r, std::move(responder)); });
  router.add_sync(http::Method::kPost, "/internal/payments/void",
                  [this](const http::Request& r) { return void_or_refund(r, false); });
  router.add_sync(http::Method::kPost, "/internal/payments/refund",
                  [this](const http::Request& r) { return void_or_refund(r, true); });
  router.add_sync(http::Method::kGet, "/internal/payments/{payment_id}",
                  [this](const http::Request& r) {
                    if (auto st = ctx_.auth.service(r); !st) return http::problem_for(st.error());
                    auto payment = ctx_.db.transact(
                        [&](db::Session& s) {
                          return find(s, "id", std::string(r.param("payment_id")), false);
                        },
                        {.read_only = true});
                    if (!payment) return http::problem_for(payment.error());
                    return http::json_response(200, payment->to_json());
                  });
  // Public: the UI lists the test cards on the checkout page.
  router.add_sync(http::Method::kGet, "/api/payments/test-cards", [](const http::Request&) {
    json::array cards;
    for (const auto& c : test_cards()) {
      cards.push_back(json::object{{"number", c.number}, {"outcome", c.description}});
    }
    return http::json_response(200, json::object{{"cards", std::move(cards)}});
  });
}

}  // namespace seatflow::payment
