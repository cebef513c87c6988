// The payment service: authorizations, voids and refunds of card payments,
// against a mock card gateway.
//
// Authorizations are idempotent by the caller's Idempotency-Key: the same
// key and request answer the same payment, the same key with another request
// is refused (422). Amounts are integers in the currency's minor unit.
//
// The mock gateway decides by card number (docs/payments.md lists the test
// cards): approve, decline, insufficient funds, and a slow card that answers
// after `slow_card_delay`, longer than any caller waits. Every answer takes
// `latency`; a `failure_ratio` of requests fail with 503 before anything is
// recorded. A void for a key not (yet) authorized is recorded, so the late
// authorization is refused and nothing is ever charged for it.
//
// Its routes are under /internal/payments and need the service token: only
// the order service calls them.
//
// Thread safety: safe from any thread.
#pragma once

#include <array>
#include <chrono>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "core/scheduler.hpp"
#include "db/migrations.hpp"
#include "http/router.hpp"
#include "services/common/context.hpp"

namespace seatflow::payment {

inline constexpr std::string_view kServiceName = "payment";

std::vector<db::MigrationFile> migration_files();
// Where the later changes to the messaging tables land among this service's
// versions (see bus::messaging_upgrade_files).
inline constexpr std::array<int, 1> kMessagingUpgradeVersions = {5};

struct GatewayOptions {
  std::chrono::milliseconds latency{0};
  double failure_ratio = 0.0;
  std::chrono::milliseconds slow_card_delay{std::chrono::seconds(30)};
};

enum class CardOutcome { kApprove, kDecline, kInsufficientFunds, kSlowApprove };

struct TestCard {
  std::string_view number;
  CardOutcome outcome;
  std::string_view description;
};

// The documented test cards. Any other number that passes the Luhn check is
// approved.
const std::vector<TestCard>& test_cards();

CardOutcome gateway_outcome(std::string_view digits);

class PaymentService {
 public:
  PaymentService(services::ServiceContext context, GatewayOptions options);

  void add_routes(http::Router& router);

 private:
  struct Payment;
  struct Metrics;

  void authorize(http::Request& request, http::Responder responder);
  // Ends a PENDING payment with the gateway's answer (`outcome`, which the
  // card number decides) and responds.
  void decide(const std::string& payment_id, CardOutcome outcome, http::Responder responder);
  // Counts a decided payment in seatflow_payments_total by its status.
  void count_decision(const Payment& payment);
  http::Response void_or_refund(const http::Request& request, bool refund);
  Result<Payment> find(db::Session& session, std::string_view column, const std::string& value,
                       bool lock);

  services::ServiceContext ctx_;
  const GatewayOptions options_;
  UuidV7Generator ids_;
  std::shared_ptr<Metrics> metrics_;
  std::mutex random_mu_;
  std::mt19937_64 random_;  // guarded by random_mu_
  Scheduler scheduler_;     // last: its tasks use the members above
};

}  // namespace seatflow::payment
