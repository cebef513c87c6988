#include "services/common/auth.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <array>
#include <charconv>
#include <span>
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

// Decodes exactly `out.size()` bytes of unpadded base64url from `text`;
// false when `text` is not that.
bool base64url_decode(std::string_view text, std::span<uint8_t> out) {
  if (text.size() != (out.size() * 4 + 2) / 3) return false;
  uint32_t bits = 0;
  int pending = 0;
  size_t n = 0;
  for (const char c : text) {
    int v = -1;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    if (c >= '0' && c <= '9') v = c - '0' + 52;
    if (c == '-') v = 62;
    if (c == '_') v = 63;
    if (v < 0) return false;
    bits = (bits << 6) | static_cast<uint32_t>(v);
    pending += 6;
    if (pending >= 8) {
      pending -= 8;
      if (n < out.size()) out[n++] = static_cast<uint8_t>((bits >> pending) & 0xff);
    }
  }
  // The last character's unused low bits must be zero: one code per ticket.
  return n == out.size() && (bits & ((1U << pending) - 1)) == 0;
}

// What a ticket's signature covers.
std::string ticket_payload(const Uuid& hold_id, std::string_view seat_id) {
  std::string payload = "ticket:";
  payload.append(hold_id.to_string()).append(1, ':').append(seat_id);
  return payload;
}

// A ticket signature's length: 128 bits of HMAC-SHA256, 22 characters.
constexpr size_t kTicketSignatureBytes = 16;
constexpr size_t kMaxTicketSeatIdLength = 64;

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

std::shared_ptr<const EVP_MAC_CTX> keyed_hmac_sha256(std::string_view key) {
  std::unique_ptr<EVP_MAC, decltype(&EVP_MAC_free)> mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr),
                                                        &EVP_MAC_free);
  if (!mac) throw std::runtime_error("OpenSSL offers no HMAC");
  std::shared_ptr<EVP_MAC_CTX> ctx(EVP_MAC_CTX_new(mac.get()), &EVP_MAC_CTX_free);
  std::string digest = "SHA256";
  const std::array<OSSL_PARAM, 2> params{
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest.data(), 0),
      OSSL_PARAM_construct_end()};
  if (!ctx || EVP_MAC_init(ctx.get(), reinterpret_cast<const unsigned char*>(key.data()),
                           key.size(), params.data()) != 1) {
    throw std::runtime_error("cannot key HMAC-SHA256 with the session secret");
  }
  return ctx;
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
  // Fetched once: EVP_sha256() would be looked up again by every call.
  static EVP_MD* const kSha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  if (kSha256 == nullptr ||
      EVP_Digest(data.data(), data.size(), digest.data(), &size, kSha256, nullptr) != 1) {
    throw std::runtime_error("SHA-256 failed");
  }
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
  keyed_mac_ = keyed_hmac_sha256(options_.session_secret);
}

std::array<unsigned char, 32> Auth::mac(std::string_view payload) const {
  std::unique_ptr<EVP_MAC_CTX, decltype(&EVP_MAC_CTX_free)> ctx(EVP_MAC_CTX_dup(keyed_mac_.get()),
                                                                &EVP_MAC_CTX_free);
  std::array<unsigned char, 32> out{};
  size_t size = 0;
  if (!ctx ||
      EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(payload.data()),
                     payload.size()) != 1 ||
      EVP_MAC_final(ctx.get(), out.data(), &size, out.size()) != 1 || size != out.size()) {
    throw std::runtime_error("HMAC-SHA256 failed");
  }
  return out;
}

std::string Auth::sign(std::string_view payload) const {
  const auto signature = mac(payload);
  return base64url(signature.data(), signature.size());
}

std::string Auth::ticket_code(const Uuid& hold_id, std::string_view seat_id) const {
  const auto signature = mac(ticket_payload(hold_id, seat_id));
  std::string code = base64url(hold_id.bytes().data(), hold_id.bytes().size());
  code.append(1, '.').append(seat_id).append(1, '.');
  code += base64url(signature.data(), kTicketSignatureBytes);
  return code;
}

std::optional<TicketRef> Auth::verify_ticket_code(std::string_view code) const {
  // 22 characters of hold id, a dot, the seat id, a dot, 22 of signature.
  constexpr size_t kPart = 22;
  if (code.size() < 2 * kPart + 3 || code.size() > 2 * kPart + 2 + kMaxTicketSeatIdLength ||
      code[kPart] != '.' || code[code.size() - kPart - 1] != '.') {
    return std::nullopt;
  }
  std::array<uint8_t, 16> hold_bytes{};
  if (!base64url_decode(code.substr(0, kPart), hold_bytes)) return std::nullopt;
  const Uuid hold(hold_bytes);
  const std::string_view seat = code.substr(kPart + 1, code.size() - 2 * kPart - 2);
  const auto signature = mac(ticket_payload(hold, seat));
  if (!secure_equals(base64url(signature.data(), kTicketSignatureBytes),
                     code.substr(code.size() - kPart))) {
    return std::nullopt;
  }
  return TicketRef{hold.to_string(), std::string(seat)};
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
