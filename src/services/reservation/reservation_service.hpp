// The reservation service: events and their seat maps, holds, and the state
// of every seat (AVAILABLE, HELD, SOLD).
//
// - Events are created through the admin API (or the demo of `seatflow up`)
//   with a seat map of sections, rows and price tiers, and may be cancelled
//   there: sales stop, active holds are released, and each order of the
//   sold seats is told to refund (event.cancelled).
// - A hold takes a set of seats all-or-nothing, for `hold_ttl`, within a
//   per-buyer cap on seats held or bought per event. The sweeper ends
//   expired holds, driven by the Clock. A buyer may also ask for the best
//   N seats side by side (best_available.hpp), picked from the cached seat
//   states and held the same way.
// - It consumes order.events: `order.confirmed` sells a hold's seats to the
//   order (or refuses: the hold expired, was released or belongs to another
//   order or buyer), `order.cancelled` releases the hold and `order.refunded`
//   puts a sold hold's seats back on sale (the hold ends RETURNED). Each result goes
//   to reservation.events and every seat change to seat.changes, through the
//   outbox, in the transaction that made it.
// - A sold hold's seats are its tickets, each with a signed code
//   (services::Auth). At the door a check-in admits a ticket once. A refund
//   first voids the hold's tickets (refused once one was used), under the
//   same lock of the hold as a check-in, so no ticket is both.
// - Every process serving browsers consumes seat.changes with a group of its
//   own and pushes them to the event's SSE stream.
//
// Thread safety: safe from any thread after start().
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "bus/inbox.hpp"
#include "bus/outbox.hpp"
#include "db/migrations.hpp"
#include "http/router.hpp"
#include "services/common/context.hpp"

namespace prometheus {
class Gauge;
class Counter;
template <typename T>
class Family;
}  // namespace prometheus

namespace seatflow::reservation {

inline constexpr std::string_view kServiceName = "reservation";

std::vector<db::MigrationFile> migration_files();
// Where the later changes to the messaging tables land among this service's
// versions (see bus::messaging_upgrade_files).
inline constexpr std::array<int, 1> kMessagingUpgradeVersions = {11};

inline constexpr std::string_view kReservationEventsTopic = "reservation.events";
inline constexpr std::string_view kSeatChangesTopic = "seat.changes";
// reservation.events message types, keyed by order id.
inline constexpr std::string_view kSeatsConfirmed = "seats.confirmed";
inline constexpr std::string_view kSeatsRejected = "seats.rejected";
// An event was cancelled: on reservation.events one per order of its sold
// seats, keyed by the order's id (after that order's seats.confirmed), for
// the order to be refunded; on seat.changes one for the event, for every
// replica's cache and the browsers.
inline constexpr std::string_view kEventCancelled = "event.cancelled";
// An organizer changed an event (its name, venue, times or cap): on
// seat.changes, with the event's JSON, for every replica's cache and the
// browsers.
inline constexpr std::string_view kEventUpdated = "event.updated";
// seat.changes, keyed by event id.
inline constexpr std::string_view kSeatsChanged = "seats.changed";

struct ReservationOptions {
  std::chrono::milliseconds hold_ttl{std::chrono::minutes(10)};
  int max_seats_per_buyer = 10;  // held and bought, per event
  std::chrono::milliseconds sweep_interval{std::chrono::seconds(1)};
  // The seat states a seat map read serves are read from the database at
  // most this long ago and kept current from the live stream of changes in
  // between. Each read says where in the event's live stream its states were
  // taken, so a client that resumes the stream from there misses no change.
  std::chrono::milliseconds seat_map_max_age{1000};
};

struct TierSpec {
  std::string name;
  int64_t price_minor = 0;
};

// A block of `rows` rows of `seats_per_row` seats, numbered from 1; rows are
// labelled 1..rows. Seat ids are "<section>-<row>-<number>".
struct SectionSpec {
  std::string name;
  std::string tier;
  int rows = 0;
  int seats_per_row = 0;
};

struct EventSpec {
  std::string name;
  std::string venue;
  int64_t starts_at_ms = 0;
  int64_t sales_open_at_ms = 0;     // 0: on sale at once
  int64_t max_seats_per_buyer = 0;  // 0: ReservationOptions::max_seats_per_buyer
  std::string currency;
  std::vector<TierSpec> tiers;
  std::vector<SectionSpec> sections;
};

inline constexpr int kMaxSeatsPerEvent = 100'000;

// How long after its start an event is still listed for the door.
inline constexpr std::chrono::hours kDoorsOpenAfterStart{12};

// Validates an admin API body into an EventSpec. `max_seats_per_buyer` is
// the service's cap, which an event's own may lower, not raise.
Result<EventSpec> parse_event_spec(const boost::json::value& body, int64_t max_seats_per_buyer);

// What an organizer changes of an event (the admin API's PATCH): a field
// left out stays as it is. The layout, the tiers and the currency are fixed
// once seats are sold.
struct EventChanges {
  std::optional<std::string> name;
  std::optional<std::string> venue;
  std::optional<int64_t> starts_at_ms;
  std::optional<int64_t> sales_open_at_ms;     // 0 (null in JSON): on sale at once
  std::optional<int64_t> max_seats_per_buyer;  // 0 (null in JSON): the service's cap
};

// Validates a PATCH body into EventChanges: at least one field, none that
// cannot change or is unknown, each as parse_event_spec checks it.
Result<EventChanges> parse_event_changes(const boost::json::value& body,
                                         int64_t max_seats_per_buyer);

// The demo event of `seatflow up`: 2,000 seats in four sections.
EventSpec demo_event_spec(int64_t starts_at_ms);

class ReservationService {
 public:
  ReservationService(services::ServiceContext context, ReservationOptions options);
  ~ReservationService();
  ReservationService(const ReservationService&) = delete;
  ReservationService& operator=(const ReservationService&) = delete;

