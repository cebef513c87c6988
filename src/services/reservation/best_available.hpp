// "Best available": where a buyer who asks for N seats, not for particular
// ones, should sit. Seats side by side in one row, best first:
// - the dearer price tier first (unless the buyer named a tier);
// - then the rows in seat map order, front to back (the order the event's
//   sections and rows were created in);
// - then, within a row, the seats nearest its middle.
// Pure: it ranks what a snapshot of the seat states shows. The hold that
// follows is what takes the seats, all or nothing, and a seat taken since the
// snapshot fails it (see ReservationService::place_best_hold).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace seatflow::reservation {

// A row of an event's seat map: `count` seats side by side from position
// `first_pos` (positions index the seat states, one letter per seat).
struct RowRun {
  std::string tier;
  int64_t price_minor = 0;
  int64_t first_pos = 0;
  int64_t count = 0;
};

// Where `count` seats could go: positions first_pos to first_pos + count - 1.
struct SeatWindow {
  int64_t first_pos = 0;
  int64_t count = 0;
};

// Up to `limit` places for `count` AVAILABLE ('A') seats side by side, best
// first, the best one of each stretch of free seats in a row (a caller whose
// hold of one failed excludes its positions and asks again). `tier`, if
// given, keeps to rows of that tier. Positions in `excluded` count as taken.
std::vector<SeatWindow> best_windows(const std::vector<RowRun>& rows, std::string_view states,
                                     int64_t count, const std::optional<std::string>& tier,
                                     const std::vector<int64_t>& excluded, size_t limit);

}  // namespace seatflow::reservation
