#include "services/reservation/best_available.hpp"

#include <gtest/gtest.h>

namespace seatflow::reservation {
namespace {

// The first positions of the places found, best first.
std::vector<int64_t> firsts(const std::vector<RowRun>& rows, std::string_view states, int64_t count,
                            const std::optional<std::string>& tier = std::nullopt,
                            const std::vector<int64_t>& excluded = {}, size_t limit = 10) {
  std::vector<int64_t> out;
  for (const SeatWindow& w : best_windows(rows, states, count, tier, excluded, limit)) {
    EXPECT_EQ(w.count, count);
    out.push_back(w.first_pos);
  }
  return out;
}

TEST(BestAvailableTest, TakesTheMiddleOfAFreeRow) {
  const std::vector<RowRun> row{{"std", 5000, 0, 10}};
  EXPECT_EQ(firsts(row, "AAAAAAAAAA", 2), (std::vector<int64_t>{4}));  // seats 5 and 6 of 10
  EXPECT_EQ(firsts(row, "AAAAAAAAAA", 3), (std::vector<int64_t>{3}));
  EXPECT_EQ(firsts(row, "AAAAAAAAAA", 10), (std::vector<int64_t>{0}));
}

TEST(BestAvailableTest, PrefersTheDearerTierThenTheFrontRowThenTheMiddle) {
  const std::vector<RowRun> rows{{"std", 5000, 0, 6}, {"std", 5000, 6, 6}, {"vip", 9000, 12, 6}};
  // The vip row first, then the front std row, whose free seats are at its edge.
  EXPECT_EQ(firsts(rows,
                   "AAHHHH"
                   "AAAAAA"
                   "AAAAAA",
                   2),
            (std::vector<int64_t>{14, 0, 8}));
  // A named tier keeps to its rows.
  EXPECT_EQ(firsts(rows,
                   "AAHHHH"
                   "AAAAAA"
                   "AAAAAA",
                   2, "std"),
            (std::vector<int64_t>{0, 8}));
  EXPECT_TRUE(firsts(rows,
                     "AAHHHH"
                     "AAAAAA"
                     "AAAAAA",
                     2, "balcony")
                  .empty());
  EXPECT_EQ(firsts(rows,
                   "AAHHHH"
                   "AAAAAA"
                   "AAAAAA",
                   2, std::nullopt, {}, 1),
            (std::vector<int64_t>{14}));
}

TEST(BestAvailableTest, KeepsSeatsSideBySideInOneRow) {
  const std::vector<RowRun> rows{{"std", 5000, 0, 3}, {"std", 5000, 3, 3}};
  EXPECT_TRUE(firsts(rows, "AAAAAA", 4).empty());  // four free in a row of the map, not of a row
  EXPECT_TRUE(firsts(rows, "AHAHAH", 2).empty());
  EXPECT_EQ(firsts(rows, "AHAAHA", 1), (std::vector<int64_t>{0, 2, 3, 5}));  // one per stretch
  EXPECT_EQ(firsts(rows, "HHHAAH", 2), (std::vector<int64_t>{3}));
  EXPECT_TRUE(firsts(rows, "SSSHHH", 1).empty());
}

TEST(BestAvailableTest, AFailedPlaceExcludedGivesTheNextBest) {
  const std::vector<RowRun> row{{"std", 5000, 0, 10}};
  // Without seats 5 and 6, the nearest pair to the middle: 3 and 4 (ties go left).
  EXPECT_EQ(firsts(row, "AAAAAAAAAA", 2, std::nullopt, {4, 5}), (std::vector<int64_t>{2, 6}));
  EXPECT_TRUE(firsts(row, "AAAAAAAAAA", 2, std::nullopt, {1, 3, 5, 7, 9}).empty());
}

TEST(BestAvailableTest, AsksForNothingFindNothing) {
  const std::vector<RowRun> row{{"std", 5000, 0, 4}};
  EXPECT_TRUE(firsts(row, "AAAA", 0).empty());
  EXPECT_TRUE(firsts(row, "AAAA", 1, std::nullopt, {}, 0).empty());
  EXPECT_TRUE(firsts({}, "", 1).empty());
  // States shorter than the map (a snapshot from before) count as taken.
  EXPECT_EQ(firsts(row, "AA", 2), (std::vector<int64_t>{0}));
}

}  // namespace
}  // namespace seatflow::reservation
