// The Database port's contract, run against each adapter (one binary per
// backend, see tests/CMakeLists.txt).
#include <atomic>
#include <climits>
#include <cstdio>
#include <future>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/db/test_database.hpp"
#include "trace/span.hpp"
#include "trace/testing.hpp"

namespace seatflow::db {
namespace {

using ::testing::HasSubstr;

class DatabaseContract : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = test_db_.open();
    ASSERT_TRUE(db_->transact([](Session& s) {
      return s.execute_script(
          "CREATE TABLE items ("
          " id TEXT PRIMARY KEY,"
          " qty BIGINT,"
          " price DOUBLE PRECISION,"
          " active BOOLEAN,"
          " note TEXT,"
          " data BYTEA)");
    })) << "create table";
  }

  // SQLite has no BYTEA type name, but accepts any type name: it only sets affinity.
  Result<int64_t> insert(Session& s, const std::string& id, int64_t qty) {
    return s.execute("INSERT INTO items (id, qty) VALUES ($1, $2)", {id, qty});
  }

  int64_t count_items() {
    auto n = db_->transact(
        [](Session& s) -> Result<int64_t> {
          auto rows = s.query("SELECT COUNT(*) FROM items");
          if (!rows) return fail(rows.error());
          return (*rows)[0].get<int64_t>(0);
        },
        {.read_only = true});
    EXPECT_TRUE(n) << n.error().to_string();
    return n ? *n : -1;
  }

  testing::TestDatabase test_db_;
  std::unique_ptr<Database> db_;
};

TEST_F(DatabaseContract, RoundTripsEveryValueType) {
  const Blob blob{{0, 1, 2, 0xfe, 0xff}};
  auto status = db_->transact([&](Session& s) -> Status {
    auto n = s.execute(
        "INSERT INTO items (id, qty, price, active, note, data) VALUES ($1, $2, $3, $4, $5, $6)",
        {std::string("a"), int64_t{INT64_MAX}, 12.75, true, std::string("it's \"quoted\""), blob});
    if (!n) return fail(n.error());
    EXPECT_EQ(*n, 1);
    n = s.execute(
        "INSERT INTO items (id, qty, price, active, note, data) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        {std::string("b"), nullptr, nullptr, false, nullptr, nullptr});
    if (!n) return fail(n.error());
    return ok();
  });
  ASSERT_TRUE(status) << status.error().to_string();

  auto rows = db_->transact([](Session& s) {
    return s.query("SELECT id, qty, price, active, note, data FROM items ORDER BY id");
  });
  ASSERT_TRUE(rows) << rows.error().to_string();
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_THAT(rows->columns(),
              ::testing::ElementsAre("id", "qty", "price", "active", "note", "data"));
  const Row& a = (*rows)[0];
  EXPECT_EQ(a.get<std::string>("id"), "a");
  EXPECT_EQ(a.get<int64_t>("qty"), INT64_MAX);
  EXPECT_DOUBLE_EQ(a.get<double>("price"), 12.75);
  EXPECT_TRUE(a.get<bool>("active"));
  EXPECT_EQ(a.get<std::string>("note"), "it's \"quoted\"");
  EXPECT_EQ(a.get<Blob>("data"), blob);
  const Row& b = (*rows)[1];
  EXPECT_EQ(b.get<std::optional<int64_t>>("qty"), std::nullopt);
  EXPECT_EQ(b.get<std::optional<double>>("price"), std::nullopt);
  EXPECT_FALSE(b.get<bool>("active"));
  EXPECT_TRUE(b.is_null(4));
  EXPECT_TRUE(b.is_null(5));
}

TEST_F(DatabaseContract, BindsPlaceholdersByTheNumberWritten) {
  ASSERT_TRUE(db_->transact([&](Session& s) -> Status {
    auto n = s.execute("INSERT INTO items (note, id, qty) VALUES ($3, $1, $2)",
                       {std::string("x"), int64_t{7}, std::string("third")});
    if (!n) return fail(n.error());
    return ok();
  }));
  auto rows = db_->transact([](Session& s) {
    // $2 appears first and twice; it must still bind params[1].
    return s.query("SELECT id, qty FROM items WHERE qty = $2 AND id = $1 AND qty >= $2",
                   {std::string("x"), int64_t{7}});
  });
  ASSERT_TRUE(rows) << rows.error().to_string();
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].get<std::string>(0), "x");
  auto row = db_->transact([](Session& s) { return s.query("SELECT note FROM items"); });
  ASSERT_TRUE(row);
  EXPECT_EQ((*row)[0].get<std::string>(0), "third");
  // The same statement again, now prepared already, binds by number too.
  auto none = db_->transact([](Session& s) {
    return s.query("SELECT id, qty FROM items WHERE qty = $2 AND id = $1 AND qty >= $2",
                   {std::string("x"), int64_t{8}});
  });
  ASSERT_TRUE(none) << none.error().to_string();
  EXPECT_EQ(none->size(), 0u);
}

