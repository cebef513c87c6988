// The services' real migrations, applied in two steps to a database that
// already holds rows: what an upgrade does to a user's data. Each backend
// gets its dialect's variant of every version.
#include <optional>
#include <set>
#include <span>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "bus/outbox.hpp"
#include "core/clock.hpp"
#include "db/migrations.hpp"
#include "services/order/order_service.hpp"
#include "services/payment/payment_service.hpp"
#include "services/reservation/reservation_service.hpp"
#include "tests/db/test_database.hpp"

namespace seatflow::db {
namespace {

// Where each service takes the later changes to the messaging tables.
std::span<const int> messaging_upgrades_of(std::string_view service) {
  if (service == "reservation") return reservation::kMessagingUpgradeVersions;
  if (service == "payment") return payment::kMessagingUpgradeVersions;
  return order::kMessagingUpgradeVersions;
}

// A service's migrations (with the messaging tables every service has) up
// to and including `last` (0: all).
std::vector<Migration> service_migrations(std::string_view service,
                                          const std::vector<MigrationFile>& own, Dialect dialect,
                                          int last) {
  auto all =
      select_migrations(bus::service_migration_files(own, messaging_upgrades_of(service)), dialect);
  EXPECT_TRUE(all) << all.error().to_string();
  std::vector<Migration> out;
  for (auto& m : all ? *all : std::vector<Migration>{}) {
    if (last == 0 || m.version <= last) out.push_back(std::move(m));
  }
  return out;
}

class SchemaUpgrade : public ::testing::Test {
 protected:
  void SetUp() override { db_ = test_db_.open(); }

  // Migrates the order service's tables, or the reservation service's.
  void migrate_to(int last, bool reservation = false) {
    if (reservation) {
      migrate_service("reservation", reservation::migration_files(), last);
    } else {
      migrate_service("order", order::migration_files(), last);
    }
  }

  void migrate_service(std::string_view service, const std::vector<MigrationFile>& files,
                       int last) {
    Migrator m(*db_, std::string(service),
               service_migrations(service, files, test_db_.dialect(), last), clock_);
    auto applied = m.migrate();
    ASSERT_TRUE(applied) << applied.error().to_string();
    ASSERT_TRUE(m.validate()) << m.validate().error().to_string();
  }

  // Each of `values` may be written to `column` of the row `where` picks,
  // and a value not among them may not. The row is left as it was.
  void expect_only(std::string_view table, std::string_view column, std::string_view where,
                   const std::vector<std::string>& values) {
    const std::string update = "UPDATE " + std::string(table) + " SET " + std::string(column) +
                               " = $1 WHERE " + std::string(where);
    const Rows before = query("SELECT " + std::string(column) + " FROM " + std::string(table) +
                              " WHERE " + std::string(where));
    ASSERT_EQ(before.size(), 1u);
    for (const auto& value : values) {
      EXPECT_TRUE(run(update, {value})) << table << "." << column << " = " << value;
    }
    EXPECT_FALSE(run(update, {std::string("LOST")})) << table << "." << column << " still checked";
    EXPECT_FALSE(run(update, {std::string("sold")})) << "compared as written";
    ASSERT_TRUE(run(update, {before[0].get<std::string>(0)}));
  }

  // On SQLite no CHECK constraint lists its values as `IN (...)`, which
  // SQLite checks by building a temporary b-tree on every write.
  void expect_checks_without_value_lists() {
    if (test_db_.dialect() != Dialect::kSqlite) return;
    const Rows listed =
        query("SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE '%CHECK%IN (''%'");
    EXPECT_TRUE(listed.empty()) << listed[0].get<std::string>(0);
  }

