#include "services/common/auth.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <string>
#include <vector>

namespace seatflow::services {
namespace {

class AuthTest : public ::testing::Test {
 protected:
  static http::Request with_bearer(const std::string& token) {
    http::Request r;
    r.headers.add("Authorization", "Bearer " + token);
    return r;
  }

  ManualClock clock_;
  Auth auth_{AuthOptions{.session_secret = std::string(32, 's'),
                         .admin_token = "admin-secret",
                         .service_token = "service-secret",
                         .session_ttl = std::chrono::hours(1)},
             clock_};
};

TEST_F(AuthTest, ASessionTokenIdentifiesItsBuyer) {
  const BuyerSession session = auth_.new_session();
  auto buyer = auth_.buyer(with_bearer(session.token));
  ASSERT_TRUE(buyer) << buyer.error().message();
  EXPECT_EQ(*buyer, session.buyer_id);
}

// The signature is HMAC-SHA256 of "<buyer>.<expiry>" under the secret,
// base64url without padding: the same as OpenSSL's one-shot HMAC.
TEST_F(AuthTest, TheSignatureIsHmacSha256OfTheBuyerAndExpiry) {
  const BuyerSession session = auth_.new_session();
  const std::string payload = session.buyer_id + "." + std::to_string(session.expires_at_ms);
  ASSERT_EQ(session.token.substr(0, payload.size() + 1), payload + ".");
  const std::string secret(32, 's');
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int size = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(payload.data()), payload.size(), mac.data(), &size);
  ASSERT_EQ(size, 32U);
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string expected;
  uint32_t bits = 0;
  int pending = 0;
  for (unsigned int i = 0; i < size; ++i) {
    bits = (bits << 8) | mac[i];
    pending += 8;
    while (pending >= 6) {
      pending -= 6;
      expected.push_back(kAlphabet[(bits >> pending) & 0x3f]);
    }
  }
  if (pending > 0) expected.push_back(kAlphabet[(bits << (6 - pending)) & 0x3f]);
  EXPECT_EQ(session.token.substr(payload.size() + 1), expected);
}

TEST_F(AuthTest, TheTokenMayTravelAsAQueryParameterForEventStreams) {
  const BuyerSession session = auth_.new_session();
  http::Request r;
  r.query = "access_token=" + session.token;
  auto buyer = auth_.buyer(r);
  ASSERT_TRUE(buyer) << buyer.error().message();
  EXPECT_EQ(*buyer, session.buyer_id);
}

TEST_F(AuthTest, RefusesATamperedExpiredOrMissingToken) {
  const BuyerSession session = auth_.new_session();
  std::string tampered = session.token;
  tampered[0] = tampered[0] == 'a' ? 'b' : 'a';
  EXPECT_EQ(auth_.buyer(with_bearer(tampered)).error().code(), ErrorCode::kUnauthenticated);
  EXPECT_EQ(auth_.buyer(with_bearer("nonsense")).error().code(), ErrorCode::kUnauthenticated);
  EXPECT_EQ(auth_.buyer(http::Request{}).error().code(), ErrorCode::kUnauthenticated);

  clock_.advance(std::chrono::hours(2));
  auto expired = auth_.buyer(with_bearer(session.token));
  ASSERT_FALSE(expired);
  EXPECT_NE(expired.error().message().find("expired"), std::string::npos);
}

TEST_F(AuthTest, AnotherSecretDoesNotAcceptTheToken) {
  Auth other(AuthOptions{.session_secret = std::string(32, 'o')}, clock_);
  EXPECT_FALSE(other.buyer(with_bearer(auth_.new_session().token)));
}

TEST_F(AuthTest, AdminAndServiceTokens) {
  EXPECT_TRUE(auth_.admin(with_bearer("admin-secret")));
  EXPECT_EQ(auth_.admin(with_bearer("guess")).error().code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(auth_.admin(http::Request{}).error().code(), ErrorCode::kUnauthenticated);
  EXPECT_TRUE(auth_.service(with_bearer("service-secret")));
  EXPECT_FALSE(auth_.service(with_bearer("admin-secret")));

  Auth no_admin(AuthOptions{.session_secret = std::string(32, 's')}, clock_);
  EXPECT_FALSE(no_admin.admin(with_bearer("")));
}

TEST_F(AuthTest, ATicketCodeNamesItsHoldAndSeat) {
  const auto hold = Uuid::parse("0192f3e4-5a6b-7c8d-9e0f-a1b2c3d4e5f6");
  ASSERT_TRUE(hold);
  const std::string code = auth_.ticket_code(*hold, "A-1-7");
  // 22 characters of hold id, the seat, 22 of signature.
  EXPECT_EQ(code.size(), 22U + 1 + 5 + 1 + 22) << code;
  EXPECT_EQ(code.substr(22, 7), ".A-1-7.");
  auto ref = auth_.verify_ticket_code(code);
  ASSERT_TRUE(ref) << code;
  EXPECT_EQ(ref->hold_id, "0192f3e4-5a6b-7c8d-9e0f-a1b2c3d4e5f6");
  EXPECT_EQ(ref->seat_id, "A-1-7");
  // Seat ids may hold dots: the code is read from both ends.
  ref = auth_.verify_ticket_code(auth_.ticket_code(*hold, "Box.2-1-1"));
  ASSERT_TRUE(ref);
  EXPECT_EQ(ref->seat_id, "Box.2-1-1");
}

TEST_F(AuthTest, AnAlteredOrForeignTicketCodeDoesNotVerify) {
  const auto hold = Uuid::parse("0192f3e4-5a6b-7c8d-9e0f-a1b2c3d4e5f6");
  ASSERT_TRUE(hold);
  const std::string code = auth_.ticket_code(*hold, "A-1-7");
  std::string other_seat = code;
  other_seat.replace(23, 5, "A-1-8");
  EXPECT_FALSE(auth_.verify_ticket_code(other_seat));
  std::string other_hold = code;
  other_hold[3] = other_hold[3] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(auth_.verify_ticket_code(other_hold));
  std::string bad_signature = code;
  bad_signature.back() = bad_signature.back() == 'A' ? 'Q' : 'A';
  EXPECT_FALSE(auth_.verify_ticket_code(bad_signature));
  Auth other(AuthOptions{.session_secret = std::string(32, 'o')}, clock_);
  EXPECT_FALSE(other.verify_ticket_code(code));
  for (const std::string& malformed : std::vector<std::string>{
           "", "A-1-7", "..", code.substr(0, 30), code + "x", "!" + code.substr(1)}) {
    EXPECT_FALSE(auth_.verify_ticket_code(malformed)) << malformed;
  }
}

TEST(Sha256Test, KnownDigest) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(RandomSecretTest, IsLongAndDiffers) {
  const std::string a = random_secret();
  EXPECT_EQ(a.size(), 43U);
  EXPECT_NE(a, random_secret());
}

}  // namespace
}  // namespace seatflow::services