TEST_F(DatabaseContract, ValuesNeverBecomeSql) {
  const std::string hostile = "x'); DROP TABLE items; --";
  ASSERT_TRUE(db_->transact([&](Session& s) -> Status {
    auto n = insert(s, hostile, 1);
    if (!n) return fail(n.error());
    return ok();
  }));
  auto rows = db_->transact(
      [&](Session& s) { return s.query("SELECT id FROM items WHERE id = $1", {hostile}); });
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].get<std::string>(0), hostile);
}

TEST_F(DatabaseContract, WrongParameterCountIsInvalidArgument) {
  auto too_many = db_->transact([](Session& s) {
    return s.query("SELECT $1", {int64_t{1}, int64_t{2}});
  });
  ASSERT_FALSE(too_many);
  EXPECT_EQ(too_many.error().code(), ErrorCode::kInvalidArgument) << too_many.error().to_string();
  auto too_few = db_->transact([](Session& s) {
    return s.query("SELECT id FROM items WHERE id = $1 OR id = $2", {std::string("a")});
  });
  ASSERT_FALSE(too_few);
  EXPECT_EQ(too_few.error().code(), ErrorCode::kInvalidArgument) << too_few.error().to_string();
  auto right = db_->transact([](Session& s) {  // the statement refused above, now right
    return s.query("SELECT id FROM items WHERE id = $1 OR id = $2",
                   {std::string("a"), std::string("b")});
  });
  EXPECT_TRUE(right) << right.error().to_string();
}

TEST_F(DatabaseContract, UniqueViolationIsAlreadyExists) {
  auto result = db_->transact([&](Session& s) -> Status {
    if (auto n = insert(s, "dup", 1); !n) return fail(n.error());
    if (auto n = insert(s, "dup", 2); !n) return fail(n.error());
    return ok();
  });
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), ErrorCode::kAlreadyExists) << result.error().to_string();
  EXPECT_EQ(count_items(), 0) << "the first insert must have been rolled back too";
}

// execute_deferred() may hold a statement back until the next one or the
// COMMIT (PostgreSQL sends them together); these hold either way.
TEST_F(DatabaseContract, DeferredStatementsRunInOrderBeforeTheNextStatement) {
  auto seen = db_->transact([&](Session& s) -> Result<int64_t> {
    if (auto st = s.execute_deferred("INSERT INTO items (id, qty) VALUES ($1, $2)",
                                     {std::string("a"), int64_t{1}});
        !st) {
      return fail(st.error());
    }
    if (auto st = s.execute_deferred("UPDATE items SET qty = qty + $1 WHERE id = $2",
                                     {int64_t{10}, std::string("a")});
        !st) {
      return fail(st.error());
    }
    auto rows = s.query("SELECT qty FROM items WHERE id = $1", {std::string("a")});
    if (!rows) return fail(rows.error());
    return rows->empty() ? int64_t{-1} : (*rows)[0].get<int64_t>(0);
  });
  ASSERT_TRUE(seen) << seen.error().to_string();
  EXPECT_EQ(*seen, 11);
  // Only deferred statements: they run with the COMMIT.
  ASSERT_TRUE(db_->transact([&](Session& s) -> Status {
    for (const char* id : {"b", "c"}) {
      if (auto st = s.execute_deferred("INSERT INTO items (id, qty) VALUES ($1, $2)",
                                       {std::string(id), int64_t{2}});
          !st) {
        return st;
      }
    }
    return ok();
  }));
  EXPECT_EQ(count_items(), 3);
}

