#include "trace/attributes.hpp"

#include <cstring>

#include "core/text.hpp"
#include "trace/wire.hpp"

namespace seatflow::trace {
namespace {

using wire::put_varint;
using wire::varint_size;

// Tags of the fields written here: Span.attributes = 9, KeyValue.key = 1,
// KeyValue.value = 2 (all length-delimited); AnyValue.string_value = 1,
// bool_value = 2 (varint), int_value = 3 (varint), double_value = 4 (fixed64).
constexpr char kSpanAttribute = 9 << 3 | 2;
constexpr char kKey = 1 << 3 | 2;
constexpr char kValue = 2 << 3 | 2;
constexpr char kString = 1 << 3 | 2;
constexpr char kBool = 2 << 3 | 0;
constexpr char kInt = 3 << 3 | 0;
constexpr char kDouble = 4 << 3 | 1;

// Reads a varint at bytes[i], advancing i. The bytes were written here, so
// they are well formed.
uint64_t get_varint(std::string_view bytes, size_t& i) {
  uint64_t v = 0;
  for (int shift = 0; i < bytes.size() && shift < 64; shift += 7) {
    const auto b = static_cast<unsigned char>(bytes[i++]);
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (b < 0x80) break;
  }
  return v;
}

// `s`, or its repair kept in `scratch` when it is not valid UTF-8.
inline std::string_view utf8(std::string_view s, std::string& scratch) {
  if (is_ascii(s) || valid_utf8(s)) return s;
  scratch = repair_utf8(s);
  return scratch;
}

// The value of the KeyValue field at bytes[i] (its tag).
AttributeValue read_value(std::string_view bytes, size_t i) {
  ++i;  // the value field's tag
  get_varint(bytes, i);
  const char tag = bytes[i++];
  switch (tag) {
    case kString: {
      const uint64_t size = get_varint(bytes, i);
      return std::string(bytes.substr(i, size));
    }
    case kInt: return static_cast<int64_t>(get_varint(bytes, i));
    case kBool: return bytes[i] != 0;
    default: {
      uint64_t bits = 0;
      for (int k = 7; k >= 0; --k) bits = bits << 8 | static_cast<unsigned char>(bytes[i + k]);
      double d = 0;
      std::memcpy(&d, &bits, sizeof d);
      return d;
    }
  }
}

}  // namespace

AttributeList::AttributeList(std::initializer_list<Attribute> attributes) {
  for (const auto& a : attributes) set(a.key.view(), a.value);
}

void AttributeList::clear() {
  bytes_.clear();
  entries_.clear();
  key_filter_ = 0;
}

uint64_t AttributeList::filter_bit(std::string_view key) {
  // The length and the first, middle and last bytes: the semantic
  // conventions' keys share prefixes ("http.", "url.") and endings, and a
  // clash costs a scan of the list.
  const size_t n = key.size();
  if (n == 0) return 1;
  const auto at = [&](size_t i) {
    return static_cast<unsigned>(static_cast<unsigned char>(key[i]));
  };
  const unsigned h = static_cast<unsigned>(n) * 0x9e37u ^ at(0) * 0x85ebu ^ at(n / 2) * 0xc2b2u ^
                     at(n - 1) * 0x27d4u;
  return uint64_t{1} << ((h ^ h >> 7) & 63);
}

void AttributeList::erase(std::string_view key) {
  const uint64_t bit = filter_bit(key);
  if ((key_filter_ & bit) == 0) {  // a key not set before, the common case
    key_filter_ |= bit;
    return;
  }
  for (size_t i = 0; i < entries_.size(); ++i) {
    const Entry found = entries_[i];
    if (found.key_size != key.size() ||
        std::memcmp(bytes_.data() + found.key_offset, key.data(), key.size()) != 0) {
      continue;
    }
    const auto first = bytes_.begin() + found.offset;
    bytes_.erase(first, first + found.size);
    for (size_t k = i + 1; k < entries_.size(); ++k) {
      entries_[k].offset -= found.size;
      entries_[k].key_offset -= found.size;
    }
    entries_.erase(entries_.begin() + static_cast<std::ptrdiff_t>(i));
    return;
  }
}

char* AttributeList::append(std::string_view key, size_t value_field_size) {
  erase(key);
  const size_t key_value = 1 + varint_size(key.size()) + key.size() + value_field_size;
  const size_t total = 1 + varint_size(key_value) + key_value;
  const size_t offset = bytes_.size();
  bytes_.resize(offset + total);
  char* p = bytes_.data() + offset;
  *p++ = kSpanAttribute;
  p = put_varint(p, key_value);
  *p++ = kKey;
  p = put_varint(p, key.size());
  const auto key_offset = static_cast<uint32_t>(p - bytes_.data());
  std::memcpy(p, key.data(), key.size());
  entries_.push_back({static_cast<uint32_t>(offset), static_cast<uint32_t>(total), key_offset,
                      static_cast<uint32_t>(key.size())});
  return p + key.size();
}

void AttributeList::set_text(std::string_view key, std::string_view value) {
  if (is_ascii(key) && is_ascii(value)) {  // the usual case, with nothing to repair
    put_text(key, value);
    return;
  }
  std::string key_scratch;
  std::string value_scratch;
  put_text(utf8(key, key_scratch), utf8(value, value_scratch));
}

void AttributeList::put_text(std::string_view key, std::string_view value) {
  const size_t any = 1 + varint_size(value.size()) + value.size();
  char* p = append(key, 1 + varint_size(any) + any);
  *p++ = kValue;
  p = put_varint(p, any);
  *p++ = kString;
  p = put_varint(p, value.size());
  if (!value.empty()) std::memcpy(p, value.data(), value.size());
}

void AttributeList::set_int(std::string_view key, int64_t value) {
  std::string scratch;
  const auto bits = static_cast<uint64_t>(value);
  const size_t any = 1 + varint_size(bits);
  char* p = append(utf8(key, scratch), 2 + any);
  *p++ = kValue;
  *p++ = static_cast<char>(any);
  *p++ = kInt;
  put_varint(p, bits);
}

void AttributeList::set_double(std::string_view key, double value) {
  std::string scratch;
  char* p = append(utf8(key, scratch), 11);
  *p++ = kValue;
  *p++ = 9;
  *p++ = kDouble;
  uint64_t bits = 0;
  std::memcpy(&bits, &value, sizeof bits);
  for (int i = 0; i < 8; ++i) {  // little-endian
    *p++ = static_cast<char>(bits & 0xff);
    bits >>= 8;
  }
}

void AttributeList::set_bool(std::string_view key, bool value) {
  std::string scratch;
  char* p = append(utf8(key, scratch), 4);
  *p++ = kValue;
  *p++ = 2;
  *p++ = kBool;
  *p = value ? '\1' : '\0';
}

void AttributeList::set(std::string_view key, const AttributeValue& value) {
  if (const auto* text = std::get_if<std::string>(&value)) {
    set_text(key, *text);
  } else if (const auto* i = std::get_if<int64_t>(&value)) {
    set_int(key, *i);
  } else if (const auto* d = std::get_if<double>(&value)) {
    set_double(key, *d);
  } else {
    set_bool(key, std::get<bool>(value));
  }
}

std::vector<Attribute> AttributeList::decode() const {
  std::vector<Attribute> out;
  out.reserve(entries_.size());
  for (const Entry& e : entries_) {
    out.push_back({std::string(bytes_.data() + e.key_offset, e.key_size),
                   read_value(wire(), e.key_offset + e.key_size)});
  }
  return out;
}

std::optional<AttributeValue> AttributeList::find(std::string_view key) const {
  for (const Entry& e : entries_) {
    if (std::string_view(bytes_.data() + e.key_offset, e.key_size) == key) {
      return read_value(wire(), e.key_offset + e.key_size);
    }
  }
  return std::nullopt;
}

}  // namespace seatflow::trace
