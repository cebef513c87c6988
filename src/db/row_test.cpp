#include "db/database.hpp"

#include <gtest/gtest.h>

namespace seatflow::db {
namespace {

Row make_row(std::vector<Value> values) {
  auto columns = std::make_shared<std::vector<std::string>>();
  for (size_t i = 0; i < values.size(); ++i) columns->push_back("c" + std::to_string(i));
  return Row(columns, std::move(values));
}

TEST(Row, TypedAccessByIndexAndName) {
  const Row row = make_row({int64_t{42}, 2.5, true, std::string("x"), Blob{{1, 2}}, nullptr});
  EXPECT_EQ(row.get<int64_t>(0), 42);
  EXPECT_EQ(row.get<int32_t>("c0"), 42);
  EXPECT_DOUBLE_EQ(row.get<double>(1), 2.5);
  EXPECT_TRUE(row.get<bool>(2));
  EXPECT_EQ(row.get<std::string>("c3"), "x");
  EXPECT_EQ(row.get<Blob>(4).bytes, (std::vector<uint8_t>{1, 2}));
  EXPECT_EQ(row.get<std::optional<int64_t>>(5), std::nullopt);
  EXPECT_EQ(row.get<std::optional<int64_t>>(0), 42);
}

TEST(Row, SqliteStyleBooleansAndNumericText) {
  const Row row = make_row({int64_t{1}, int64_t{0}, std::string("12345678901")});
  EXPECT_TRUE(row.get<bool>(0));
  EXPECT_FALSE(row.get<bool>(1));
  EXPECT_EQ(row.get<int64_t>(2), 12345678901);
}

TEST(Row, MismatchThrowsRowAccessErrorNamingTheColumn) {
  const Row row = make_row({nullptr, std::string("abc"), int64_t{5'000'000'000}});
  try {
    (void)row.get<int64_t>(0);
    FAIL() << "expected RowAccessError";
  } catch (const RowAccessError& e) {
    EXPECT_STREQ(e.what(), "column 0 (c0) holds NULL, read as integer");
  }
  EXPECT_THROW((void)row.get<int64_t>(1), RowAccessError);
  EXPECT_THROW((void)row.get<int32_t>(2), RowAccessError);
  EXPECT_THROW((void)row.get<bool>(2), RowAccessError);
  EXPECT_THROW((void)row.get<std::string>("nope"), RowAccessError);
  EXPECT_THROW((void)row.value(9), RowAccessError);
}

}  // namespace
}  // namespace seatflow::db

namespace seatflow::db {
namespace {

TEST(HighestPlaceholder, SkipsLiteralsCommentsAndDollarQuotes) {
  EXPECT_EQ(highest_placeholder("SELECT 1"), 0u);
  EXPECT_EQ(highest_placeholder("SELECT $2, $1, $2"), 2u);
  EXPECT_EQ(highest_placeholder("SELECT $12"), 12u);
  EXPECT_EQ(highest_placeholder("SELECT '$9', \"$8\", $1 -- $7\n/* $6 */"), 1u);
  EXPECT_EQ(highest_placeholder("SELECT $$ $5 $$, $tag$ $4 $tag$, $2"), 2u);
  EXPECT_EQ(highest_placeholder("SELECT 'it''s $3', $1"), 1u);
}

}  // namespace
}  // namespace seatflow::db
