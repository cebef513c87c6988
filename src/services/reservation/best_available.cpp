#include "services/reservation/best_available.hpp"

#include <algorithm>
#include <cstdlib>
#include <tuple>
#include <utility>

namespace seatflow::reservation {

std::vector<SeatWindow> best_windows(const std::vector<RowRun>& rows, std::string_view states,
                                     int64_t count, const std::optional<std::string>& tier,
                                     const std::vector<int64_t>& excluded, size_t limit) {
  if (count < 1 || limit == 0) return {};
  std::vector<int64_t> taken = excluded;
  std::sort(taken.begin(), taken.end());
  const auto free = [&](int64_t pos) {
    return pos >= 0 && std::cmp_less(pos, states.size()) &&
           states[static_cast<size_t>(pos)] == 'A' &&
           !std::binary_search(taken.begin(), taken.end(), pos);
  };
  struct Candidate {
    int64_t price_minor;
    size_t row;
    int64_t off_middle;  // twice the distance of the window's middle from the row's
    int64_t first_pos;
  };
  std::vector<Candidate> found;
  for (size_t r = 0; r < rows.size(); ++r) {
    const RowRun& row = rows[r];
    if ((tier && row.tier != *tier) || row.count < count) continue;
    // Doubled, so that a middle between two seats stays a whole number.
    const int64_t row_middle = 2 * row.first_pos + row.count;
    const int64_t end = row.first_pos + row.count;
    for (int64_t pos = row.first_pos; pos < end;) {
      if (!free(pos)) {
        ++pos;
        continue;
      }
      int64_t stretch_end = pos;
      while (stretch_end < end && free(stretch_end)) ++stretch_end;
      if (stretch_end - pos >= count) {
        // The window whose middle is nearest the row's, within this stretch.
        const int64_t first = std::clamp((row_middle - count) / 2, pos, stretch_end - count);
        found.push_back({row.price_minor, r, std::abs(2 * first + count - row_middle), first});
      }
      pos = stretch_end;
    }
  }
  std::sort(found.begin(), found.end(), [](const Candidate& a, const Candidate& b) {
    return std::tuple(-a.price_minor, a.row, a.off_middle, a.first_pos) <
           std::tuple(-b.price_minor, b.row, b.off_middle, b.first_pos);
  });
  std::vector<SeatWindow> best;
  for (size_t i = 0; i < found.size() && i < limit; ++i) {
    best.push_back({found[i].first_pos, count});
  }
  return best;
}

}  // namespace seatflow::reservation
