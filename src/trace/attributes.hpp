// Attributes: key-value pairs on spans, events, links and resources.
//
// A span's own attributes are an AttributeList, kept in the form the
// exporter sends them: each one an OTLP KeyValue in protobuf
// (opentelemetry/proto/common/v1/common.proto), tagged as field 9 of a Span
// (trace/v1/trace.proto). Setting an attribute is one append into a buffer
// that the tracer's pooled span data reuses, with no allocation and nothing
// left to convert when the span ends; a server span sets about ten of them
// per request. Events, links and resources, rarer, hold plain Attributes.
//
// Thread safety: values; an AttributeList belongs to one thread at a time.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/byte_buffer.hpp"

namespace seatflow::trace {

using AttributeValue = std::variant<std::string, int64_t, double, bool>;

// An attribute's key. A string literal (or a constant char array: the
// semantic-convention keys) is kept as a view, not copied: such keys live as
// long as the program. Any other string is copied.
class AttributeKey {
 public:
  template <size_t N>
  constexpr AttributeKey(const char (&literal)[N])  // NOLINT(google-explicit-constructor)
      : literal_(literal, N - 1) {}
  AttributeKey(std::string key)  // NOLINT(google-explicit-constructor)
      : owned_(std::move(key)), is_owned_(true) {}
  AttributeKey(std::string_view key)  // NOLINT(google-explicit-constructor)
      : owned_(key), is_owned_(true) {}

  std::string_view view() const { return is_owned_ ? std::string_view(owned_) : literal_; }
  operator std::string_view() const { return view(); }  // NOLINT(google-explicit-constructor)
  friend bool operator==(const AttributeKey& a, std::string_view b) { return a.view() == b; }

 private:
  std::string_view literal_;
  std::string owned_;
  bool is_owned_ = false;
};

struct Attribute {
  AttributeKey key;
  AttributeValue value;
};

class AttributeList {
 public:
  AttributeList() = default;
  AttributeList(
      std::initializer_list<Attribute> attributes);  // NOLINT(google-explicit-constructor)

  // Setting a key that is already there replaces its value (the attribute
  // then comes last). Text that is not valid UTF-8 is stored with U+FFFD in
  // place of each invalid sequence, keys included: a receiver refuses a
  // whole request for one bad byte.
  void set_text(std::string_view key, std::string_view value);
  void set_int(std::string_view key, int64_t value);
  void set_double(std::string_view key, double value);
  void set_bool(std::string_view key, bool value);
  void set(std::string_view key, const AttributeValue& value);
  // Sets every attribute of `other`, as setting them one by one would. When
  // none of their keys may be set here yet (the usual case), that is one
  // copy of their encoding: attributes that many spans share, e.g. a
  // server's per-method ones, are encoded once.
  void set_all(const AttributeList& other);

  size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  // Keeps the capacity.
  void clear();

  // The attributes as values, in order: for tests and the JSON encoding.
  std::vector<Attribute> decode() const;
  std::optional<AttributeValue> find(std::string_view key) const;

  // The encoded attributes: Span field 9 once per attribute.
  std::string_view wire() const { return {bytes_.data(), bytes_.size()}; }
  // A list of the attributes encoded in `wire` (as wire() gives them).
  static AttributeList from_wire(std::string_view wire);

 private:
  // Removes `key` if it was set before. Called only when its filter bit
  // says it may have been.
  void erase(std::string_view key);
  static uint64_t filter_bit(std::string_view key);
  // Appends tag, length and the KeyValue's key field; the caller writes the
  // value field (`value_field_size` bytes, tag and length included) at the
  // returned pointer.
  char* append(std::string_view key, size_t value_field_size);
  // Appends a string attribute whose key and value are valid UTF-8.
  void put_text(std::string_view key, std::string_view value);

  friend class AttributeWriter;

  // The attributes one after the other, nothing beside them: the rare
  // look-ups (a key set twice, decode(), find()) walk the encoding itself.
  // Grown unzeroed: an attribute's bytes are written right after.
  ByteBuffer bytes_;
  uint32_t count_ = 0;
  // A bit per key set, by a hash of a few of its bytes: a key whose bit is
  // clear is new, with no need to compare it against every other.
  uint64_t key_filter_ = 0;
};

// Writes attributes encoded as AttributeList keeps them straight into a
// buffer (the exporter's queue): for a span recorded in one piece when it
// ends (see trace::FinishedSpan), whose keys the caller knows to be
// distinct. Text is repaired as AttributeList does.
class AttributeWriter {
 public:
  explicit AttributeWriter(ByteBuffer& out) : out_(out) {}
  void set_text(std::string_view key, std::string_view value);
  void set_int(std::string_view key, int64_t value);
  // Appends the attributes of `list` (their keys distinct from the others').
  void set_all(const AttributeList& list);

 private:
  ByteBuffer& out_;
};

}  // namespace seatflow::trace
