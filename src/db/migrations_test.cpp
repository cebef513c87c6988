#include "db/migrations.hpp"

#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace seatflow::db {
namespace {

using ::testing::HasSubstr;

TEST(SelectMigrations, OrdersByVersionAndDescribes) {
  auto m = select_migrations({{"V10__add_index.sql", "B"}, {"V2__create_seats.sql", "A"}},
                             Dialect::kSqlite);
  ASSERT_TRUE(m) << m.error().to_string();
  ASSERT_EQ(m->size(), 2u);
  EXPECT_EQ((*m)[0].version, 2);
  EXPECT_EQ((*m)[0].description, "create seats");
  EXPECT_EQ((*m)[0].script, "V2__create_seats.sql");
  EXPECT_EQ((*m)[1].version, 10);
  EXPECT_EQ((*m)[1].checksum, migration_checksum("B"));
}

TEST(SelectMigrations, PicksTheDialectVariant) {
  const std::vector<MigrationFile> files = {{"V1__init.sqlite.sql", "lite"},
                                            {"V1__init.postgres.sql", "pg"}};
  auto lite = select_migrations(files, Dialect::kSqlite);
  auto pg = select_migrations(files, Dialect::kPostgres);
  ASSERT_TRUE(lite && pg);
  EXPECT_EQ((*lite)[0].sql, "lite");
  EXPECT_EQ((*pg)[0].sql, "pg");
  EXPECT_EQ((*pg)[0].script, "V1__init.postgres.sql");
  EXPECT_EQ((*pg)[0].description, "init");
}

TEST(SelectMigrations, RejectsBadSets) {
  auto expect_invalid = [](const std::vector<MigrationFile>& files, const std::string& text) {
    auto m = select_migrations(files, Dialect::kPostgres);
    ASSERT_FALSE(m);
    EXPECT_EQ(m.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_THAT(m.error().message(), HasSubstr(text));
  };
  expect_invalid({{"init.sql", ""}}, "is not named V<n>__<description>.sql");
  expect_invalid({{"V1_init.sql", ""}}, "is not named");
  expect_invalid({{"V0__init.sql", ""}}, "is not named");
  expect_invalid({{"Vx__init.sql", ""}}, "is not named");
  expect_invalid({{"V1__init.mysql.sql", ""}}, "is not named");
  expect_invalid({{"V1__a.sql", ""}, {"V1__b.sql", ""}}, "two migrations have version 1");
  expect_invalid({{"V1__a.sqlite.sql", ""}}, "has no .postgres.sql variant");
  expect_invalid({{"V1__a.sql", ""}, {"V1__a.postgres.sql", ""}}, "both a common");
}

TEST(MigrationChecksum, IgnoresCarriageReturns) {
  EXPECT_EQ(migration_checksum("a\r\nb\r\n"), migration_checksum("a\nb\n"));
  EXPECT_NE(migration_checksum("a\nb\n"), migration_checksum("a\nc\n"));
  EXPECT_EQ(migration_checksum("123456789"), 0xCBF43926);  // the CRC-32 check value
}

TEST(ReadMigrationDir, ReadsSqlFilesOnly) {
  const auto dir = std::filesystem::temp_directory_path() / "seatflow_read_migration_dir_test";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "V1__one.sql") << "SELECT 1;";
  std::ofstream(dir / "README.md") << "not a migration";
  auto files = read_migration_dir(dir);
  ASSERT_TRUE(files);
  ASSERT_EQ(files->size(), 1u);
  EXPECT_EQ((*files)[0].name, "V1__one.sql");
  EXPECT_EQ((*files)[0].content, "SELECT 1;");
  std::filesystem::remove_all(dir);

  auto missing = read_migration_dir(dir);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace seatflow::db
