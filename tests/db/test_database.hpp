// A fresh, empty database for one test, of the backend this test binary was
// built for (SEATFLOW_TEST_POSTGRES=1 for PostgreSQL, else SQLite).
//
// SQLite: a new file in a new temporary folder. PostgreSQL: a new schema on
// the server named by SEATFLOW_TEST_POSTGRES_URL (scripts/test.sh starts a
// throwaway cluster and sets it); dropped when the TestDatabase dies.
//
// Thread safety: open() may be called from any thread.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "db/database.hpp"

namespace seatflow::db::testing {

class TestDatabase {
 public:
  TestDatabase();
  ~TestDatabase();
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  // A new handle (its own pool) on the same database; aborts the test on
  // failure. `notify_interval` is PostgreSQL's (PostgresOptions).
  std::unique_ptr<Database> open(int pool_size = 4,
                                 std::chrono::milliseconds notify_interval = {}) const;

  Dialect dialect() const;
  const std::string& name() const { return name_; }

 private:
  std::string name_;  // SQLite file path or PostgreSQL schema
  std::filesystem::path temp_dir_;
};

}  // namespace seatflow::db::testing