  // On SQLite, after a rebuild: the foreign keys hold, and no table named
  // `<name>_<suffix>` is left or referred to.
  void expect_old_tables_gone(std::string_view suffix) {
    if (test_db_.dialect() != Dialect::kSqlite) return;
    EXPECT_TRUE(query("PRAGMA foreign_key_check").empty());
    const std::string like = "'%\\_" + std::string(suffix);
    EXPECT_TRUE(query("SELECT name FROM sqlite_master WHERE name LIKE " + like +
                      "' ESCAPE '\\' OR sql LIKE " + like + "%' ESCAPE '\\'")
                    .empty());
  }

  Status run(std::string_view sql, const Params& params = {}) {
    return db_->transact([&](Session& s) -> Status {
      auto n = s.execute(sql, params);
      return n ? ok() : fail(n.error());
    });
  }

  // Reservation's event e1 and hold h1 of its seat A-1-1, SOLD to order o1,
  // in the columns every version since V3 has.
  void insert_sold_hold() {
    ASSERT_TRUE(
        run("INSERT INTO events (id, name, venue, starts_at, currency, seat_count, created_at) "
            "VALUES ('e1', 'Show', 'Hall', 100, 'EUR', 1, 1)"));
    ASSERT_TRUE(
        run("INSERT INTO holds (id, event_id, buyer_id, status, seats, seat_count, amount_minor, "
            "currency, expires_at, created_at, order_id) VALUES ('h1', 'e1', 'b1', 'SOLD', "
            "'A-1-1', 1, 5000, 'EUR', 50, 1, 'o1')"));
  }

  Rows query(std::string_view sql, const Params& params = {}) {
    auto rows = db_->transact([&](Session& s) { return s.query(sql, params); });
    EXPECT_TRUE(rows) << rows.error().to_string();
    return rows ? *rows : Rows{};
  }

  ManualClock clock_;
  testing::TestDatabase test_db_;
  std::unique_ptr<Database> db_;
};

TEST_F(SchemaUpgrade, OrdersSagaStepsAndHistoryKeepTheirRowsAndForeignKeysThroughV4) {
  migrate_to(3);
  ASSERT_TRUE(
      run("INSERT INTO orders (id, buyer_id, idempotency_key, request_hash, event_id, "
          "hold_id, seats, amount_minor, currency, status, created_at, updated_at) VALUES "
          "('o1', 'b1', 'k1', 'h1', 'e1', 'hold1', 'A-1-1,A-1-2', 10000, 'EUR', "
          "'CONFIRMING', 1, 2)"));
  ASSERT_TRUE(
      run("INSERT INTO saga_steps (order_id, step, due_at, attempts, traceparent) "
          "VALUES ('o1', 'await_seats', NULL, 1, '00-0af7651916cd43dd8448eb211c80319c-"
          "b7ad6b7169203331-01')"));
  ASSERT_TRUE(
      run("INSERT INTO order_history (order_id, seq, at, status, detail) VALUES "
          "('o1', 1, 1, 'AUTHORIZING', NULL), ('o1', 2, 2, 'CONFIRMING', 'authorized')"));

  migrate_to(0);

  const Rows orders = query("SELECT id, hold_id, seats, amount_minor, status FROM orders");
  ASSERT_EQ(orders.size(), 1u);
  EXPECT_EQ(orders[0].get<std::string>(1), "hold1");
  EXPECT_EQ(orders[0].get<std::string>(2), "A-1-1,A-1-2");
  EXPECT_EQ(orders[0].get<int64_t>(3), 10000);
  EXPECT_EQ(orders[0].get<std::string>(4), "CONFIRMING");
  const Rows steps = query("SELECT step, attempts, traceparent FROM saga_steps");
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_EQ(steps[0].get<std::string>(0), "await_seats");
  EXPECT_EQ(steps[0].get<int64_t>(1), 1);
  const Rows history = query("SELECT seq, detail FROM order_history ORDER BY seq");
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[1].get<std::optional<std::string>>(1), "authorized");

