// Who is calling: buyers with signed session tokens, the admin with the
// configured admin token, and services with the service token.
//
// A session token is "<buyer id>.<expiry, Unix ms>.<signature>", the
// signature being HMAC-SHA256 of the first two parts under the session
// secret, base64url without padding. Tokens carry everything needed to check
// them, so every replica of every service verifies them alone, with the same
// secret. A token travels as "Authorization: Bearer <token>" or, for
// EventSource streams that cannot set headers, the `access_token` query
// parameter.
//
// A ticket code names one seat of a sold hold and proves that Seatflow
// issued it: "<hold id, 16 bytes in base64url>.<seat id>.<signature>", the
// signature being the first 16 bytes of HMAC-SHA256 of "ticket:<hold
// id>:<seat id>" under the session secret, base64url. Nothing is stored to
// issue one, and a forged or altered code does not verify.
//
// Thread safety: immutable after construction; safe from any thread.
#pragma once

#include <openssl/types.h>

#include <array>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/status.hpp"
#include "core/uuid.hpp"
#include "http/message.hpp"

namespace seatflow::services {

struct AuthOptions {
  std::string session_secret;  // at least 32 bytes
  std::string admin_token;     // empty: admin routes refuse everyone
  std::string service_token;   // for service-to-service routes (/internal/...)
  std::chrono::milliseconds session_ttl{std::chrono::hours(24)};
};

// What a verified ticket code names.
struct TicketRef {
  std::string hold_id;  // canonical UUID form
  std::string seat_id;
};

struct BuyerSession {
  std::string buyer_id;
  int64_t expires_at_ms = 0;
  std::string token;
};

class Auth {
 public:
  Auth(AuthOptions options, const Clock& clock);

  // A new buyer and their token.
  BuyerSession new_session() const;

  // The buyer whose valid token the request carries; kUnauthenticated otherwise.
  Result<std::string> buyer(const http::Request& request) const;

  // ok when the request carries the admin token (Bearer); kUnauthenticated
  // when it carries none, kPermissionDenied when another.
  Status admin(const http::Request& request) const;

  // ok when the request carries the service token.
  Status service(const http::Request& request) const;

  const std::string& service_token() const { return options_.service_token; }

  // The ticket code of seat `seat_id` of hold `hold_id` (a UUID).
  std::string ticket_code(const Uuid& hold_id, std::string_view seat_id) const;
  // The hold and seat a ticket code names; nullopt when it is malformed or
  // its signature does not verify.
  std::optional<TicketRef> verify_ticket_code(std::string_view code) const;

 private:
  std::string sign(std::string_view payload) const;
  // HMAC-SHA256 of `payload` under the session secret.
  std::array<unsigned char, 32> mac(std::string_view payload) const;

  const AuthOptions options_;
  // HMAC-SHA256 keyed with the session secret once; each signature works on
  // a copy. (OpenSSL's one-shot HMAC() looks the algorithms up again on
  // every call, and every buyer request checks a signature.)
  std::shared_ptr<const EVP_MAC_CTX> keyed_mac_;
  const Clock& clock_;
  mutable UuidV7Generator ids_;
};

// A random 256-bit secret, base64url: for generated secrets and tokens.
std::string random_secret();

// SHA-256 of `data`, lowercase hex: request fingerprints for idempotency.
std::string sha256_hex(std::string_view data);

// Constant-time comparison.
bool secure_equals(std::string_view a, std::string_view b);

}  // namespace seatflow::services
