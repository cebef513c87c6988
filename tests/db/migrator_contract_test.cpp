// Migrations against each adapter: fresh, pending, changed checksum, missing
// file, failed-and-rolled-back, dry run, dialect variants, concurrent runs.
#include <future>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "db/migrations.hpp"
#include "tests/db/test_database.hpp"

namespace seatflow::db {
namespace {

using ::testing::HasSubstr;

const MigrationFile kV1{"V1__create_events.sql",
                        "CREATE TABLE events (id TEXT PRIMARY KEY, name TEXT NOT NULL);\n"
                        "CREATE INDEX events_by_name ON events (name);\n"};
const MigrationFile kV2{"V2__create_seats.sql",
                        "CREATE TABLE seats (event_id TEXT NOT NULL, seat_no INTEGER NOT NULL,"
                        " PRIMARY KEY (event_id, seat_no));\n"};
const MigrationFile kV3{"V3__add_venue.sql", "ALTER TABLE events ADD COLUMN venue TEXT;\n"};

class MigratorContract : public ::testing::Test {
 protected:
  void SetUp() override { db_ = test_db_.open(); }

  Migrator migrator(const std::vector<MigrationFile>& files) { return migrator_on(*db_, files); }
  Migrator migrator_on(Database& db, const std::vector<MigrationFile>& files) {
    auto migrations = select_migrations(files, test_db_.dialect());
    EXPECT_TRUE(migrations) << migrations.error().to_string();
    return Migrator(db, "reservation", migrations ? *migrations : std::vector<Migration>{}, clock_);
  }

  bool table_exists(const std::string& table) {
    auto rows = db_->transact([&](Session& s) {
      return s.dialect() == Dialect::kSqlite
                 ? s.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = $1",
                           {table})
                 : s.query("SELECT 1 WHERE to_regclass($1) IS NOT NULL", {table});
    });
    EXPECT_TRUE(rows) << rows.error().to_string();
    return rows && !rows->empty();
  }

  std::vector<int> applied_versions(Migrator& m) {
    auto st = m.status();
    EXPECT_TRUE(st) << st.error().to_string();
    std::vector<int> out;
    if (st) {
      for (const auto& a : st->applied) out.push_back(a.version);
    }
    return out;
  }

  ManualClock clock_;
  testing::TestDatabase test_db_;
  std::unique_ptr<Database> db_;
};

TEST_F(MigratorContract, FreshDatabaseGetsEveryMigrationInOrder) {
  Migrator m = migrator({kV2, kV1});
  auto before = m.validate();
  ASSERT_FALSE(before);
  EXPECT_EQ(before.error().code(), ErrorCode::kFailedPrecondition);

  auto applied = m.migrate();
  ASSERT_TRUE(applied) << applied.error().to_string();
  ASSERT_EQ(applied->size(), 2u);
  EXPECT_EQ((*applied)[0].version, 1);
  EXPECT_EQ((*applied)[1].version, 2);
  EXPECT_TRUE(table_exists("events"));
  EXPECT_TRUE(table_exists("seats"));
  EXPECT_TRUE(m.validate()) << m.validate().error().to_string();

  auto st = m.status();
  ASSERT_TRUE(st);
  ASSERT_EQ(st->applied.size(), 2u);
  const AppliedMigration& first = st->applied[0];
  EXPECT_EQ(first.version, 1);
  EXPECT_EQ(first.description, "create events");
  EXPECT_EQ(first.script, "V1__create_events.sql");
  EXPECT_EQ(first.checksum, migration_checksum(kV1.content));
  EXPECT_EQ(first.installed_at_ms, clock_.now_unix_ms());
  EXPECT_TRUE(first.success);
  EXPECT_TRUE(st->pending.empty());
  EXPECT_TRUE(st->problems.empty());

  auto again = m.migrate();
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->empty()) << "a second run applies nothing";
}

