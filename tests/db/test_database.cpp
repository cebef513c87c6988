#include "tests/db/test_database.hpp"

#include <cstdlib>
#include <random>

#include <gtest/gtest.h>

#include "db/postgres_database.hpp"
#include "db/sqlite_database.hpp"

#ifndef SEATFLOW_TEST_POSTGRES
#define SEATFLOW_TEST_POSTGRES 0
#endif

namespace seatflow::db::testing {
namespace {

std::string random_suffix() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string out;
  for (int i = 0; i < 12; ++i) out.push_back(kAlphabet[rng() % 36]);
  return out;
}

std::string postgres_url() {
  const char* url = std::getenv("SEATFLOW_TEST_POSTGRES_URL");
  if (url == nullptr || *url == '\0') {
    ADD_FAILURE() << "SEATFLOW_TEST_POSTGRES_URL is not set: run the suite with scripts/test.sh, "
                     "which starts a throwaway PostgreSQL and sets it";
    std::abort();
  }
  return url;
}

}  // namespace

TestDatabase::TestDatabase() {
  if (SEATFLOW_TEST_POSTGRES) {
    name_ = "t_" + random_suffix();
  } else {
    temp_dir_ = std::filesystem::temp_directory_path() / ("seatflow_db_test_" + random_suffix());
    std::filesystem::create_directories(temp_dir_);
    name_ = (temp_dir_ / "test.db").string();
  }
}

TestDatabase::~TestDatabase() {
  if (SEATFLOW_TEST_POSTGRES) {
    auto admin = open_postgres({.conninfo = postgres_url(), .pool_size = 1});
    if (admin) {
      (void)(*admin)->transact([&](Session& s) {
        return s.execute_script("DROP SCHEMA IF EXISTS \"" + name_ + "\" CASCADE");
      });
    }
  } else {
    std::error_code ec;
    std::filesystem::remove_all(temp_dir_, ec);
  }
}

Dialect TestDatabase::dialect() const {
  return SEATFLOW_TEST_POSTGRES ? Dialect::kPostgres : Dialect::kSqlite;
}

std::unique_ptr<Database> TestDatabase::open(int pool_size,
                                             std::chrono::milliseconds notify_interval) const {
  Result<std::unique_ptr<Database>> db =
      SEATFLOW_TEST_POSTGRES ? open_postgres({.conninfo = postgres_url(),
                                              .schema = name_,
                                              .pool_size = pool_size,
                                              .acquire_timeout = std::chrono::milliseconds(2000),
                                              .notify_interval = notify_interval})
                             : open_sqlite({.path = name_, .reader_connections = pool_size});
  if (!db) {
    ADD_FAILURE() << "cannot open test database: " << db.error().to_string();
    std::abort();
  }
  return std::move(*db);
}

}  // namespace seatflow::db::testing