TEST_F(DatabaseContract, AFailedDeferredStatementFailsTheTransactionWithItsCode) {
  ASSERT_TRUE(db_->transact([&](Session& s) -> Status {
    auto n = insert(s, "dup", 1);
    return n ? ok() : fail(n.error());
  }));
  auto deferred_insert = [](Session& s, const char* id) {
    return s.execute_deferred("INSERT INTO items (id, qty) VALUES ($1, $2)",
                              {std::string(id), int64_t{2}});
  };
  // Surfacing at the COMMIT: nothing of the transaction stays.
  auto at_commit = db_->transact([&](Session& s) -> Status {
    if (auto st = deferred_insert(s, "new"); !st) return st;
    return deferred_insert(s, "dup");
  });
  ASSERT_FALSE(at_commit);
  EXPECT_EQ(at_commit.error().code(), ErrorCode::kAlreadyExists) << at_commit.error().to_string();
  EXPECT_EQ(count_items(), 1);
  // Surfacing at the next statement, which fails with it.
  auto at_next = db_->transact([&](Session& s) -> Status {
    if (auto st = deferred_insert(s, "dup"); !st) return st;
    auto rows = s.query("SELECT COUNT(*) FROM items");
    return rows ? ok() : fail(rows.error());
  });
  ASSERT_FALSE(at_next);
  EXPECT_EQ(at_next.error().code(), ErrorCode::kAlreadyExists) << at_next.error().to_string();
  EXPECT_EQ(count_items(), 1);
  // A statement with the wrong parameter count is refused at once, and the
  // connection goes on serving transactions.
  auto refused = db_->transact([&](Session& s) -> Status {
    auto st = s.execute_deferred("INSERT INTO items (id, qty) VALUES ($1, $2)", {std::string("x")});
    EXPECT_TRUE(!st && st.error().code() == ErrorCode::kInvalidArgument);
    return st;
  });
  EXPECT_FALSE(refused);
  ASSERT_TRUE(db_->transact([&](Session& s) { return deferred_insert(s, "after"); }));
  EXPECT_EQ(count_items(), 2);
}

// A body that goes on after one of its statements failed, and returns ok,
// still does not commit: PostgreSQL answers the COMMIT of such a
// transaction with a ROLLBACK (no error), and SQLite would commit the
// statements around the failed one. Both refuse it alike, with the failed
// statement's error, and keep nothing of it.
TEST_F(DatabaseContract, ABodyThatGoesOnAfterAFailedStatementCommitsNothing) {
  ASSERT_TRUE(db_->transact([&](Session& s) -> Status {
    auto n = insert(s, "dup", 1);
    return n ? ok() : fail(n.error());
  }));
  auto ignored = db_->transact([&](Session& s) -> Status {
    (void)insert(s, "before", 1);
    (void)insert(s, "dup", 1);  // fails; its error is dropped
    (void)insert(s, "after", 1);
    return ok();
  });
  ASSERT_FALSE(ignored);
  EXPECT_EQ(ignored.error().code(), ErrorCode::kAlreadyExists) << ignored.error().to_string();
  EXPECT_EQ(count_items(), 1);
  // A deferred statement whose error came back through the next statement
  // and was dropped there too.
  auto dropped = db_->transact([&](Session& s) -> Status {
    (void)s.execute_deferred("INSERT INTO items (id, qty) VALUES ($1, $2)",
                             {std::string("dup"), int64_t{2}});
    (void)s.query("SELECT COUNT(*) FROM items");
    return ok();
  });
  ASSERT_FALSE(dropped);
  EXPECT_EQ(dropped.error().code(), ErrorCode::kAlreadyExists) << dropped.error().to_string();
  EXPECT_EQ(count_items(), 1);
  // The next transaction on the same connections starts clean.
  ASSERT_TRUE(db_->transact([&](Session& s) -> Status {
    auto n = insert(s, "fine", 1);
    return n ? ok() : fail(n.error());
  }));
  EXPECT_EQ(count_items(), 2);
}

