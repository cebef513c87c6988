// ByteBuffer: a vector of bytes that grows without zeroing what it grows by.
//
// For buffers that bytes are written into right after they grow (an encoder
// reserving its upper bound, say): std::string and std::vector<char> fill
// the new bytes with zeros first, work thrown away on every write.
//
// Thread safety: a value, as std::vector.
#pragma once

#include <cstring>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

namespace seatflow {

// An allocator whose default construction leaves an element as it is
// (default-initialized, so a char is left unset); other construction is
// std::allocator's.
template <typename T>
struct UninitializedAllocator : std::allocator<T> {
  template <typename U>
  struct rebind {  // NOLINT(readability-identifier-naming): the allocator requirements name it
    using other = UninitializedAllocator<U>;
  };
  UninitializedAllocator() = default;
  // Implicit, as the allocator requirements ask of a rebound copy.
  template <typename U>
  UninitializedAllocator(const UninitializedAllocator<U>&) noexcept {}
  template <typename U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;  // default-initialized: left as it is
  }
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    std::allocator_traits<std::allocator<T>>::construct(*this, p, std::forward<Args>(args)...);
  }
};

// resize() leaves the new bytes unset. Copy into it with append() below, not
// insert(), which constructs byte by byte through the allocator.
using ByteBuffer = std::vector<char, UninitializedAllocator<char>>;

// Appends `bytes` to `out`: grown, then copied with one memcpy.
inline void append(ByteBuffer& out, std::string_view bytes) {
  const size_t offset = out.size();
  out.resize(offset + bytes.size());
  if (!bytes.empty()) std::memcpy(out.data() + offset, bytes.data(), bytes.size());
}

}  // namespace seatflow
