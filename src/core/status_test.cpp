#include "core/status.hpp"

#include <gtest/gtest.h>

namespace seatflow {
namespace {

Result<int> half(int n) {
  if (n % 2 != 0) return fail(ErrorCode::kInvalidArgument, std::to_string(n) + " is odd");
  return n / 2;
}

TEST(Status, ResultCarriesValueOrError) {
  auto good = half(8);
  ASSERT_TRUE(good);
  EXPECT_EQ(*good, 4);

  auto bad = half(7);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad.error().message(), "7 is odd");
  EXPECT_EQ(bad.error().to_string(), "invalid_argument: 7 is odd");
}

TEST(Status, WithContextPrefixesMessageAndKeepsCode) {
  Error e(ErrorCode::kNotFound, "no such seat");
  Error wrapped = e.with_context("hold 42");
  EXPECT_EQ(wrapped.code(), ErrorCode::kNotFound);
  EXPECT_EQ(wrapped.message(), "hold 42: no such seat");
}

TEST(Status, EveryCodeHasAStableName) {
  EXPECT_EQ(error_code_name(ErrorCode::kConflict), "conflict");
  EXPECT_EQ(error_code_name(ErrorCode::kUnavailable), "unavailable");
  EXPECT_EQ(error_code_name(ErrorCode::kFailedPrecondition), "failed_precondition");
  EXPECT_EQ(error_code_name(ErrorCode::kUnauthenticated), "unauthenticated");
}

TEST(Status, OkStatusIsTruthy) {
  Status s = ok();
  EXPECT_TRUE(s);
  Status f = fail(ErrorCode::kInternal, "boom");
  EXPECT_FALSE(f);
}

}  // namespace
}  // namespace seatflow