TEST_F(DatabaseContract, DeferredStatementsAreTracedWithTheirOutcome) {
  trace::testing::SpanCollector spans;
  const trace::Tracer tracer(trace::Sampler{}, &spans);
  db_->set_tracer(&tracer, "contract");
  trace::Span parent = tracer.start_span("parent");
  trace::Scope scope(parent);
  ASSERT_TRUE(db_->transact([&](Session& s) {
    return s.execute_deferred("INSERT INTO items (id, qty) VALUES ($1, $2)",
                              {std::string("a"), int64_t{1}});
  }));
  auto failed = db_->transact([&](Session& s) {
    return s.execute_deferred("INSERT INTO items (id, qty) VALUES ($1, $2)",
                              {std::string("a"), int64_t{2}});
  });
  ASSERT_FALSE(failed);
  const auto inserts = spans.named("INSERT items");
  ASSERT_EQ(inserts.size(), 2u);
  EXPECT_EQ(inserts[0].parent_span_id, parent.context().span_id);
  EXPECT_EQ(inserts[0].status, trace::StatusCode::kUnset);
  EXPECT_EQ(inserts[1].status, trace::StatusCode::kError);
  EXPECT_EQ(trace::testing::attribute(inserts[1], "error.type"),
            trace::AttributeValue(std::string("already_exists")));
}

TEST_F(DatabaseContract, CommitsWhenTheBodySucceeds) {
  ASSERT_TRUE(db_->transact([&](Session& s) -> Status {
    if (auto n = insert(s, "a", 1); !n) return fail(n.error());
    return ok();
  }));
  auto other = test_db_.open();  // another pool sees the commit
  auto rows = other->transact([](Session& s) { return s.query("SELECT qty FROM items"); },
                              {.read_only = true});
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].get<int64_t>(0), 1);
}

TEST_F(DatabaseContract, RollsBackWhenTheBodyFails) {
  auto result = db_->transact([&](Session& s) -> Status {
    if (auto n = insert(s, "a", 1); !n) return fail(n.error());
    return fail(ErrorCode::kConflict, "seat already held");
  });
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error(), Error(ErrorCode::kConflict, "seat already held"));
  EXPECT_EQ(count_items(), 0);
}

TEST_F(DatabaseContract, RollsBackOnRowAccessError) {
  auto result = db_->transact([&](Session& s) -> Status {
    if (auto n = insert(s, "a", 1); !n) return fail(n.error());
    auto rows = s.query("SELECT note FROM items");
    if (!rows) return fail(rows.error());
    (void)(*rows)[0].get<int64_t>(0);  // NULL read as an integer
    return ok();
  });
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), ErrorCode::kInternal);
  EXPECT_THAT(result.error().message(), HasSubstr("holds NULL, read as integer"));
  EXPECT_EQ(count_items(), 0);
}

TEST_F(DatabaseContract, TransactReturnsTheBodysValue) {
  auto id = db_->transact([&](Session& s) -> Result<std::string> {
    auto rows = s.query("INSERT INTO items (id, qty) VALUES ($1, $2) RETURNING id",
                        {std::string("r"), int64_t{3}});
    if (!rows) return fail(rows.error());
    return (*rows)[0].get<std::string>(0);
  });
  ASSERT_TRUE(id) << id.error().to_string();
  EXPECT_EQ(*id, "r");
}

TEST_F(DatabaseContract, AffectedCountsChangedRows) {
  auto counts = db_->transact([&](Session& s) -> Result<std::vector<int64_t>> {
    for (int i = 0; i < 5; ++i) {
      if (auto n = insert(s, "i" + std::to_string(i), i); !n) return fail(n.error());
    }
    std::vector<int64_t> out;
    auto up = s.execute("UPDATE items SET qty = qty + 1 WHERE qty >= $1", {int64_t{2}});
    if (!up) return fail(up.error());
    out.push_back(*up);
    auto del = s.execute("DELETE FROM items WHERE qty < $1", {int64_t{1}});
    if (!del) return fail(del.error());
    out.push_back(*del);
    auto sel = s.query("SELECT id FROM items");
    if (!sel) return fail(sel.error());
    out.push_back(sel->affected());
    return out;
  });
  ASSERT_TRUE(counts) << counts.error().to_string();
  EXPECT_THAT(*counts, ::testing::ElementsAre(3, 1, 0));
}

