#include "services/payment/payment_service.hpp"

#include <gtest/gtest.h>

#include "services/common/cards.hpp"

namespace seatflow::payment {
namespace {

using services::normalize_card_number;
using services::valid_card_number;

TEST(CardNumberTest, LuhnAndNormalization) {
  EXPECT_TRUE(valid_card_number(normalize_card_number("4242 4242 4242 4242")));
  EXPECT_TRUE(valid_card_number(normalize_card_number("4000-0000-0000-0002")));
  EXPECT_FALSE(valid_card_number("4242424242424241"));
  EXPECT_FALSE(valid_card_number("42424242"));
  EXPECT_FALSE(valid_card_number("4242a24242424242"));
  for (const auto& card : test_cards()) {
    EXPECT_TRUE(valid_card_number(card.number)) << card.number;
  }
}

TEST(CardNumberTest, TheGatewayDecidesByTestCard) {
  EXPECT_EQ(gateway_outcome("4242424242424242"), CardOutcome::kApprove);
  EXPECT_EQ(gateway_outcome("4000000000000002"), CardOutcome::kDecline);
  EXPECT_EQ(gateway_outcome("4000000000009995"), CardOutcome::kInsufficientFunds);
  EXPECT_EQ(gateway_outcome("4000000000000077"), CardOutcome::kSlowApprove);
  EXPECT_EQ(gateway_outcome("5555555555554444"), CardOutcome::kApprove);
}

}  // namespace
}  // namespace seatflow::payment
