#include "trace/trace_context.hpp"

#include <algorithm>
#include <unordered_set>

#include "core/text.hpp"

namespace seatflow::trace {
namespace {

constexpr char kHex[] = "0123456789abcdef";

// Each character's value as a lowercase hex digit, 0xff for any other: the
// ids of every request and message are decoded, so one look-up a character.
constexpr std::array<uint8_t, 256> kLowerHexValue = [] {
  std::array<uint8_t, 256> values{};
  values.fill(0xff);
  for (int c = '0'; c <= '9'; ++c) values[static_cast<size_t>(c)] = static_cast<uint8_t>(c - '0');
  for (int c = 'a'; c <= 'f'; ++c) {
    values[static_cast<size_t>(c)] = static_cast<uint8_t>(c - 'a' + 10);
  }
  return values;
}();

bool is_lower_hex(char c) { return kLowerHexValue[static_cast<unsigned char>(c)] != 0xff; }

// Lowercase hex only, as the spec requires.
template <size_t N>
bool decode_lower_hex(std::string_view hex, std::array<uint8_t, N>& out) {
  if (hex.size() != 2 * N) return false;
  for (size_t i = 0; i < N; ++i) {
    const uint8_t hi = kLowerHexValue[static_cast<unsigned char>(hex[2 * i])];
    const uint8_t lo = kLowerHexValue[static_cast<unsigned char>(hex[2 * i + 1])];
    if ((hi | lo) == 0xff) return false;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

// Writes 2 * N characters at `out`.
template <size_t N>
void write_hex(const std::array<uint8_t, N>& bytes, char* out) {
  for (const uint8_t b : bytes) {
    *out++ = kHex[b >> 4];
    *out++ = kHex[b & 0xf];
  }
}

template <size_t N>
std::string encode_hex(const std::array<uint8_t, N>& bytes) {
  std::string out(2 * N, '0');
  write_hex(bytes, out.data());
  return out;
}

template <size_t N>
bool all_zero(const std::array<uint8_t, N>& bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](uint8_t b) { return b == 0; });
}

bool is_lcalpha(char c) { return c >= 'a' && c <= 'z'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_key_char(char c) {
  return is_lcalpha(c) || is_digit(c) || c == '_' || c == '-' || c == '*' || c == '/';
}

}  // namespace

bool TraceId::valid() const { return !all_zero(bytes); }
std::string TraceId::hex() const { return encode_hex(bytes); }
std::optional<TraceId> TraceId::from_hex(std::string_view hex) {
  TraceId id;
  if (!decode_lower_hex(hex, id.bytes)) return std::nullopt;
  return id;
}

bool SpanId::valid() const { return !all_zero(bytes); }
std::string SpanId::hex() const { return encode_hex(bytes); }
std::optional<SpanId> SpanId::from_hex(std::string_view hex) {
  SpanId id;
  if (!decode_lower_hex(hex, id.bytes)) return std::nullopt;
  return id;
}

// key = simple-key / multi-tenant-key
// simple-key = lcalpha 0*255( lcalpha / DIGIT / "_" / "-"/ "*" / "/" )
// multi-tenant-key = tenant-id "@" system-id
// tenant-id = ( lcalpha / DIGIT ) 0*240( lcalpha / DIGIT / "_" / "-"/ "*" / "/" )
// system-id = lcalpha 0*13( lcalpha / DIGIT / "_" / "-"/ "*" / "/" )
bool TraceState::valid_key(std::string_view key) {
  const size_t at = key.find('@');
  if (at == std::string_view::npos) {
    return !key.empty() && key.size() <= 256 && is_lcalpha(key[0]) &&
           std::all_of(key.begin(), key.end(), is_key_char);
  }
  const std::string_view tenant = key.substr(0, at);
  const std::string_view system = key.substr(at + 1);
  return !tenant.empty() && tenant.size() <= 241 &&
         (is_lcalpha(tenant[0]) || is_digit(tenant[0])) &&
         std::all_of(tenant.begin(), tenant.end(), is_key_char) && !system.empty() &&
         system.size() <= 14 && is_lcalpha(system[0]) &&
         std::all_of(system.begin(), system.end(), is_key_char);
}

// value = 0*255(chr) nblk-chr; nblk-chr = %x21-2B / %x2D-3C / %x3E-7E; chr = %x20 / nblk-chr
bool TraceState::valid_value(std::string_view value) {
  if (value.empty() || value.size() > 256) return false;
  auto nblk = [](char c) { return c >= 0x21 && c <= 0x7e && c != ',' && c != '='; };
  if (!nblk(value.back())) return false;
  return std::all_of(value.begin(), value.end(), [&](char c) { return c == ' ' || nblk(c); });
}

std::optional<TraceState> TraceState::parse(const std::vector<std::string_view>& headers) {
  TraceState state;
  std::unordered_set<std::string_view> keys;
  for (std::string_view header : headers) {
    while (true) {
      const size_t comma = header.find(',');
      const std::string_view member = trim(header.substr(0, comma));
      if (!member.empty()) {  // empty list members are allowed and skipped
        const size_t eq = member.find('=');
        if (eq == std::string_view::npos) return std::nullopt;
        const std::string_view key = member.substr(0, eq);
        const std::string_view value = member.substr(eq + 1);
        if (!valid_key(key) || !valid_value(value)) return std::nullopt;
        if (!keys.insert(key).second) return std::nullopt;  // duplicated key
        if (state.members_.size() == kMaxMembers) return std::nullopt;
        state.members_.emplace_back(key, value);
      }
      if (comma == std::string_view::npos) break;
      header.remove_prefix(comma + 1);
    }
  }
  return state;
}

std::string TraceState::format() const {
  auto length_of = [](const std::vector<const std::pair<std::string, std::string>*>& kept) {
    size_t n = kept.empty() ? 0 : kept.size() - 1;  // commas
    for (const auto* m : kept) n += m->first.size() + 1 + m->second.size();
    return n;
  };
  std::vector<const std::pair<std::string, std::string>*> kept;
  for (const auto& m : members_) kept.push_back(&m);
  // Over the limit: drop members longer than 128 characters, right to left,
  // then any member from the right.
  for (size_t i = kept.size(); i-- > 0 && length_of(kept) > kMaxPropagatedLength;) {
    if (kept[i]->first.size() + 1 + kept[i]->second.size() > 128)
      kept.erase(kept.begin() + static_cast<std::ptrdiff_t>(i));
  }
  while (!kept.empty() && length_of(kept) > kMaxPropagatedLength) kept.pop_back();
  std::string out;
  for (const auto* m : kept) {
    if (!out.empty()) out.push_back(',');
    out += m->first;
    out.push_back('=');
    out += m->second;
  }
  return out;
}

std::optional<std::string_view> TraceState::get(std::string_view key) const {
  for (const auto& [k, v] : members_) {
    if (k == key) return std::string_view(v);
  }
  return std::nullopt;
}

void TraceState::set(std::string_view key, std::string_view value) {
  std::erase_if(members_, [&](const auto& m) { return m.first == key; });
  members_.insert(members_.begin(), {std::string(key), std::string(value)});
  if (members_.size() > kMaxMembers) members_.pop_back();
}

std::optional<SpanContext> parse_traceparent(std::string_view value) {
  value = trim(value);
  // version "-" trace-id "-" parent-id "-" trace-flags: 2+1+32+1+16+1+2 = 55
  constexpr size_t kLength = 55;
  if (value.size() < kLength) return std::nullopt;
  const std::string_view version = value.substr(0, 2);
  if (!is_lower_hex(version[0]) || !is_lower_hex(version[1]) || version == "ff") {
    return std::nullopt;
  }
  if (version == "00") {
    if (value.size() != kLength) return std::nullopt;
  } else if (value.size() > kLength && value[kLength] != '-') {
    return std::nullopt;  // a future version may only append "-..." fields
  }
  if (value[2] != '-' || value[35] != '-' || value[52] != '-') return std::nullopt;
  SpanContext context;
  std::array<uint8_t, 1> flags{};
  if (!decode_lower_hex(value.substr(3, 32), context.trace_id.bytes) ||
      !decode_lower_hex(value.substr(36, 16), context.span_id.bytes) ||
      !decode_lower_hex(value.substr(53, 2), flags)) {
    return std::nullopt;
  }
  if (!context.valid()) return std::nullopt;
  context.flags = flags[0];
  context.remote = true;
  return context;
}

std::string format_traceparent(const SpanContext& context) {
  const uint8_t flags = context.flags & (kFlagSampled | kFlagRandom);
  // "00-<32>-<16>-<2>", written in place into one string.
  std::string out(55, '-');
  char* p = out.data();
  p[0] = '0';
  p[1] = '0';
  write_hex(context.trace_id.bytes, p + 3);
  write_hex(context.span_id.bytes, p + 36);
  p[53] = kHex[flags >> 4];
  p[54] = kHex[flags & 0xf];
  return out;
}

std::optional<SpanContext> extract(const std::vector<std::string_view>& traceparents,
                                   const std::vector<std::string_view>& tracestates) {
  if (traceparents.size() != 1) return std::nullopt;  // none, or ambiguous: restart
  return extract_one(traceparents.front(), tracestates);
}

std::optional<SpanContext> extract_one(std::string_view traceparent,
                                       const std::vector<std::string_view>& tracestates) {
  auto context = parse_traceparent(traceparent);
  if (!context) return std::nullopt;
  if (auto state = TraceState::parse(tracestates)) context->trace_state = std::move(*state);
  return context;
}

}  // namespace seatflow::trace