TEST_F(DatabaseContract, ReadOnlyTransactionRefusesWrites) {
  auto result = db_->transact(
      [&](Session& s) -> Status {
        if (auto n = insert(s, "a", 1); !n) return fail(n.error());
        return ok();
      },
      {.read_only = true});
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code(), ErrorCode::kFailedPrecondition) << result.error().to_string();
  EXPECT_EQ(count_items(), 0);
}

// PostgreSQL runs each statement of a READ COMMITTED read-only transaction
// with its own BEGIN and COMMIT, in one round trip; this holds either way.
TEST_F(DatabaseContract, ReadOnlyTransactionsReadSeveralStatementsAndSurviveAFailedOne) {
  ASSERT_TRUE(db_->transact([&](Session& s) -> Status {
    for (const char* id : {"a", "b"}) {
      if (auto n = insert(s, id, 3); !n) return fail(n.error());
    }
    return ok();
  }));
  auto read = [&]() {
    return db_->transact(
        [](Session& s) -> Result<int64_t> {
          auto count = s.query("SELECT COUNT(*) FROM items");
          if (!count) return fail(count.error());
          auto qty = s.query("SELECT qty FROM items WHERE id = $1", {std::string("b")});
          if (!qty) return fail(qty.error());
          return (*count)[0].get<int64_t>(0) * 10 + (*qty)[0].get<int64_t>(0);
        },
        {.read_only = true});
  };
  auto both = read();
  ASSERT_TRUE(both) << both.error().to_string();
  EXPECT_EQ(*both, 23);
  for (int i = 0; i < 3; ++i) {  // more than once: each time on a pooled connection
    auto failed = db_->transact(
        [](Session& s) -> Status {
          auto rows = s.query("SELECT no_such_column FROM items");
          return rows ? ok() : Status(fail(rows.error()));
        },
        {.read_only = true});
    ASSERT_FALSE(failed);
    EXPECT_EQ(failed.error().code(), ErrorCode::kInternal) << failed.error().to_string();
  }
  auto after = read();
  ASSERT_TRUE(after) << after.error().to_string();
  EXPECT_EQ(*after, 23);
}

TEST_F(DatabaseContract, SyntaxErrorIsInternalAndNamesTheProblem) {
  auto rows = db_->transact([](Session& s) { return s.query("SELEC 1"); });
  ASSERT_FALSE(rows);
  EXPECT_EQ(rows.error().code(), ErrorCode::kInternal);
  EXPECT_THAT(rows.error().message(), HasSubstr("SELEC"));
}

// PostgreSQL prepares each statement once per connection; these hold
// whether or not a statement was prepared before.
TEST_F(DatabaseContract, ARepeatedStatementSeesTheLatestRowsAndOutlivesARollback) {
  auto qty = [&]() -> int64_t {
    auto v = db_->transact([](Session& s) -> Result<int64_t> {
      auto rows = s.query("SELECT qty FROM items WHERE id = $1", {std::string("a")});
      if (!rows) return fail(rows.error());
      return rows->empty() ? -1 : (*rows)[0].get<int64_t>(0);
    });
    EXPECT_TRUE(v) << v.error().to_string();
    return v ? *v : -2;
  };
  EXPECT_EQ(qty(), -1);
  ASSERT_TRUE(db_->transact([&](Session& s) -> Status {
    auto n = insert(s, "a", 1);
    return n ? ok() : fail(n.error());
  }));
  EXPECT_EQ(qty(), 1);
  auto failed = db_->transact([](Session& s) -> Status {
    if (auto n =
            s.execute("UPDATE items SET qty = $1 WHERE id = $2", {int64_t{5}, std::string("a")});
        !n) {
      return fail(n.error());
    }
    return fail(ErrorCode::kInternal, "rolled back on purpose");
  });
  ASSERT_FALSE(failed);
  EXPECT_EQ(qty(), 1);
  ASSERT_TRUE(db_->transact([](Session& s) -> Status {
    auto n = s.execute("UPDATE items SET qty = $1 WHERE id = $2", {int64_t{7}, std::string("a")});
    return n ? ok() : fail(n.error());
  }));
  EXPECT_EQ(qty(), 7);
}