  // The keys and references hold as before.
  EXPECT_FALSE(run("INSERT INTO saga_steps (order_id, step) VALUES ('nobody', 'authorize')"))
      << "a step for an order that does not exist";
  EXPECT_FALSE(
      run("INSERT INTO order_history (order_id, seq, at, status) VALUES "
          "('nobody', 1, 1, 'AUTHORIZING')"))
      << "history of an order that does not exist";
  EXPECT_FALSE(
      run("INSERT INTO orders (id, buyer_id, idempotency_key, request_hash, event_id, "
          "hold_id, seats, amount_minor, currency, status, created_at, updated_at) "
          "VALUES ('o2', 'b2', 'k2', 'h2', 'e1', 'hold1', 'A-1-3', 5000, 'EUR', "
          "'AUTHORIZING', 3, 3)"))
      << "a second order for the same hold";
  EXPECT_FALSE(
      run("INSERT INTO orders (id, buyer_id, idempotency_key, request_hash, event_id, "
          "hold_id, seats, amount_minor, currency, status, created_at, updated_at) "
          "VALUES ('o3', 'b1', 'k1', 'h3', 'e1', 'hold3', 'A-1-4', 5000, 'EUR', "
          "'AUTHORIZING', 3, 3)"))
      << "a buyer's idempotency key used twice";