  void add_routes(http::Router& router);

  // Starts the expiry sweeper and the consumers.
  Status start();
  void stop();
  // Ready to serve live updates: its consumer of seat.changes for the SSE
  // streams will receive whatever is published from now on (kUnavailable
  // until it has its partitions). For the readiness check.
  Status live_updates_ready() const;

  // Creates an event and its seats; returns its id.
  Result<std::string> create_event(const EventSpec& spec);
  // The events that have not started yet, by start time: the ones on sale.
  // A started event leaves the list but is still read by its id.
  Result<boost::json::array> events_on_sale();
  // The events the door may admit to (admin): not cancelled, and starting
  // at most kDoorsOpenAfterStart ago or later, by start time.
  Result<boost::json::array> events_at_the_door();

  // Cancels an event (admin): sales stop, its ACTIVE holds are released, and
  // each order of its SOLD seats is told to refund (event.cancelled). Returns
  // the event's JSON with cancelled_at; a second cancel changes nothing.
  Result<boost::json::object> cancel_event(const std::string& event_id);

  // Changes an event (admin) that has neither started nor been cancelled
  // (kConflict), keeping a sales opening before the start and the start
  // ahead (kInvalidArgument). Every replica's cached map and the event's
  // stream learn of it (event.updated on seat.changes). Returns the event's
  // JSON as it now is.
  Result<boost::json::object> update_event(const std::string& event_id,
                                           const EventChanges& changes);

  // Admits the ticket with `code` to event `event_id` (the door, admin): the
  // ticket's seat, its event and when it was admitted. kNotFound for a code
  // that is no ticket; kConflict for a ticket used before, refunded, of
  // another event, or of a cancelled event.
  Result<boost::json::object> check_in(const std::string& event_id, std::string_view code);

  // An event's sales and admissions, read now (admin): its seats by state,
  // the orders sold and their total, and the tickets admitted at the door.
  // Refunded orders, and orders being refunded, count in none of them.
  Result<boost::json::object> event_summary(const std::string& event_id);

  // Ends the holds whose expiry has passed; returns how many.
  Result<size_t> sweep_expired();

 private:
  struct SeatMap;
  struct SeatStates;
  struct Hold;