TEST_F(DatabaseContract, OneStatementTakesABlobOrANullInTheSamePlace) {
  ASSERT_TRUE(db_->transact([&](Session& s) -> Status {
    auto n = insert(s, "b", 1);
    return n ? ok() : fail(n.error());
  }));
  for (const Value& v : {Value(nullptr), Value(Blob{{0x00, 0xff}}), Value(nullptr)}) {
    auto rows = db_->transact([&](Session& s) -> Result<Rows> {
      if (auto n = s.execute("UPDATE items SET data = $1 WHERE id = $2", {v, std::string("b")});
          !n) {
        return fail(n.error());
      }
      return s.query("SELECT data FROM items WHERE id = $1", {std::string("b")});
    });
    ASSERT_TRUE(rows) << rows.error().to_string();
    EXPECT_EQ((*rows)[0].value(0), v);
  }
}

TEST_F(DatabaseContract, MoreDistinctStatementsThanACacheWouldHoldAllRun) {
  ASSERT_TRUE(db_->transact([&](Session& s) -> Status {
    auto n = insert(s, "c", 10);
    return n ? ok() : fail(n.error());
  }));
  auto sum = db_->transact([](Session& s) -> Result<int64_t> {
    int64_t total = 0;
    for (int round = 0; round < 2; ++round) {
      for (int k = 0; k < 600; ++k) {
        auto rows = s.query("SELECT qty + " + std::to_string(k) + " FROM items WHERE id = $1",
                            {std::string("c")});
        if (!rows) return fail(rows.error());
        total += (*rows)[0].get<int64_t>(0);
      }
    }
    return total;
  });
  ASSERT_TRUE(sum) << sum.error().to_string();
  EXPECT_EQ(*sum, 2 * (600 * 10 + 599 * 600 / 2));
}

TEST_F(DatabaseContract, ConcurrentIncrementsAreNotLost) {
  ASSERT_TRUE(db_->transact([&](Session& s) -> Status {
    if (auto n = insert(s, "counter", 0); !n) return fail(n.error());
    return ok();
  }));
  constexpr int kThreads = 4;
  constexpr int kIncrements = 50;
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kIncrements; ++i) {
        auto st = db_->transact([](Session& s) -> Status {
          auto n =
              s.execute("UPDATE items SET qty = qty + 1 WHERE id = $1", {std::string("counter")});
          if (!n) return fail(n.error());
          return ok();
        });
        if (!st) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  auto total = db_->transact([](Session& s) -> Result<int64_t> {
    auto rows = s.query("SELECT qty FROM items WHERE id = $1", {std::string("counter")});
    if (!rows) return fail(rows.error());
    return (*rows)[0].get<int64_t>(0);
  });
  ASSERT_TRUE(total);
  EXPECT_EQ(*total, kThreads * kIncrements);
}