  if (test_db_.dialect() == Dialect::kSqlite) {
    EXPECT_TRUE(query("PRAGMA foreign_key_check").empty());
    // The old tables are gone, and nothing refers to them.
    EXPECT_TRUE(
        query("SELECT name FROM sqlite_master WHERE name LIKE '%_v3' OR sql LIKE '%_v3%'").empty());
  }
  EXPECT_TRUE(query("SELECT 1 FROM saga_steps WHERE due_at IS NOT NULL").empty());
}

TEST_F(SchemaUpgrade, V5KeepsOrdersAndAllowsTheirRefund) {
  migrate_to(4);
  ASSERT_TRUE(
      run("INSERT INTO orders (id, buyer_id, idempotency_key, request_hash, event_id, "
          "hold_id, seats, amount_minor, currency, status, created_at, updated_at) VALUES "
          "('o1', 'b1', 'k1', 'h1', 'e1', 'hold1', 'A-1-1', 5000, 'EUR', 'COMPLETED', 1, 2)"));
  ASSERT_TRUE(run("INSERT INTO saga_steps (order_id, step) VALUES ('o1', 'done')"));
  ASSERT_TRUE(
      run("INSERT INTO order_history (order_id, seq, at, status) VALUES ('o1', 1, 1, "
          "'COMPLETED')"));
  EXPECT_FALSE(run("UPDATE orders SET status = 'REFUNDING' WHERE id = 'o1'"))
      << "V4 knows no refund";

  migrate_to(0);

  EXPECT_EQ(query("SELECT status FROM orders WHERE id = 'o1'")[0].get<std::string>(0), "COMPLETED");
  EXPECT_EQ(query("SELECT COUNT(*) FROM order_history")[0].get<int64_t>(0), 1);
  EXPECT_TRUE(run("UPDATE orders SET status = 'REFUNDING' WHERE id = 'o1'"));
  EXPECT_TRUE(run("UPDATE saga_steps SET step = 'refund' WHERE order_id = 'o1'"));
  EXPECT_TRUE(run("UPDATE orders SET status = 'REFUNDED' WHERE id = 'o1'"));
  EXPECT_FALSE(run("UPDATE orders SET status = 'LOST' WHERE id = 'o1'")) << "still checked";
  EXPECT_FALSE(run("UPDATE saga_steps SET step = 'wander' WHERE order_id = 'o1'"));
  EXPECT_FALSE(run("INSERT INTO saga_steps (order_id, step) VALUES ('nobody', 'authorize')"))
      << "a step for an order that does not exist";
  if (test_db_.dialect() == Dialect::kSqlite) {
    EXPECT_TRUE(query("PRAGMA foreign_key_check").empty());
    EXPECT_TRUE(
        query("SELECT name FROM sqlite_master WHERE name LIKE '%_v4' OR sql LIKE '%_v4%'").empty());
  }
}

TEST_F(SchemaUpgrade, V5KeepsHoldsAndTheirIndexesAndAllowsAReturnedOne) {
  migrate_to(4, true);
  ASSERT_NO_FATAL_FAILURE(insert_sold_hold());
  EXPECT_FALSE(run("UPDATE holds SET status = 'RETURNED' WHERE id = 'h1'"));

  migrate_to(0, true);

  const Rows holds = query("SELECT status, order_id, seats FROM holds");
  ASSERT_EQ(holds.size(), 1u);
  EXPECT_EQ(holds[0].get<std::string>(0), "SOLD");
  EXPECT_EQ(holds[0].get<std::string>(1), "o1");
  EXPECT_TRUE(run("UPDATE holds SET status = 'RETURNED' WHERE id = 'h1'"));
  EXPECT_FALSE(run("UPDATE holds SET status = 'LOST' WHERE id = 'h1'")) << "still checked";
  EXPECT_FALSE(
      run("INSERT INTO holds (id, event_id, buyer_id, status, seats, seat_count, amount_minor, "
          "currency, expires_at, created_at) VALUES ('h2', 'nowhere', 'b1', 'ACTIVE', 'A-1-2', "
          "1, 5000, 'EUR', 50, 1)"))
      << "a hold on an event that does not exist";
  if (test_db_.dialect() == Dialect::kSqlite) {
    EXPECT_TRUE(query("PRAGMA foreign_key_check").empty());
    const Rows indexes = query(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'holds' AND name "
        "NOT LIKE 'sqlite_%' ORDER BY name");
    ASSERT_EQ(indexes.size(), 2u);
    EXPECT_EQ(indexes[0].get<std::string>(0), "holds_active_by_expiry");
    EXPECT_EQ(indexes[1].get<std::string>(0), "holds_by_buyer");
  }
}

TEST_F(SchemaUpgrade, V7KeepsSoldHoldsWithTicketsThatAdmitOnce) {
  migrate_to(6, true);
  ASSERT_NO_FATAL_FAILURE(insert_sold_hold());

  migrate_to(0, true);

  const Rows holds = query("SELECT status, order_id, tickets_voided_at FROM holds");
  ASSERT_EQ(holds.size(), 1u);
  EXPECT_EQ(holds[0].get<std::string>(0), "SOLD");
  EXPECT_EQ(holds[0].get<std::string>(1), "o1");
  EXPECT_FALSE(holds[0].get<std::optional<int64_t>>(2)) << "no ticket voided by the upgrade";
  EXPECT_TRUE(
      run("INSERT INTO check_ins (hold_id, seat_id, event_id, checked_in_at) VALUES ('h1', "
          "'A-1-1', 'e1', 90)"));
  EXPECT_FALSE(
      run("INSERT INTO check_ins (hold_id, seat_id, event_id, checked_in_at) VALUES ('h1', "
          "'A-1-1', 'e1', 91)"))
      << "a ticket admits once";
  EXPECT_FALSE(
      run("INSERT INTO check_ins (hold_id, seat_id, event_id, checked_in_at) VALUES ('nowhere', "
          "'A-1-1', 'e1', 92)"))
      << "a check-in of a hold that does not exist";
}

TEST_F(SchemaUpgrade, V10KeepsSeatsHoldsAndCheckInsAndChecksTheirStatesAsBefore) {
  migrate_to(9, true);
  ASSERT_NO_FATAL_FAILURE(insert_sold_hold());
  ASSERT_TRUE(
      run("INSERT INTO seats (event_id, seat_id, pos, section, row_label, number, tier, state, "
          "hold_id, order_id, version) VALUES ('e1', 'A-1-1', 0, 'A', '1', 1, 'std', 'SOLD', "
          "'h1', 'o1', 3), ('e1', 'A-1-2', 1, 'A', '1', 2, 'std', 'AVAILABLE', NULL, NULL, 0)"));
  ASSERT_TRUE(
      run("INSERT INTO check_ins (hold_id, seat_id, event_id, checked_in_at) VALUES ('h1', "
          "'A-1-1', 'e1', 90)"));

  migrate_to(0, true);

  const Rows seats =
      query("SELECT seat_id, state, hold_id, order_id, version, pos FROM seats ORDER BY pos");
  ASSERT_EQ(seats.size(), 2u);
  EXPECT_EQ(seats[0].get<std::string>(1), "SOLD");
  EXPECT_EQ(seats[0].get<std::optional<std::string>>(2), "h1");
  EXPECT_EQ(seats[0].get<std::optional<std::string>>(3), "o1");
  EXPECT_EQ(seats[0].get<int64_t>(4), 3);
  EXPECT_EQ(seats[1].get<std::string>(1), "AVAILABLE");
  EXPECT_EQ(query("SELECT status FROM holds WHERE id = 'h1'")[0].get<std::string>(0), "SOLD");
  EXPECT_EQ(query("SELECT checked_in_at FROM check_ins")[0].get<int64_t>(0), 90);

  expect_only("seats", "state", "seat_id = 'A-1-2'", {"AVAILABLE", "HELD", "SOLD"});
  expect_only("holds", "status", "id = 'h1'",
              {"ACTIVE", "RELEASED", "EXPIRED", "SOLD", "RETURNED"});
  EXPECT_FALSE(
      run("INSERT INTO seats (event_id, seat_id, pos, section, row_label, number, tier) VALUES "
          "('e1', 'A-1-3', 1, 'A', '1', 3, 'std')"))
      << "a place taken twice";
  EXPECT_EQ(query("SELECT state FROM seats WHERE seat_id = 'A-1-2'")[0].get<std::string>(0),
            "AVAILABLE");
  EXPECT_FALSE(
      run("INSERT INTO check_ins (hold_id, seat_id, event_id, checked_in_at) VALUES ('h1', "
          "'A-1-1', 'e1', 91)"))
      << "a ticket admits once";
  EXPECT_FALSE(
      run("INSERT INTO check_ins (hold_id, seat_id, event_id, checked_in_at) VALUES ('nowhere', "
          "'A-1-2', 'e1', 92)"))
      << "a check-in of a hold that does not exist";
  expect_checks_without_value_lists();
  expect_old_tables_gone("v9");
  if (test_db_.dialect() == Dialect::kSqlite) {
    const Rows indexes = query(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name IN ('seats', 'holds', "
        "'check_ins') AND name NOT LIKE 'sqlite_%' ORDER BY name");
    ASSERT_EQ(indexes.size(), 4u);
    EXPECT_EQ(indexes[0].get<std::string>(0), "check_ins_by_event");
    EXPECT_EQ(indexes[1].get<std::string>(0), "holds_active_by_expiry");
    EXPECT_EQ(indexes[2].get<std::string>(0), "holds_by_buyer");
    EXPECT_EQ(indexes[3].get<std::string>(0), "seats_by_hold");
  }
}

TEST_F(SchemaUpgrade, V6KeepsOrdersAndTheirStepsAndChecksTheirStatesAsBefore) {
  migrate_to(5);
  ASSERT_TRUE(
      run("INSERT INTO orders (id, buyer_id, idempotency_key, request_hash, event_id, "
          "hold_id, seats, amount_minor, currency, status, created_at, updated_at) VALUES "
          "('o1', 'b1', 'k1', 'h1', 'e1', 'hold1', 'A-1-1', 5000, 'EUR', 'REFUNDING', 1, 2)"));
  ASSERT_TRUE(run("INSERT INTO saga_steps (order_id, step, due_at) VALUES ('o1', 'refund', 7)"));
  ASSERT_TRUE(
      run("INSERT INTO order_history (order_id, seq, at, status) VALUES ('o1', 1, 1, "
          "'COMPLETED'), ('o1', 2, 2, 'REFUNDING')"));

  migrate_to(0);

  EXPECT_EQ(query("SELECT status FROM orders WHERE id = 'o1'")[0].get<std::string>(0), "REFUNDING");
  const Rows steps = query("SELECT step, due_at FROM saga_steps");
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_EQ(steps[0].get<std::string>(0), "refund");
  EXPECT_EQ(steps[0].get<std::optional<int64_t>>(1), 7);
  EXPECT_EQ(query("SELECT COUNT(*) FROM order_history")[0].get<int64_t>(0), 2);
  EXPECT_FALSE(query("SELECT 1 FROM saga_steps WHERE due_at IS NOT NULL").empty());

  expect_only("orders", "status", "id = 'o1'",
              {"AUTHORIZING", "CONFIRMING", "CANCELLING", "COMPLETED", "CANCELLED", "REFUNDING",
               "REFUNDED"});
  expect_only("saga_steps", "step", "order_id = 'o1'",
              {"authorize", "await_seats", "void", "refund", "done"});
  EXPECT_FALSE(run("INSERT INTO saga_steps (order_id, step) VALUES ('nobody', 'authorize')"))
      << "a step for an order that does not exist";
  expect_checks_without_value_lists();
  expect_old_tables_gone("v5");
}

TEST_F(SchemaUpgrade, PaymentV4KeepsPaymentsAndChecksTheirStatusAsBefore) {
  migrate_service("payment", payment::migration_files(), 3);
  ASSERT_TRUE(
      run("INSERT INTO payments (id, idempotency_key, request_hash, order_id, amount_minor, "
          "currency, card_last4, status, created_at, updated_at) VALUES ('p1', 'order-o1', "
          "'h1', 'o1', 5000, 'EUR', '4242', 'AUTHORIZED', 1, 2)"));

  migrate_service("payment", payment::migration_files(), 0);

  const Rows payments = query("SELECT status, amount_minor, card_last4 FROM payments");
  ASSERT_EQ(payments.size(), 1u);
  EXPECT_EQ(payments[0].get<std::string>(0), "AUTHORIZED");
  EXPECT_EQ(payments[0].get<int64_t>(1), 5000);
  EXPECT_EQ(payments[0].get<std::string>(2), "4242");
  expect_only("payments", "status", "id = 'p1'",
              {"PENDING", "AUTHORIZED", "DECLINED", "VOIDED", "REFUNDED"});
  EXPECT_FALSE(
      run("INSERT INTO payments (id, idempotency_key, request_hash, order_id, amount_minor, "
          "currency, card_last4, status, created_at, updated_at) VALUES ('p2', 'order-o1', "
          "'h2', 'o2', 5000, 'EUR', '4242', 'PENDING', 3, 3)"))
      << "an idempotency key used twice";
  expect_checks_without_value_lists();
  if (test_db_.dialect() == Dialect::kSqlite) {
    const Rows indexes = query(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'payments' AND name "
        "NOT LIKE 'sqlite_%'");
    ASSERT_EQ(indexes.size(), 1u);
    EXPECT_EQ(indexes[0].get<std::string>(0), "payments_by_order");
  }
}

TEST_F(SchemaUpgrade, EveryServiceTakesEveryChangeToTheMessagingTablesAfterItsOwnVersions) {
  const std::vector<std::pair<std::string_view, std::vector<MigrationFile>>> services = {
      {"reservation", reservation::migration_files()},
      {"payment", payment::migration_files()},
      {"order", order::migration_files()}};
  ASSERT_GE(bus::messaging_upgrade_count(), 1u);
  for (const auto& [service, own] : services) {
    const std::span<const int> versions = messaging_upgrades_of(service);
    EXPECT_EQ(versions.size(), bus::messaging_upgrade_count()) << service;
    const auto all = service_migrations(service, own, test_db_.dialect(), 0);
    std::set<int> seen;
    for (const auto& m : all) EXPECT_TRUE(seen.insert(m.version).second) << service << m.version;
    EXPECT_EQ(seen.size(), all.size());
    // Each lands after every version the service had when it was made:
    // V3 of the service's own is older than any of them.
    for (const int v : versions) EXPECT_GT(v, 3) << service;
  }
}

// Change 1: the outbox keeps only unsent rows, with no index but its key.
TEST_F(SchemaUpgrade, TheOutboxKeepsItsUnsentRowsAndLosesItsSentOnesAndIndexes) {
  const int before = payment::kMessagingUpgradeVersions[0] - 1;
  migrate_service("payment", payment::migration_files(), before);
  for (const auto& [seq, sent_at] :
       std::vector<std::pair<int64_t, std::optional<int64_t>>>{{1, {}}, {2, 20}, {3, {}}}) {
    // seq is given by the table: 1, 2, 3.
    ASSERT_TRUE(
        run("INSERT INTO outbox (id, lane, topic, msg_key, msg_type, headers, payload, "
            "traceparent, created_at, attempts, last_error, sent_at) VALUES ($1, 7, "
            "'order.events', 'o1', 'payment.authorized', '{}', 'p', NULL, 10, $2, $3, $4)",
            {"m" + std::to_string(seq), seq == 3 ? int64_t{2} : int64_t{0},
             seq == 3 ? Value{std::string("broker down")} : Value{nullptr},
             sent_at ? Value{*sent_at} : Value{nullptr}}));
  }

  migrate_service("payment", payment::migration_files(), 0);

  const Rows rows = query(
      "SELECT seq, id, lane, topic, msg_key, msg_type, headers, payload, created_at, attempts, "
      "last_error FROM outbox ORDER BY seq");
  ASSERT_EQ(rows.size(), 2u) << "the sent row is gone";
  EXPECT_EQ(rows[0].get<int64_t>(0), 1);
  EXPECT_EQ(rows[0].get<std::string>(1), "m1");
  EXPECT_EQ(rows[0].get<int64_t>(2), 7);
  EXPECT_EQ(rows[0].get<std::string>(3), "order.events");
  EXPECT_EQ(rows[0].get<std::string>(4), "o1");
  EXPECT_EQ(rows[0].get<std::string>(5), "payment.authorized");
  EXPECT_EQ(rows[0].get<std::string>(6), "{}");
  EXPECT_EQ(rows[0].get<std::string>(7), "p");
  EXPECT_EQ(rows[0].get<int64_t>(8), 10);
  EXPECT_EQ(rows[1].get<int64_t>(0), 3);
  EXPECT_EQ(rows[1].get<int64_t>(9), 2);
  EXPECT_EQ(rows[1].get<std::optional<std::string>>(10), "broker down");
  EXPECT_FALSE(run("UPDATE outbox SET sent_at = 1")) << "no sent_at column";

  // A new row goes after the others, and an id is not checked for
  // uniqueness any more (UUIDv7 ids are unique as made).
  ASSERT_TRUE(
      run("INSERT INTO outbox (id, lane, topic, msg_key, msg_type, headers, payload, created_at) "
          "VALUES ('m4', 1, 't', 'k', 'x', '{}', 'p', 11), "
          "('m4', 1, 't', 'k', 'x', '{}', 'p', 11)"));
  EXPECT_EQ(query("SELECT MIN(seq) FROM outbox WHERE id = 'm4'")[0].get<int64_t>(0), 4);

  if (test_db_.dialect() == Dialect::kSqlite) {
    EXPECT_TRUE(query("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'outbox'")
                    .empty());
    EXPECT_TRUE(query("SELECT name FROM sqlite_sequence WHERE name = 'outbox'").empty())
        << "no AUTOINCREMENT";
    expect_old_tables_gone("rebuilt");
  } else {
    const Rows indexes = query(
        "SELECT indexname FROM pg_indexes WHERE tablename = 'outbox' AND schemaname = "
        "current_schema()");
    ASSERT_EQ(indexes.size(), 1u);
    EXPECT_EQ(indexes[0].get<std::string>(0), "outbox_pkey");
  }
}

}  // namespace
}  // namespace seatflow::db