  // The events not cancelled that start after `unix_ms`, by start time.
  Result<boost::json::array> events_starting_after(int64_t unix_ms);
  Result<std::shared_ptr<const SeatMap>> seat_map(const std::string& event_id);
  // An event's seat map read from the database, not cached.
  Result<std::shared_ptr<SeatMap>> load_seat_map(const std::string& event_id);
  // The event's seat states, read from the database if the cached ones were
  // read longer than `max_age` ago (the live stream patches them between).
  Result<std::shared_ptr<const SeatStates>> seat_states(const std::string& event_id,
                                                        const SeatMap& map,
                                                        std::chrono::milliseconds max_age);
  // The event's seats that are AVAILABLE, counted in its cached states.
  Result<int64_t> seats_available(const std::string& event_id);
  Result<Hold> place_hold(const std::string& event_id, const std::string& buyer_id,
                          std::vector<std::string> seat_ids);
  // The best `count` seats side by side (best_available.hpp), of `tier` if
  // given, held as place_hold() holds listed seats.
  Result<Hold> place_best_hold(const std::string& event_id, const std::string& buyer_id,
                               int64_t count, const std::optional<std::string>& tier);
  // Refused (kFailedPrecondition) before the event's sales open, and once it
  // is cancelled or has started.
  static Status sales_open(const std::string& event_id, const SeatMap& map, int64_t now_ms);
  // The hold route's two bodies: listed seats, or the best available.
  Result<Hold> hold_listed_seats(const std::string& event_id, const std::string& buyer_id,
                                 const boost::json::object& body);
  Result<Hold> hold_best_available(const std::string& event_id, const std::string& buyer_id,
                                   const boost::json::object& body);
  Result<Hold> release_hold(const std::string& hold_id, const std::string& buyer_id);
  Result<Hold> read_hold(const std::string& hold_id);
  // A sold hold's tickets for its buyer: each seat's code and, once used,
  // when it was checked in.
  Result<boost::json::array> tickets(const Hold& hold);
  // Before an order is refunded (order service): the hold's tickets stop
  // admitting. kConflict once the event has started or a ticket was used;
  // asked again, the same answer.
  Result<Hold> void_tickets(const std::string& hold_id);

  // Frees a hold's seats and ends it with `status` and `reason`, announcing
  // the seat changes; within `session`.
  Status end_hold(db::Session& session, const Hold& hold, std::string_view status,
                  std::string_view reason);
  // A seat an UPDATE changed, with its new version.
  struct ChangedSeat {
    std::string id;
    int64_t version = 0;
  };
  // The rows of an UPDATE ... RETURNING seat_id, version, ordered by seat id.
  static std::vector<ChangedSeat> changed_seats(const db::Rows& rows);
  // Adds a message to the outbox, in `session`.
  Status publish(db::Session& session, std::string_view topic, const std::string& key,
                 std::string_view type, const boost::json::object& payload);
  Status announce_seats(db::Session& session, const std::string& event_id,
                        const std::vector<ChangedSeat>& changed, std::string_view state);
  Status on_order_event(db::Session& session, const bus::Message& message);
  // order.refunded: the seats the order bought are AVAILABLE again.
  Status return_seats(db::Session& session, const std::string& order_id,
                      const std::string& hold_id);
  Status confirm(db::Session& session, const std::string& order_id, const std::string& hold_id,
                 const std::string& buyer_id);
  void push_seat_change(const bus::Message& message);
  void patch_seat_states(const std::string& event_id, const boost::json::object& change);
  // The cached seat map of a cancelled event says so from now on.
  void mark_cancelled(const std::string& event_id, int64_t cancelled_at_ms);
  // The cached seat map of a changed event takes `event` (its JSON as the
  // API serves it) as its header from now on.
  void apply_event_update(const std::string& event_id, const boost::json::object& event);
  void sweep_loop();

  services::ServiceContext ctx_;
  const ReservationOptions options_;
  bus::Outbox outbox_;
  UuidV7Generator ids_;
  bus::Inbox inbox_;

  std::mutex maps_mu_;
  std::map<std::string, std::shared_ptr<const SeatMap>> maps_;  // guarded by maps_mu_
  // Bumped by each change of an event's header (a change, a cancellation), so
  // that a map read from the database before it is not cached after it.
  // Guarded by maps_mu_.
  std::map<std::string, uint64_t> map_generations_;
  std::mutex states_mu_;
  std::map<std::string, std::shared_ptr<const SeatStates>> states_;  // guarded by states_mu_
  // Held while a stale snapshot is read again, and by patches, so a change
  // never falls between a refresh's read and its store. Before states_mu_.
  std::mutex states_refresh_mu_;

  std::unique_ptr<bus::Subscription> orders_;
  std::unique_ptr<bus::Subscription> live_;
  std::mutex sweep_mu_;
  std::condition_variable sweep_cv_;
  bool stopping_ = false;  // guarded by sweep_mu_
  std::thread sweeper_;
  // Seats by state across events, sampled by the sweeper every few seconds.
  void sample_seats();
  prometheus::Family<prometheus::Gauge>* seats_gauge_;
  // Holds asked for, by kind (listed, best_available) and outcome (held;
  // taken: the seats were not free; refused: the cap, or sales not open).
  prometheus::Family<prometheus::Counter>* holds_total_;
  // Tickets checked at the door, by outcome (admitted; refused: used,
  // refunded, another event's or a cancelled one's; not_a_ticket).
  prometheus::Family<prometheus::Counter>* check_ins_total_;
  int64_t next_sample_ms_ = 0;  // sweeper thread only
};

}  // namespace seatflow::reservation
