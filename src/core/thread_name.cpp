#include "core/thread_name.hpp"

#include <pthread.h>

#include <algorithm>
#include <array>

namespace seatflow {

void set_thread_name(std::string_view name) {
  std::array<char, 16> cut{};  // 15 bytes and the terminator
  const size_t n = std::min(name.size(), cut.size() - 1);
  std::copy_n(name.begin(), n, cut.begin());
  pthread_setname_np(pthread_self(), cut.data());
}

}  // namespace seatflow