TEST_F(MigratorContract, PendingMigrationBlocksStartUntilMigrated) {
  ASSERT_TRUE(migrator({kV1}).migrate());
  Migrator m = migrator({kV1, kV2});
  auto valid = m.validate();
  ASSERT_FALSE(valid);
  EXPECT_EQ(valid.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_THAT(valid.error().message(), HasSubstr("V2 (create seats) is pending"));
  EXPECT_THAT(valid.error().message(), HasSubstr("Run `seatflow migrate --service reservation`"));

  auto applied = m.migrate();
  ASSERT_TRUE(applied);
  ASSERT_EQ(applied->size(), 1u);
  EXPECT_EQ((*applied)[0].version, 2);
  EXPECT_TRUE(m.validate());
}

TEST_F(MigratorContract, ChangedChecksumIsRefused) {
  ASSERT_TRUE(migrator({kV1}).migrate());
  MigrationFile edited = kV1;
  edited.content += "CREATE INDEX events_by_id ON events (id);\n";
  Migrator m = migrator({edited, kV2});

  auto valid = m.validate();
  ASSERT_FALSE(valid);
  EXPECT_EQ(valid.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_THAT(valid.error().message(),
              HasSubstr("V1 (create events) (V1__create_events.sql) was changed after it was "
                        "applied"));
  EXPECT_THAT(valid.error().message(), HasSubstr("add a new version instead"));

  auto migrated = m.migrate();
  ASSERT_FALSE(migrated);
  EXPECT_EQ(migrated.error().code(), ErrorCode::kFailedPrecondition);
  EXPECT_FALSE(table_exists("seats")) << "nothing is applied after a refused validation";
}

TEST_F(MigratorContract, MissingFileIsRefused) {
  ASSERT_TRUE(migrator({kV1, kV2}).migrate());
  Migrator m = migrator({kV1});
  auto valid = m.validate();
  ASSERT_FALSE(valid);
  EXPECT_THAT(valid.error().message(),
              HasSubstr("V2 (create seats) (V2__create_seats.sql) is applied to the database but "
                        "this build has no such file"));
  auto migrated = m.migrate();
  ASSERT_FALSE(migrated);
  EXPECT_EQ(migrated.error().code(), ErrorCode::kFailedPrecondition);
}

TEST_F(MigratorContract, FailedMigrationIsRolledBackRecordedAndRetried) {
  const MigrationFile broken{"V2__create_seats.sql",
                             "CREATE TABLE seats (id TEXT PRIMARY KEY);\n"
                             "INSERT INTO no_such_table VALUES (1);\n"};
  auto result = migrator({kV1, broken, kV3}).migrate();
  ASSERT_FALSE(result);
  EXPECT_THAT(result.error().message(),
              HasSubstr("migration V2 (create seats) of reservation failed and was rolled back"));
  EXPECT_THAT(result.error().message(), HasSubstr("no_such_table"));
  EXPECT_TRUE(table_exists("events")) << "V1 committed before V2 failed";
  EXPECT_FALSE(table_exists("seats")) << "V2's first statement was rolled back";

  Migrator fixed = migrator({kV1, kV2, kV3});
  auto st = fixed.status();
  ASSERT_TRUE(st);
  ASSERT_EQ(st->applied.size(), 2u);
  EXPECT_FALSE(st->applied[1].success);
  auto valid = fixed.validate();
  ASSERT_FALSE(valid);
  EXPECT_THAT(valid.error().message(), HasSubstr("V2 (create seats) failed and was rolled back"));
  EXPECT_THAT(valid.error().message(), HasSubstr("V3 (add venue) is pending"));

  auto applied = fixed.migrate();
  ASSERT_TRUE(applied) << applied.error().to_string();
  ASSERT_EQ(applied->size(), 2u);
  EXPECT_TRUE(table_exists("seats"));
  EXPECT_TRUE(fixed.validate());
  EXPECT_THAT(applied_versions(fixed), ::testing::ElementsAre(1, 2, 3));
}

TEST_F(MigratorContract, DryRunChangesNothing) {
  Migrator m = migrator({kV1, kV2});
  auto planned = m.migrate(/*dry_run=*/true);
  ASSERT_TRUE(planned);
  ASSERT_EQ(planned->size(), 2u);
  EXPECT_EQ((*planned)[1].script, "V2__create_seats.sql");
  EXPECT_FALSE(table_exists("schema_history"));
  EXPECT_FALSE(table_exists("events"));
}

TEST_F(MigratorContract, AppliesTheDialectVariant) {
  const std::vector<MigrationFile> files = {
      {"V1__create_counters.sqlite.sql",
       "CREATE TABLE counters (id INTEGER PRIMARY KEY AUTOINCREMENT, n INTEGER);"},
      {"V1__create_counters.postgres.sql",
       "CREATE TABLE counters (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, n INTEGER);"}};
  Migrator m = migrator(files);
  ASSERT_TRUE(m.migrate());
  auto st = m.status();
  ASSERT_TRUE(st);
  EXPECT_EQ(st->applied[0].script, test_db_.dialect() == Dialect::kSqlite
                                       ? "V1__create_counters.sqlite.sql"
                                       : "V1__create_counters.postgres.sql");
  EXPECT_TRUE(table_exists("counters"));
}

TEST_F(MigratorContract, ConcurrentMigratorsApplyEachVersionOnce) {
  auto other_db = test_db_.open();
  Migrator a = migrator({kV1, kV2, kV3});
  Migrator b = migrator_on(*other_db, {kV1, kV2, kV3});
  auto run_a = std::async(std::launch::async, [&] { return a.migrate(); });
  auto run_b = std::async(std::launch::async, [&] { return b.migrate(); });
  auto ra = run_a.get();
  auto rb = run_b.get();
  ASSERT_TRUE(ra) << ra.error().to_string();
  ASSERT_TRUE(rb) << rb.error().to_string();
  EXPECT_EQ(ra->size() + rb->size(), 3u) << "each version applied by exactly one of them";
  EXPECT_THAT(applied_versions(a), ::testing::ElementsAre(1, 2, 3));
  EXPECT_TRUE(a.validate());
}

}  // namespace
}  // namespace seatflow::db
