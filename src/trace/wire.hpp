// Protobuf's base-128 varint, as both encoders of OTLP protobuf write it:
// the span's attribute list (trace/attributes.cpp) and the exporter's
// encoding of spans and requests (otlp/protobuf_encoding.cpp).
//
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>

namespace seatflow::trace::wire {

inline size_t varint_size(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

// Writes `v` at `p` and returns the byte after it.
inline char* put_varint(char* p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<char>(v);
  return p;
}

}  // namespace seatflow::trace::wire
