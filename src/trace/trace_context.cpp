#include "trace/trace_context.hpp"

#include <algorithm>
#include <unordered_set>

#include "core/text.hpp"

namespace seatflow::trace {
namespace {

constexpr char kHex[] = "0123456789abcdef";

bool is_lower_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

// Lowercase hex only, as the spec requires.
template <size_t N>
bool decode_lower_hex(std::string_view hex, std::array<uint8_t, N>& out) {
  if (hex.size() != 2 * N) return false;
  for (size_t i = 0; i < N; ++i) {
    const char hi = hex[2 * i];
    const char lo = hex[2 * i + 1];
    if (!is_lower_hex(hi) || !is_lower_hex(lo)) return false;
    out[i] = static_cast<uint8_t>(hex_digit_value(hi) << 4 | hex_digit_value(lo));
  }
  return true;
}

template <size_t N>
std::string encode_hex(const std::array<uint8_t, N>& bytes) {
  std::string out(2 * N, '0');
  for (size_t i = 0; i < N; ++i) {
    out[2 * i] = kHex[bytes[i] >> 4];
    out[2 * i + 1] = kHex[bytes[i] & 0xf];
  }
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
  std::string out;
  out.reserve(55);
  out += "00-";
  out += context.trace_id.hex();
  out.push_back('-');
  out += context.span_id.hex();
  out.push_back('-');
  out.push_back(kHex[flags >> 4]);
  out.push_back(kHex[flags & 0xf]);
  return out;
}

std::optional<SpanContext> extract(const std::vector<std::string_view>& traceparents,
                                   const std::vector<std::string_view>& tracestates) {
  if (traceparents.size() != 1) return std::nullopt;  // none, or ambiguous: restart
  auto context = parse_traceparent(traceparents.front());
  if (!context) return std::nullopt;
  if (auto state = TraceState::parse(tracestates)) context->trace_state = std::move(*state);
  return context;
}

}  // namespace seatflow::trace
