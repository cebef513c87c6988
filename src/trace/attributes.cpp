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

// Calls put(key, value) with both valid UTF-8: as they are when they are
// ASCII (the usual case, with no scratch strings made), else repaired.
template <typename Put>
void with_valid_text(std::string_view key, std::string_view value, Put put) {
  if (is_ascii(key) && is_ascii(value)) {
    put(key, value);
    return;
  }
  std::string key_scratch;
  std::string value_scratch;
  put(utf8(key, key_scratch), utf8(value, value_scratch));
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

// One attribute of an encoded list: where its Span field starts and ends,
// its key, and where its value field starts.
struct Field {
  size_t begin = 0;
  size_t end = 0;
  std::string_view key;
  size_t value = 0;
};

// Calls `visit(field)` for each attribute in `bytes` (written here, so well
// formed) until it returns true; returns that field, if any.
template <typename Visit>
std::optional<Field> walk(std::string_view bytes, Visit visit) {
  size_t i = 0;
  while (i < bytes.size()) {
    Field f;
    f.begin = i++;  // the Span field's tag
    const uint64_t size = get_varint(bytes, i);
    f.end = i + size;
    ++i;  // the key's tag
    const uint64_t key_size = get_varint(bytes, i);
    f.key = bytes.substr(i, key_size);
    f.value = i + key_size;
    if (visit(f)) return f;
    i = f.end;
  }
  return std::nullopt;
}

std::optional<Field> find_key(std::string_view bytes, std::string_view key) {
  return walk(bytes, [&](const Field& f) { return f.key == key; });
}

// Appends tag, length and the KeyValue's key field to `out`; the caller
// writes the value field (`value_field_size` bytes, tag and length
// included) at the returned pointer.
char* append_key(ByteBuffer& out, std::string_view key, size_t value_field_size) {
  const size_t key_value = 1 + varint_size(key.size()) + key.size() + value_field_size;
  const size_t total = 1 + varint_size(key_value) + key_value;
  const size_t offset = out.size();
  out.resize(offset + total);
  char* p = out.data() + offset;
  *p++ = kSpanAttribute;
  p = put_varint(p, key_value);
  *p++ = kKey;
  p = put_varint(p, key.size());
  std::memcpy(p, key.data(), key.size());
  return p + key.size();
}

// The value fields of a string (valid UTF-8) and of an integer: their
// sizes, and their bytes written at `p`.
size_t text_value_size(std::string_view value) {
  const size_t any = 1 + varint_size(value.size()) + value.size();
  return 1 + varint_size(any) + any;
}
void put_text_value(char* p, std::string_view value) {
  *p++ = kValue;
  p = put_varint(p, 1 + varint_size(value.size()) + value.size());
  *p++ = kString;
  p = put_varint(p, value.size());
  if (!value.empty()) std::memcpy(p, value.data(), value.size());
}
size_t int_value_size(int64_t value) { return 3 + varint_size(static_cast<uint64_t>(value)); }
void put_int_value(char* p, int64_t value) {
  const auto bits = static_cast<uint64_t>(value);
  *p++ = kValue;
  *p++ = static_cast<char>(1 + varint_size(bits));
  *p++ = kInt;
  put_varint(p, bits);
}

}  // namespace

AttributeList::AttributeList(std::initializer_list<Attribute> attributes) {
  for (const auto& a : attributes) set(a.key.view(), a.value);
}

void AttributeList::clear() {
  bytes_.clear();
  count_ = 0;
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
  const auto found = find_key(wire(), key);
  if (!found) return;
  const auto first = bytes_.begin() + static_cast<std::ptrdiff_t>(found->begin);
  bytes_.erase(first, first + static_cast<std::ptrdiff_t>(found->end - found->begin));
  --count_;
}

char* AttributeList::append(std::string_view key, size_t value_field_size) {
  const uint64_t bit = filter_bit(key);
  if ((key_filter_ & bit) != 0) {
    erase(key);  // set before, or another key with the same bit
  } else {
    key_filter_ |= bit;  // a key not set before, the common case
  }
  ++count_;
  return append_key(bytes_, key, value_field_size);
}

void AttributeList::set_text(std::string_view key, std::string_view value) {
  with_valid_text(key, value, [this](std::string_view k, std::string_view v) { put_text(k, v); });
}

void AttributeList::put_text(std::string_view key, std::string_view value) {
  put_text_value(append(key, text_value_size(value)), value);
}

void AttributeList::set_int(std::string_view key, int64_t value) {
  std::string scratch;
  put_int_value(append(utf8(key, scratch), int_value_size(value)), value);
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

void AttributeList::set_all(const AttributeList& other) {
  if ((key_filter_ & other.key_filter_) != 0) {  // a key may be set twice: one by one
    for (const auto& attribute : other.decode()) set(attribute.key.view(), attribute.value);
    return;
  }
  // One memcpy: insert() would construct byte by byte through the
  // allocator (a loop of 100 stores).
  seatflow::append(bytes_, other.wire());
  count_ += other.count_;
  key_filter_ |= other.key_filter_;
}

std::vector<Attribute> AttributeList::decode() const {
  std::vector<Attribute> out;
  out.reserve(count_);
  walk(wire(), [&](const Field& f) {
    out.push_back({std::string(f.key), read_value(wire(), f.value)});
    return false;
  });
  return out;
}

AttributeList AttributeList::from_wire(std::string_view wire) {
  AttributeList list;
  seatflow::append(list.bytes_, wire);
  walk(wire, [&](const Field& f) {
    ++list.count_;
    list.key_filter_ |= filter_bit(f.key);
    return false;
  });
  return list;
}

void AttributeWriter::set_text(std::string_view key, std::string_view value) {
  with_valid_text(key, value, [this](std::string_view k, std::string_view v) {
    put_text_value(append_key(out_, k, text_value_size(v)), v);
  });
}

void AttributeWriter::set_int(std::string_view key, int64_t value) {
  std::string scratch;
  put_int_value(append_key(out_, utf8(key, scratch), int_value_size(value)), value);
}

void AttributeWriter::set_all(const AttributeList& list) { seatflow::append(out_, list.wire()); }

std::optional<AttributeValue> AttributeList::find(std::string_view key) const {
  const auto found = find_key(wire(), key);
  if (!found) return std::nullopt;
  return read_value(wire(), found->value);
}

}  // namespace seatflow::trace
