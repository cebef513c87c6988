#include "bus/message.hpp"

#include <cstring>

#include "core/text.hpp"

namespace seatflow::bus {

std::optional<std::string_view> find_header(const Headers& headers, std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) return std::string_view(v);
  }
  return std::nullopt;
}

void set_header(Headers& headers, std::string_view name, std::string_view value) {
  std::erase_if(headers, [&](const auto& h) { return iequals(h.first, name); });
  headers.emplace_back(std::string(name), std::string(value));
}

std::string Message::id() const {
  if (auto id = find_header(headers, kMessageIdHeader)) return std::string(*id);
  return topic + "/" + std::to_string(partition) + "/" + std::to_string(offset);
}

std::string Message::type() const {
  return std::string(find_header(headers, kMessageTypeHeader).value_or(""));
}

uint32_t murmur2(std::string_view data) {
  // Kafka's variant: seed 0x9747b28c, little-endian 4-byte blocks.
  constexpr uint32_t kSeed = 0x9747b28c;
  constexpr uint32_t kM = 0x5bd1e995;
  constexpr int kR = 24;
  const auto length = static_cast<uint32_t>(data.size());
  uint32_t h = kSeed ^ length;
  const auto* bytes = reinterpret_cast<const unsigned char*>(data.data());
  const size_t blocks = data.size() / 4;
  for (size_t i = 0; i < blocks; ++i) {
    const unsigned char* p = bytes + 4 * i;
    uint32_t k = static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
                 static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
    k *= kM;
    k ^= k >> kR;
    k *= kM;
    h *= kM;
    h ^= k;
  }
  const unsigned char* tail = bytes + 4 * blocks;
  switch (length % 4) {
    case 3: h ^= static_cast<uint32_t>(tail[2]) << 16; [[fallthrough]];
    case 2: h ^= static_cast<uint32_t>(tail[1]) << 8; [[fallthrough]];
    case 1:
      h ^= static_cast<uint32_t>(tail[0]);
      h *= kM;
      break;
    default: break;
  }
  h ^= h >> 13;
  h *= kM;
  h ^= h >> 15;
  return h;
}

int32_t partition_for(std::string_view key, int32_t partitions) {
  if (partitions <= 1) return 0;
  return static_cast<int32_t>((murmur2(key) & 0x7fffffff) % static_cast<uint32_t>(partitions));
}

namespace {

bool plain(unsigned char c) { return c > 0x20 && c < 0x7f && c != '%' && c != '&' && c != '='; }

// Both directions copy runs of plain characters whole: a message's headers
// (its id, type and traceparent) are mostly plain, and every message
// published and consumed goes through here.
void append_encoded(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  size_t run = 0;  // where the current run of plain characters began
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (plain(c)) continue;
    out.append(text.substr(run, i - run));
    const char escape[] = {'%', kHex[c >> 4], kHex[c & 0xf]};
    out.append(escape, sizeof escape);
    run = i + 1;
  }
  out.append(text.substr(run));
}

std::optional<std::string> decode_part(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t percent = text.find('%'); percent != std::string_view::npos;
       percent = text.find('%')) {
    if (percent + 2 >= text.size()) return std::nullopt;
    const int hi = hex_digit_value(text[percent + 1]);
    const int lo = hex_digit_value(text[percent + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.append(text.substr(0, percent));
    out.push_back(static_cast<char>(hi << 4 | lo));
    text.remove_prefix(percent + 3);
  }
  out.append(text);
  return out;
}

}  // namespace

std::string encode_headers(const Headers& headers) {
  std::string out;
  size_t size = 0;
  for (const auto& [name, value] : headers) size += name.size() + value.size() + 2;
  out.reserve(size);
  for (const auto& [name, value] : headers) {
    if (!out.empty()) out.push_back('&');
    append_encoded(out, name);
    out.push_back('=');
    append_encoded(out, value);
  }
  return out;
}

std::optional<Headers> decode_headers(std::string_view text) {
  Headers headers;
  while (!text.empty()) {
    const size_t amp = text.find('&');
    const std::string_view pair = text.substr(0, amp);
    text = amp == std::string_view::npos ? std::string_view() : text.substr(amp + 1);
    const size_t eq = pair.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    auto name = decode_part(pair.substr(0, eq));
    auto value = decode_part(pair.substr(eq + 1));
    if (!name || !value) return std::nullopt;
    headers.emplace_back(std::move(*name), std::move(*value));
  }
  return headers;
}

}  // namespace seatflow::bus
