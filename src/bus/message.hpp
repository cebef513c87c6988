// Messages on the bus, and the helpers every adapter shares: the partition
// of a key and the text form of a header list.
//
// A message has a topic, a key (messages with one key stay in order: they go
// to one partition), headers (the message id, its type, the trace context)
// and a payload. Seatflow's payloads are JSON text.
//
// Thread safety: values and pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace seatflow::bus {

using Headers = std::vector<std::pair<std::string, std::string>>;

// Header names Seatflow sets on every message it publishes.
inline constexpr std::string_view kMessageIdHeader = "message-id";
inline constexpr std::string_view kMessageTypeHeader = "message-type";

// The first value of header `name` (compared case-insensitively), if any.
std::optional<std::string_view> find_header(const Headers& headers, std::string_view name);

// Sets header `name` to `value`, replacing every header of that name.
void set_header(Headers& headers, std::string_view name, std::string_view value);

// What a producer hands to Publisher::publish().
struct OutgoingMessage {
  std::string topic;
  std::string key;
  Headers headers;
  std::string payload;
};

// What a consumer's handler receives.
struct Message {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::string key;
  Headers headers;
  std::string payload;
  int64_t timestamp_ms = 0;  // when the bus accepted it

  // The message-id header, or "<topic>/<partition>/<offset>" without one.
  std::string id() const;
  std::string type() const;
};

// The partition of `key` among `partitions`: murmur2 of the key, as the Java
// client's default partitioner (and librdkafka's "murmur2" partitioner)
// computes it, so both buses place a key alike.
int32_t partition_for(std::string_view key, int32_t partitions);
uint32_t murmur2(std::string_view data);

// Headers as one line of text, `name=value&name=value`, with `%`, `&`, `=`
// and bytes outside printable ASCII percent-encoded. For database columns.
std::string encode_headers(const Headers& headers);
std::optional<Headers> decode_headers(std::string_view text);

}  // namespace seatflow::bus