// Writers that arrive together (on SQLite they share one commit) still
// succeed or fail each on its own, each body sees its caller's trace
// context, and each caller's after-commit callbacks run on its own thread.
TEST_F(DatabaseContract, ConcurrentWritesSucceedOrFailEachAlone) {
  constexpr int kWriters = 12;
  std::atomic<int> queued{0};
  std::vector<Status> results(kWriters);
  std::vector<int> own_context(kWriters, 0);
  std::vector<int> callbacks_here(kWriters, 0);
  std::vector<std::thread> threads;
  threads.reserve(kWriters);
  for (int t = 0; t < kWriters; ++t) {
    threads.emplace_back([&, t] {
      char hex[33];
      std::snprintf(hex, sizeof hex, "%032x", t + 1);
      trace::SpanContext mine{.trace_id = *trace::TraceId::from_hex(hex),
                              .span_id = *trace::SpanId::from_hex("00000000000000aa"),
                              .flags = trace::kFlagSampled};
      trace::Scope scope(mine);
      const auto caller = std::this_thread::get_id();
      ++queued;
      results[static_cast<size_t>(t)] = db_->transact([&](Session& s) -> Status {
        // The first writer in holds the others back until all have arrived.
        while (queued.load() < kWriters) std::this_thread::yield();
        const trace::SpanContext* current = trace::current_context();
        own_context[static_cast<size_t>(t)] =
            current != nullptr && current->trace_id.hex() == std::string(hex) ? 1 : 0;
        if (auto n = insert(s, "w" + std::to_string(t), t); !n) return fail(n.error());
        s.after_commit([&, t, caller] {
          callbacks_here[static_cast<size_t>(t)] = std::this_thread::get_id() == caller ? 1 : 2;
        });
        if (t % 3 == 1) return fail(ErrorCode::kFailedPrecondition, "writer " + std::to_string(t));
        if (t % 3 == 2) {
          // A statement fails, and the body reports it.
          auto again = insert(s, "w" + std::to_string(t), t);
          if (!again) return fail(again.error());
        }
        return ok();
      });
    });
  }
  for (auto& thread : threads) thread.join();
  for (int t = 0; t < kWriters; ++t) {
    const auto i = static_cast<size_t>(t);
    SCOPED_TRACE("writer " + std::to_string(t));
    EXPECT_EQ(results[i].has_value(), t % 3 == 0);
    if (t % 3 == 2) {
      ASSERT_FALSE(results[i]);
      EXPECT_EQ(results[i].error().code(), ErrorCode::kAlreadyExists);
    }
    EXPECT_EQ(own_context[i], 1) << "the body ran in its caller's trace context";
    EXPECT_EQ(callbacks_here[i], t % 3 == 0 ? 1 : 0)
        << "after-commit callbacks run once committed, on the caller's thread";
  }
  auto ids = db_->transact(
      [](Session& s) -> Result<std::vector<std::string>> {
        auto rows = s.query("SELECT id FROM items ORDER BY qty");
        if (!rows) return fail(rows.error());
        std::vector<std::string> out;
        for (const auto& r : *rows) out.push_back(r.get<std::string>(0));
        return out;
      },
      {.read_only = true});
  ASSERT_TRUE(ids);
  EXPECT_THAT(*ids, ::testing::ElementsAre("w0", "w3", "w6", "w9"));
}

TEST_F(DatabaseContract, ReadersAreNotBlockedByAnOpenWrite) {
  ASSERT_TRUE(db_->transact([&](Session& s) -> Status {
    if (auto n = insert(s, "a", 1); !n) return fail(n.error());
    return ok();
  }));
  std::promise<void> written;
  std::promise<void> read_done;
  auto writer = std::async(std::launch::async, [&] {
    return db_->transact([&](Session& s) -> Status {
      auto n = s.execute("UPDATE items SET qty = 2 WHERE id = $1", {std::string("a")});
      if (!n) return fail(n.error());
      written.set_value();
      read_done.get_future().wait();  // hold the write open while the reader reads
      return ok();
    });
  });
  written.get_future().wait();
  auto seen = db_->transact(
      [](Session& s) -> Result<int64_t> {
        auto rows = s.query("SELECT qty FROM items WHERE id = $1", {std::string("a")});
        if (!rows) return fail(rows.error());
        return (*rows)[0].get<int64_t>(0);
      },
      {.read_only = true});
  read_done.set_value();
  ASSERT_TRUE(writer.get());
  ASSERT_TRUE(seen) << seen.error().to_string();
  EXPECT_EQ(*seen, 1) << "a reader sees the last committed value, not the open write";
}

TEST_F(DatabaseContract, PingSucceeds) { EXPECT_TRUE(db_->ping()); }

TEST_F(DatabaseContract, AfterCommitRunsOnlyWhenTheTransactionCommits) {
  int ran = 0;
  ASSERT_TRUE(db_->transact([&](Session& s) -> Status {
    s.after_commit([&] { ++ran; });
    EXPECT_EQ(ran, 0) << "not before the commit";
    return insert(s, "a", 1).transform([](int64_t) {});
  }));
  EXPECT_EQ(ran, 1);
  auto failed = db_->transact([&](Session& s) -> Status {
    s.after_commit([&] { ++ran; });
    return fail(ErrorCode::kAborted, "changed my mind");
  });
  EXPECT_FALSE(failed);
  EXPECT_EQ(ran, 1) << "a rolled-back transaction runs nothing";
}

