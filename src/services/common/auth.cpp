#include "services/common/auth.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <array>
#include <charconv>
#include <stdexcept>

namespace seatflow::services {
namespace {

std::string base64url(const unsigned char* data, size_t size) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((size * 4 + 2) / 3);
  for (size_t i = 0; i < size; i += 3) {
    uint32_t chunk = uint32_t{data[i]} << 16;
    if (i + 1 < size) chunk |= uint32_t{data[i + 1]} << 8;
    if (i + 2 < size) chunk |= data[i + 2];
    const size_t chars = std::min<size_t>(4, (size - i) * 4 / 3 + 1);
    for (size_t c = 0; c < chars; ++c) out.push_back(kAlphabet[(chunk >> (18 - 6 * c)) & 0x3f]);
  }
  return out;
}

std::optional<std::string_view> bearer_token(const http::Request& request) {
  auto header = request.header("Authorization");
  if (!header) return std::nullopt;
  std::string_view value = trim(*header);
  constexpr std::string_view kScheme = "Bearer ";
  if (value.size() <= kScheme.size() || !iequals(value.substr(0, kScheme.size()), kScheme)) {
    return std::nullopt;
  }
  return trim(value.substr(kScheme.size()));
}

}  // namespace

std::string random_secret() {
  std::array<unsigned char, 32> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    throw std::runtime_error("no randomness available for a secret");
  }
  return base64url(bytes.data(), bytes.size());
}

std::string sha256_hex(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  EVP_Digest(data.data(), data.size(), digest.data(), &size, EVP_sha256(), nullptr);
  static constexpr std::string_view kHex = "0123456789abcdef";
  std::string out;
  out.reserve(size_t{size} * 2);
  for (unsigned int i = 0; i < size; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0xf]);
  }
  return out;
}

bool secure_equals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

Auth::Auth(AuthOptions options, const Clock& clock)
    : options_(std::move(options)), clock_(clock), ids_(clock) {
  if (options_.session_secret.size() < 32) {
    throw std::invalid_argument("the session secret must be at least 32 bytes");
  }
}

std::string Auth::sign(std::string_view payload) const {
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int size = 0;
  HMAC(EVP_sha256(), options_.session_secret.data(),
       static_cast<int>(options_.session_secret.size()),
       reinterpret_cast<const unsigned char*>(payload.data()), payload.size(), mac.data(), &size);
  return base64url(mac.data(), size);
}

BuyerSession Auth::new_session() const {
  BuyerSession session;
  session.buyer_id = ids_.next().to_string();
  session.expires_at_ms = clock_.now_unix_ms() + options_.session_ttl.count();
  std::string payload = session.buyer_id + "." + std::to_string(session.expires_at_ms);
  session.token = payload + "." + sign(payload);
  return session;
}

Result<std::string> Auth::buyer(const http::Request& request) const {
  std::optional<std::string> token;
  if (auto bearer = bearer_token(request)) {
    token = std::string(*bearer);
  } else {
    token = request.query_param("access_token");
  }
  if (!token) {
    return fail(ErrorCode::kUnauthenticated,
                "a session token is required: POST /api/session, then send it as "
                "'Authorization: Bearer <token>'");
  }
  const size_t second_dot = token->rfind('.');
  const size_t first_dot = second_dot == std::string::npos || second_dot == 0
                               ? std::string::npos
                               : token->rfind('.', second_dot - 1);
  if (first_dot == std::string::npos) {
    return fail(ErrorCode::kUnauthenticated, "the session token is malformed");
  }
  const std::string_view text = *token;
  if (!secure_equals(sign(text.substr(0, second_dot)), text.substr(second_dot + 1))) {
    return fail(ErrorCode::kUnauthenticated, "the session token's signature is not valid");
  }
  int64_t expires = 0;
  const std::string_view expiry = text.substr(first_dot + 1, second_dot - first_dot - 1);
  if (std::from_chars(expiry.data(), expiry.data() + expiry.size(), expires).ec != std::errc() ||
      expires <= clock_.now_unix_ms()) {
    return fail(ErrorCode::kUnauthenticated, "the session token has expired: start a new session");
  }
  return std::string(text.substr(0, first_dot));
}

Status Auth::admin(const http::Request& request) const {
  auto token = bearer_token(request);
  if (!token) {
    return fail(ErrorCode::kUnauthenticated,
                "this route needs the admin token: 'Authorization: Bearer <auth.admin_token>'");
  }
  if (options_.admin_token.empty() || !secure_equals(*token, options_.admin_token)) {
    return fail(ErrorCode::kPermissionDenied, "the admin token is not valid");
  }
  return ok();
}

Status Auth::service(const http::Request& request) const {
  auto token = bearer_token(request);
  if (!token || options_.service_token.empty() || !secure_equals(*token, options_.service_token)) {
    return fail(ErrorCode::kPermissionDenied, "this route is for Seatflow's services only");
  }
  return ok();
}

}  // namespace seatflow::services
