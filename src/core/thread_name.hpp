// Names the calling thread, so that top -H, perf and gdb tell Seatflow's
// threads apart ("http-0", "saga-3", "outbox:order", "bus:order.live.x").
//
// Linux keeps 15 bytes of a name; a longer name is cut there. Naming is
// best effort: a failure changes nothing else.
//
// Thread safety: names only the calling thread.
#pragma once

#include <string_view>

namespace seatflow {

void set_thread_name(std::string_view name);

}  // namespace seatflow