TEST_F(DatabaseContract, NotifyWakesAListenerOnCommitOnly) {
  auto listener = db_->listen("items.changed");
  ASSERT_TRUE(listener) << listener.error().to_string();
  EXPECT_FALSE((*listener)->wait(std::chrono::milliseconds(50))) << "nothing yet";

  // A rolled-back notification never arrives.
  EXPECT_FALSE(db_->transact([&](Session& s) -> Status {
    if (auto st = db_->notify(s, "items.changed"); !st) return st;
    return fail(ErrorCode::kAborted, "roll back");
  }));
  EXPECT_FALSE((*listener)->wait(std::chrono::milliseconds(100)));

  // A committed one wakes the listener, from another handle on the same database too.
  auto other = test_db_.open();
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ASSERT_TRUE(
        other->transact([&](Session& s) -> Status { return other->notify(s, "items.changed"); }));
  });
  // SQLite's notifications stay within one handle (embedded mode has one per file).
  const bool across_handles = test_db_.dialect() == Dialect::kPostgres;
  const auto started = std::chrono::steady_clock::now();
  const bool woke = (*listener)->wait(across_handles ? std::chrono::milliseconds(5000)
                                                     : std::chrono::milliseconds(200));
  writer.join();
  if (across_handles) {
    EXPECT_TRUE(woke);
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2));
  }

  // The same handle always reaches its own listeners.
  ASSERT_TRUE(db_->transact([&](Session& s) { return db_->notify(s, "items.changed"); }));
  EXPECT_TRUE((*listener)->wait(std::chrono::seconds(5)));
  // Several notifications coalesce into one wake-up.
  EXPECT_FALSE((*listener)->wait(std::chrono::milliseconds(50)));
}

TEST_F(DatabaseContract, NotificationsInsideTheNotifyIntervalAreLateButNeverLost) {
  if (test_db_.dialect() != Dialect::kPostgres) GTEST_SKIP() << "PostgreSQL's NOTIFY only";
  using std::chrono::milliseconds;
  auto listener = db_->listen("items.changed");
  ASSERT_TRUE(listener) << listener.error().to_string();
  auto writer = test_db_.open(2, milliseconds(400));
  auto announce = [&] {
    return writer->transact([&](Session& s) { return writer->notify(s, "items.changed"); });
  };

  // The first commit of an interval carries its NOTIFY.
  ASSERT_TRUE(announce());
  EXPECT_TRUE((*listener)->wait(std::chrono::seconds(5)));

  // Those after it, inside the interval, are announced when it ends, by one
  // NOTIFY for all of them.
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(announce());
  EXPECT_FALSE((*listener)->wait(milliseconds(100))) << "not before the interval ends";
  EXPECT_TRUE((*listener)->wait(std::chrono::seconds(5))) << "but once it has";
  EXPECT_FALSE((*listener)->wait(milliseconds(600))) << "once for all five";

  // A rolled-back transaction announces nothing, in the interval or out of it.
  for (int i = 0; i < 2; ++i) {
    EXPECT_FALSE(writer->transact([&](Session& s) -> Status {
      if (auto st = writer->notify(s, "items.changed"); !st) return st;
      return fail(ErrorCode::kAborted, "roll back");
    }));
  }
  EXPECT_FALSE((*listener)->wait(milliseconds(800)));
}

TEST_F(DatabaseContract, InterruptWakesAWaitingListener) {
  auto listener = db_->listen("items.changed");
  ASSERT_TRUE(listener);
  std::thread waker([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    (*listener)->interrupt();
  });
  const auto started = std::chrono::steady_clock::now();
  EXPECT_TRUE((*listener)->wait(std::chrono::seconds(10)));
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
  waker.join();
}

TEST_F(DatabaseContract, RejectsAnInvalidChannelName) {
  EXPECT_EQ(db_->listen("Bad Channel").error().code(), ErrorCode::kInvalidArgument);
  auto st = db_->transact([&](Session& s) { return db_->notify(s, "x;DROP"); });
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace seatflow::db
