#include "services/reservation/reservation_service.hpp"

#include <algorithm>
#include <array>
#include <set>
#include <unordered_map>
#include <utility>

#include <fmt/core.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "core/log.hpp"
#include "core/text.hpp"
#include "core/thread_name.hpp"
#include "http/json.hpp"
#include "services/common/json_fields.hpp"
#include "services/reservation/best_available.hpp"
#include "trace/propagation.hpp"

namespace seatflow::reservation {

namespace json = boost::json;

namespace {

// The order events reservation acts on: the order's seats are to be sold,
// released, or put back on sale after a refund.
constexpr std::string_view kOrderConfirmed = "order.confirmed";
constexpr std::string_view kOrderCancelled = "order.cancelled";
constexpr std::string_view kOrderRefunded = "order.refunded";

constexpr size_t kMaxNameLength = 200;
constexpr size_t kMaxSeatIdLength = 64;
// How many places a best-available hold tries when seats are taken under it.
constexpr int kBestAvailableAttempts = 5;
constexpr int kSeatInsertChunk = 500;
constexpr std::string_view kNoTicket =
    "no ticket has this code: it is mistyped, or not a ticket Seatflow issued";

bool valid_label(std::string_view s) {
  return !s.empty() && s.size() <= 16 && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
  });
}

std::string seat_id(std::string_view section, int row, int number) {
  return fmt::format("{}-{}-{}", section, row, number);
}

std::string join(const std::vector<std::string>& parts, std::string_view separator) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += separator;
    out += parts[i];
  }
  return out;
}

std::vector<std::string> split(std::string_view text, char separator) {
  std::vector<std::string> out;
  while (!text.empty()) {
    const size_t at = text.find(separator);
    out.emplace_back(text.substr(0, at));
    if (at == std::string_view::npos) break;
    text.remove_prefix(at + 1);
  }
  return out;
}

std::string for_update(const db::Session& session) {
  return session.dialect() == db::Dialect::kPostgres ? " FOR UPDATE" : "";
}

http::Response error_response(const Error& error) { return http::problem_for(error); }

// What a hold request counts as in seatflow_holds_total; nullptr for a bad
// request, which counts only as an HTTP error.
template <typename T>
const char* hold_outcome(const Result<T>& hold) {
  if (hold) return "held";
  switch (hold.error().code()) {
    case ErrorCode::kConflict: return "taken";
    case ErrorCode::kFailedPrecondition: return "refused";
    default: return nullptr;
  }
}

// What a check-in counts as in seatflow_check_ins_total; nullptr for an
// unknown event or a failure of the database.
template <typename T>
const char* check_in_outcome(const Result<T>& admitted) {
  if (admitted) return "admitted";
  const Error& e = admitted.error();
  if (e.code() == ErrorCode::kConflict) return "refused";
  if (e.code() == ErrorCode::kNotFound && e.message() == kNoTicket) return "not_a_ticket";
  return nullptr;
}

}  // namespace

Result<EventSpec> parse_event_spec(const json::value& body, int64_t max_seats_per_buyer) {
  auto object = services::as_object(body);
  if (!object) return fail(object.error());
  const json::object& o = **object;
  EventSpec spec;
  auto name = services::string_field(o, "name", kMaxNameLength);
  if (!name) return fail(name.error());
  spec.name = std::move(*name);
  auto venue = services::string_field(o, "venue", kMaxNameLength);
  if (!venue) return fail(venue.error());
  spec.venue = std::move(*venue);
  auto starts = services::string_field(o, "starts_at", 64);
  if (!starts) return fail(starts.error());
  auto starts_ms = services::parse_rfc3339(*starts);
  if (!starts_ms) return fail(starts_ms.error().with_context("field 'starts_at'"));
  spec.starts_at_ms = *starts_ms;
  auto opens = services::optional_string_field(o, "sales_open_at", 64);
  if (!opens) return fail(opens.error());
  if (*opens) {
    auto opens_ms = services::parse_rfc3339(**opens);
    if (!opens_ms) return fail(opens_ms.error().with_context("field 'sales_open_at'"));
    if (*opens_ms >= spec.starts_at_ms) {
      return fail(ErrorCode::kInvalidArgument,
                  "field 'sales_open_at' must be before 'starts_at': sales close when the event "
                  "starts");
    }
    spec.sales_open_at_ms = *opens_ms;
  }
  if (const json::value* cap = o.if_contains("max_seats_per_buyer"); cap && !cap->is_null()) {
    auto seats = services::integer_field(o, "max_seats_per_buyer", 1, max_seats_per_buyer);
    if (!seats) {
      return fail(seats.error().with_context(
          "an event may lower the service's cap of seats per buyer, not raise it"));
    }
    spec.max_seats_per_buyer = *seats;
  }
  auto currency = services::currency_field(o);
  if (!currency) return fail(currency.error());
  spec.currency = std::move(*currency);

  auto tiers = services::array_field(o, "tiers", 32);
  if (!tiers) return fail(tiers.error());
  std::set<std::string> tier_names;
  for (const json::value& t : **tiers) {
    auto tier = services::as_object(t, "each of 'tiers'");
    if (!tier) return fail(tier.error());
    auto tier_name = services::string_field(**tier, "name", 32);
    if (!tier_name) return fail(tier_name.error().with_context("in 'tiers'"));
    auto price = services::integer_field(**tier, "price_minor", 0, 100'000'000);
    if (!price) return fail(price.error().with_context("in 'tiers'"));
    if (!tier_names.insert(*tier_name).second) {
      return fail(ErrorCode::kInvalidArgument, "tier '" + *tier_name + "' is listed twice");
    }
    spec.tiers.push_back({std::move(*tier_name), *price});
  }

  auto sections = services::array_field(o, "sections", 200);
  if (!sections) return fail(sections.error());
  std::set<std::string> section_names;
  int64_t seats = 0;
  for (const json::value& s : **sections) {
    auto section = services::as_object(s, "each of 'sections'");
    if (!section) return fail(section.error());
    SectionSpec out;
    auto section_name = services::string_field(**section, "name", 16);
    if (!section_name) return fail(section_name.error().with_context("in 'sections'"));
    if (!valid_label(*section_name)) {
      return fail(ErrorCode::kInvalidArgument,
                  "section name '" + *section_name + "' must be letters, digits or _");
    }
    if (!section_names.insert(*section_name).second) {
      return fail(ErrorCode::kInvalidArgument, "section '" + *section_name + "' is listed twice");
    }
    auto tier = services::string_field(**section, "tier", 32);
    if (!tier) return fail(tier.error().with_context("in section '" + *section_name + "'"));
    if (!tier_names.contains(*tier)) {
      return fail(ErrorCode::kInvalidArgument,
                  "section '" + *section_name + "' uses tier '" + *tier + "', which is not listed");
    }
    auto rows = services::integer_field(**section, "rows", 1, 500);
    if (!rows) return fail(rows.error().with_context("in section '" + *section_name + "'"));
    auto per_row = services::integer_field(**section, "seats_per_row", 1, 500);
    if (!per_row) return fail(per_row.error().with_context("in section '" + *section_name + "'"));
    seats += *rows * *per_row;
    out.name = std::move(*section_name);
    out.tier = std::move(*tier);
    out.rows = static_cast<int>(*rows);
    out.seats_per_row = static_cast<int>(*per_row);
    spec.sections.push_back(std::move(out));
  }
  if (seats > kMaxSeatsPerEvent) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("an event may have at most {} seats; this one has {}",
                            kMaxSeatsPerEvent, seats));
  }
  return spec;
}

Result<EventChanges> parse_event_changes(const json::value& body, int64_t max_seats_per_buyer) {
  auto object = services::as_object(body);
  if (!object) return fail(object.error());
  const json::object& o = **object;
  constexpr std::string_view kChangeable =
      "name, venue, starts_at, sales_open_at, max_seats_per_buyer";
  if (o.empty()) {
    return fail(ErrorCode::kInvalidArgument,
                "nothing to change: give one or more of " + std::string(kChangeable));
  }
  for (const auto& field : o) {
    const std::string_view key = field.key();
    if (key == "currency" || key == "tiers" || key == "sections") {
      return fail(ErrorCode::kInvalidArgument,
                  "field '" + std::string(key) +
                      "' cannot be changed: the seat map and its prices stay as the event was "
                      "created (cancel it and create another instead)");
    }
    constexpr std::array<std::string_view, 5> kKeys = {"name", "venue", "starts_at",
                                                       "sales_open_at", "max_seats_per_buyer"};
    if (std::find(kKeys.begin(), kKeys.end(), key) == kKeys.end()) {
      return fail(ErrorCode::kInvalidArgument, "unknown field '" + std::string(key) +
                                                   "': an event's " + std::string(kChangeable) +
                                                   " may be changed");
    }
  }
  EventChanges changes;
  if (o.contains("name")) {
    auto name = services::string_field(o, "name", kMaxNameLength);
    if (!name) return fail(name.error());
    changes.name = std::move(*name);
  }
  if (o.contains("venue")) {
    auto venue = services::string_field(o, "venue", kMaxNameLength);
    if (!venue) return fail(venue.error());
    changes.venue = std::move(*venue);
  }
  if (o.contains("starts_at")) {
    auto starts = services::string_field(o, "starts_at", 64);
    if (!starts) return fail(starts.error());
    auto starts_ms = services::parse_rfc3339(*starts);
    if (!starts_ms) return fail(starts_ms.error().with_context("field 'starts_at'"));
    changes.starts_at_ms = *starts_ms;
  }
  if (o.contains("sales_open_at")) {
    auto opens = services::optional_string_field(o, "sales_open_at", 64);
    if (!opens) return fail(opens.error());
    changes.sales_open_at_ms = 0;
    if (*opens) {
      auto opens_ms = services::parse_rfc3339(**opens);
      if (!opens_ms) return fail(opens_ms.error().with_context("field 'sales_open_at'"));
      changes.sales_open_at_ms = *opens_ms;
    }
  }
  if (const json::value* cap = o.if_contains("max_seats_per_buyer")) {
    changes.max_seats_per_buyer = 0;
    if (!cap->is_null()) {
      auto seats = services::integer_field(o, "max_seats_per_buyer", 1, max_seats_per_buyer);
      if (!seats) {
        return fail(seats.error().with_context(
            "an event may lower the service's cap of seats per buyer, not raise it"));
      }
      changes.max_seats_per_buyer = *seats;
    }
  }
  return changes;
}

EventSpec demo_event_spec(int64_t starts_at_ms) {
  EventSpec spec{.name = "Seatflow Philharmonic: Opening Night",
                 .venue = "Grand Hall",
                 .starts_at_ms = starts_at_ms,
                 .currency = "EUR",
                 .tiers = {{"premium", 12000}, {"standard", 7500}, {"balcony", 4500}},
                 .sections = {}};
  spec.sections = {{"A", "premium", 10, 25},
                   {"B", "standard", 20, 25},
                   {"C", "standard", 20, 25},
                   {"D", "balcony", 30, 25}};
  return spec;
}

// An event's seat map as the API serves it: the layout, built once, and the
// seat states, read on every request.
struct ReservationService::SeatMap {
  std::string event_json;   // {"id":..,"name":..,...}
  std::string layout_json;  // "tiers":[..],"sections":[..]
  // seat id -> pos: hashed, as a hold's seats and every seat change are
  // looked up here, among as many as 20,000 ids
  std::unordered_map<std::string, int64_t, TextHash, std::equal_to<>> positions;
  std::vector<std::string> seat_ids;  // pos -> seat id
  std::vector<int64_t> prices;        // pos -> the seat's price, in minor units
  std::vector<RowRun> rows;           // in seat map order, for best_windows()
  std::string currency;
  int64_t seat_count = 0;
  int64_t starts_at_ms = 0;         // sales close then
  int64_t sales_open_at_ms = 0;     // 0: on sale from its creation
  int64_t max_seats_per_buyer = 0;  // held and bought, the event's or the service's
  int64_t cancelled_at_ms = 0;      // 0: not cancelled
};

// One letter per seat in seat map order (A available, H held, S sold), and
// the position in the event's live stream before they were read.
struct ReservationService::SeatStates {
  std::string letters;
  // Each seat's version as read or patched: shared by a snapshot and the
  // copies its patches make, and changed only under states_mu_.
  std::shared_ptr<std::vector<int64_t>> versions;
  uint64_t stream_position = 0;
  std::chrono::steady_clock::time_point read_at;
};

struct ReservationService::Hold {
  std::string id;
  std::string event_id;
  std::string buyer_id;
  std::string status;
  std::vector<std::string> seats;
  int64_t amount_minor = 0;
  std::string currency;
  int64_t expires_at = 0;
  int64_t created_at = 0;
  std::optional<std::string> end_reason;
  std::optional<std::string> order_id;
  std::optional<int64_t> tickets_voided_at;  // a refund is under way

  static Hold from_row(const db::Row& row) {
    return Hold{.id = row.get<std::string>("id"),
                .event_id = row.get<std::string>("event_id"),
                .buyer_id = row.get<std::string>("buyer_id"),
                .status = row.get<std::string>("status"),
                .seats = split(row.get<std::string>("seats"), ','),
                .amount_minor = row.get<int64_t>("amount_minor"),
                .currency = row.get<std::string>("currency"),
                .expires_at = row.get<int64_t>("expires_at"),
                .created_at = row.get<int64_t>("created_at"),
                .end_reason = row.get<std::optional<std::string>>("end_reason"),
                .order_id = row.get<std::optional<std::string>>("order_id"),
                .tickets_voided_at = row.get<std::optional<int64_t>>("tickets_voided_at")};
  }

  json::object to_json(bool with_buyer) const {
    json::object o;
    o["id"] = id;
    o["event_id"] = event_id;
    if (with_buyer) o["buyer_id"] = buyer_id;
    o["status"] = status;
    json::array seat_list;
    for (const auto& s : seats) seat_list.emplace_back(s);
    o["seats"] = std::move(seat_list);
    o["amount_minor"] = amount_minor;
    o["currency"] = currency;
    o["expires_at"] = services::format_rfc3339(expires_at);
    o["expires_at_ms"] = expires_at;
    if (end_reason) o["end_reason"] = *end_reason;
    if (order_id) o["order_id"] = *order_id;
    if (tickets_voided_at) o["tickets_voided_at"] = services::format_rfc3339(*tickets_voided_at);
    return o;
  }
};

namespace {
constexpr std::string_view kHoldColumns =
    "id, event_id, buyer_id, status, seats, amount_minor, currency, expires_at, created_at, "
    "end_reason, order_id, tickets_voided_at";
}  // namespace

ReservationService::ReservationService(services::ServiceContext context, ReservationOptions options)
    : ctx_(std::move(context)),
      options_(options),
      outbox_(ctx_.db, ctx_.bus_system, ctx_.tracer, ctx_.clock),
      ids_(ctx_.clock),
      inbox_(ctx_.db, ctx_.bus_system, ctx_.tracer, ctx_.clock, ctx_.inbox_for(kServiceName),
             &ctx_.registry),
      seats_gauge_(&prometheus::BuildGauge()
                        .Name("seatflow_seats")
                        .Help("Seats of every event by state (sampled every few seconds)")
                        .Register(ctx_.registry.prometheus())),
      holds_total_(&prometheus::BuildCounter()
                        .Name("seatflow_holds_total")
                        .Help("Holds asked for, by kind (listed, best_available) and outcome "
                              "(held; taken: seats not free; refused: the buyer's cap, or sales "
                              "not open)")
                        .Register(ctx_.registry.prometheus())),
      check_ins_total_(&prometheus::BuildCounter()
                            .Name("seatflow_check_ins_total")
                            .Help("Tickets checked at the door, by outcome (admitted; refused: "
                                  "used, refunded, another event's or a cancelled one's; "
                                  "not_a_ticket)")
                            .Register(ctx_.registry.prometheus())) {}

ReservationService::~ReservationService() { stop(); }

Status ReservationService::start() {
  const bus::InboxHandler on_event = [this](db::Session& s, const bus::Message& m) {
    return on_order_event(s, m);
  };
  // Reservation acts on three of the order events; the others (placed,
  // completed, refunding) pass without a transaction.
  const std::vector<std::string> acts_on{std::string(kOrderConfirmed), std::string(kOrderCancelled),
                                         std::string(kOrderRefunded)};
  auto orders = ctx_.subscriber.subscribe(
      bus::SubscriptionOptions{.group = std::string(kServiceName),
                               .topics = {"order.events"},
                               .handler = inbox_.wrap(on_event, acts_on),
                               .batch_handler = inbox_.wrap_batch(on_event, acts_on)});
  if (!orders) return fail(orders.error().with_context("cannot consume order.events"));
  orders_ = std::move(*orders);
  const std::string live_group = std::string(kServiceName) + ".live." + ctx_.instance;
  auto live = ctx_.subscriber.subscribe(
      bus::SubscriptionOptions{.group = live_group,
                               .topics = {std::string(kSeatChangesTopic)},
                               .handler = [this](const bus::Message& m) -> Status {
                                 push_seat_change(m);
                                 return ok();
                               },
                               .start_at_end = true});
  if (!live) return fail(live.error().with_context("cannot consume seat.changes"));
  live_ = std::move(*live);
  sweeper_ = std::thread([this] { sweep_loop(); });
  return ok();
}

Status ReservationService::live_updates_ready() const {
  if (live_ != nullptr && live_->ready()) return ok();
  return fail(ErrorCode::kUnavailable, "the consumer of seat.changes has no partitions yet");
}

void ReservationService::stop() {
  {
    std::lock_guard lock(sweep_mu_);
    stopping_ = true;
  }
  sweep_cv_.notify_all();
  if (sweeper_.joinable()) sweeper_.join();
  if (orders_) orders_->stop();
  if (live_) live_->stop();
}

// ---- events ---------------------------------------------------------------

Result<std::string> ReservationService::create_event(const EventSpec& spec) {
  const std::string id = ids_.next().to_string();
  int64_t seat_count = 0;
  for (const auto& s : spec.sections) seat_count += int64_t{s.rows} * s.seats_per_row;
  auto st = ctx_.db.transact([&](db::Session& s) -> Status {
    if (auto r = s.execute(
            "INSERT INTO events (id, name, venue, starts_at, currency, seat_count, created_at, "
            "sales_open_at, max_seats_per_buyer) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            {id, spec.name, spec.venue, spec.starts_at_ms, spec.currency, seat_count,
             ctx_.clock.now_unix_ms(),
             spec.sales_open_at_ms != 0 ? db::Value(spec.sales_open_at_ms) : db::Value(nullptr),
             spec.max_seats_per_buyer != 0 ? db::Value(spec.max_seats_per_buyer)
                                           : db::Value(nullptr)});
        !r) {
      return fail(r.error());
    }
    for (const auto& tier : spec.tiers) {
      if (auto r =
              s.execute("INSERT INTO price_tiers (event_id, name, price_minor) VALUES ($1, $2, $3)",
                        {id, tier.name, tier.price_minor});
          !r) {
        return fail(r.error());
      }
    }
    // Multi-row inserts in chunks: 20,000 seats in a few dozen statements.
    db::Params params;
    int in_chunk = 0;
    auto flush = [&]() -> Status {
      if (in_chunk == 0) return ok();
      std::string sql =
          "INSERT INTO seats (event_id, seat_id, pos, section, row_label, number, tier) VALUES ";
      for (int i = 0; i < in_chunk; ++i) {
        if (i > 0) sql += ", ";
        sql += "(" + db::placeholder_list(size_t{1} + size_t{7} * static_cast<size_t>(i), 7) + ")";
      }
      auto r = s.execute(sql, params);
      params.clear();
      in_chunk = 0;
      return r ? ok() : fail(r.error());
    };
    int64_t pos = 0;
    for (const auto& section : spec.sections) {
      for (int row = 1; row <= section.rows; ++row) {
        for (int number = 1; number <= section.seats_per_row; ++number) {
          params.insert(params.end(), {id, seat_id(section.name, row, number), pos++, section.name,
                                       std::to_string(row), int64_t{number}, section.tier});
          if (++in_chunk == kSeatInsertChunk) {
            if (auto f = flush(); !f) return f;
          }
        }
      }
    }
    return flush();
  });
  if (!st) return fail(st.error());
  log::info("reservation: created event {} ({} seats)", id, seat_count);
  // The sale often opens right after: refresh PostgreSQL's statistics now
  // rather than at autovacuum's next pass. With the old ones, the planner
  // can take the new event for a handful of rows and find a seat by id
  // through (event_id, pos), reading every seat of the event on each hold.
  if (ctx_.db.dialect() == db::Dialect::kPostgres) {
    auto analyzed =
        ctx_.db.transact([](db::Session& s) { return s.execute_script("ANALYZE seats"); });
    if (!analyzed) log::warn("reservation: cannot analyze seats: {}", analyzed.error().message());
  }
  return id;
}

namespace {

json::object event_json(const db::Row& row) {
  json::object o;
  o["id"] = row.get<std::string>("id");
  o["name"] = row.get<std::string>("name");
  o["venue"] = row.get<std::string>("venue");
  o["starts_at"] = services::format_rfc3339(row.get<int64_t>("starts_at"));
  o["currency"] = row.get<std::string>("currency");
  o["seat_count"] = row.get<int64_t>("seat_count");
  if (auto cancelled = row.get<std::optional<int64_t>>("cancelled_at")) {
    o["cancelled_at"] = services::format_rfc3339(*cancelled);
  }
  if (auto opens = row.get<std::optional<int64_t>>("sales_open_at")) {
    o["sales_open_at"] = services::format_rfc3339(*opens);
  }
  if (auto cap = row.get<std::optional<int64_t>>("max_seats_per_buyer")) {
    o["max_seats_per_buyer"] = *cap;
  }
  return o;
}

constexpr std::string_view kEventColumns =
    "id, name, venue, starts_at, currency, seat_count, cancelled_at, sales_open_at, "
    "max_seats_per_buyer";

}  // namespace

Result<boost::json::array> ReservationService::events_on_sale() {
  return events_starting_after(ctx_.clock.now_unix_ms());
}

Result<boost::json::array> ReservationService::events_at_the_door() {
  return events_starting_after(ctx_.clock.now_unix_ms() - kDoorsOpenAfterStart.count());
}

Result<boost::json::array> ReservationService::events_starting_after(int64_t unix_ms) {
  return ctx_.db.transact(
      [unix_ms](db::Session& s) -> Result<json::array> {
        auto rows = s.query("SELECT " + std::string(kEventColumns) +
                                " FROM events WHERE starts_at > $1 AND cancelled_at IS NULL "
                                "ORDER BY starts_at, id",
                            {unix_ms});
        if (!rows) return fail(rows.error());
        json::array out;
        for (const auto& r : *rows) out.push_back(event_json(r));
        return out;
      },
      {.read_only = true});
}

Result<std::shared_ptr<const ReservationService::SeatMap>> ReservationService::seat_map(
    const std::string& event_id) {
  for (;;) {
    uint64_t generation = 0;
    {
      std::lock_guard lock(maps_mu_);
      if (auto it = maps_.find(event_id); it != maps_.end()) return it->second;
      if (auto g = map_generations_.find(event_id); g != map_generations_.end()) {
        generation = g->second;
      }
    }
    auto map = load_seat_map(event_id);
    if (!map) return fail(map.error());
    std::lock_guard lock(maps_mu_);
    auto g = map_generations_.find(event_id);
    // The event changed while it was read: read it again.
    if (g != map_generations_.end() && g->second != generation) continue;
    return maps_.emplace(event_id, std::move(*map)).first->second;
  }
}

Result<std::shared_ptr<ReservationService::SeatMap>> ReservationService::load_seat_map(
    const std::string& event_id) {
  auto map = std::make_shared<SeatMap>();
  auto st = ctx_.db.transact(
      [&](db::Session& s) -> Status {
        auto event = s.query("SELECT " + std::string(kEventColumns) + " FROM events WHERE id = $1",
                             {event_id});
        if (!event) return fail(event.error());
        if (event->empty()) return fail(ErrorCode::kNotFound, "no event " + event_id);
        map->event_json = json::serialize(event_json((*event)[0]));
        map->seat_count = (*event)[0].get<int64_t>("seat_count");
        map->currency = (*event)[0].get<std::string>("currency");
        map->starts_at_ms = (*event)[0].get<int64_t>("starts_at");
        map->cancelled_at_ms = (*event)[0].get<std::optional<int64_t>>("cancelled_at").value_or(0);
        map->sales_open_at_ms =
            (*event)[0].get<std::optional<int64_t>>("sales_open_at").value_or(0);
        map->max_seats_per_buyer = (*event)[0]
                                       .get<std::optional<int64_t>>("max_seats_per_buyer")
                                       .value_or(options_.max_seats_per_buyer);
        auto tiers = s.query(
            "SELECT name, price_minor FROM price_tiers WHERE event_id = $1 ORDER BY price_minor "
            "DESC, name",
            {event_id});
        if (!tiers) return fail(tiers.error());
        json::array tier_list;
        std::map<std::string, int64_t, std::less<>> tier_prices;
        for (const auto& t : *tiers) {
          tier_list.push_back(
              json::object{{"name", t.get<std::string>(0)}, {"price_minor", t.get<int64_t>(1)}});
          tier_prices.emplace(t.get<std::string>(0), t.get<int64_t>(1));
        }
        auto seats = s.query(
            "SELECT seat_id, pos, section, row_label, number, tier FROM seats WHERE event_id = $1 "
            "ORDER BY pos",
            {event_id});
        if (!seats) return fail(seats.error());
        // Sections of rows of consecutive seats: {"name","rows":[{"label","tier","first",
        // "count","pos"}]}, in seat map order.
        json::array sections;
        map->prices.resize(seats->size());
        map->seat_ids.resize(seats->size());
        map->positions.reserve(seats->size());
        for (const auto& seat : *seats) {
          const auto section = seat.get<std::string>("section");
          const auto row = seat.get<std::string>("row_label");
          const auto pos = seat.get<int64_t>("pos");
          const auto tier = seat.get<std::string>("tier");
          map->positions.emplace(seat.get<std::string>("seat_id"), pos);
          if (pos < 0 || std::cmp_greater_equal(pos, seats->size())) {
            return fail(
                ErrorCode::kInternal,
                fmt::format("seat {} of event {} has position {} of {} seats",
                            seat.get<std::string>("seat_id"), event_id, pos, seats->size()));
          }
          const auto price = tier_prices.find(tier);
          map->prices[static_cast<size_t>(pos)] = price == tier_prices.end() ? 0 : price->second;
          map->seat_ids[static_cast<size_t>(pos)] = seat.get<std::string>("seat_id");
          if (sections.empty() || sections.back().as_object()["name"].as_string() != section) {
            sections.push_back(json::object{{"name", section}, {"rows", json::array()}});
          }
          json::array& rows = sections.back().as_object()["rows"].as_array();
          if (rows.empty() || rows.back().as_object()["label"].as_string() != row) {
            rows.push_back(json::object{{"label", row},
                                        {"tier", tier},
                                        {"first", seat.get<int64_t>("number")},
                                        {"count", 0},
                                        {"pos", pos}});
            map->rows.push_back({.tier = tier,
                                 .price_minor = map->prices[static_cast<size_t>(pos)],
                                 .first_pos = pos,
                                 .count = 0});
          }
          json::object& r = rows.back().as_object();
          r["count"] = r["count"].as_int64() + 1;
          ++map->rows.back().count;
        }
        map->layout_json = "\"tiers\":" + json::serialize(tier_list) +
                           ",\"sections\":" + json::serialize(sections);
        return ok();
      },
      {.read_only = true});
  if (!st) return fail(st.error());
  return map;
}

// ---- holds ----------------------------------------------------------------

Result<std::shared_ptr<const ReservationService::SeatStates>> ReservationService::seat_states(
    const std::string& event_id, const SeatMap& map, std::chrono::milliseconds max_age) {
  const auto fresh = [&](const std::shared_ptr<const SeatStates>& s) {
    return s != nullptr && std::chrono::steady_clock::now() - s->read_at < max_age;
  };
  const auto cached = [&] {
    std::lock_guard lock(states_mu_);
    auto it = states_.find(event_id);
    return it == states_.end() ? nullptr : it->second;
  };
  if (auto s = cached(); fresh(s)) return s;
  std::lock_guard refresh(states_refresh_mu_);
  if (auto s = cached(); fresh(s)) return s;  // another reader refreshed it meanwhile

  auto states = std::make_shared<SeatStates>();
  states->letters.reserve(static_cast<size_t>(map.seat_count));
  states->versions = std::make_shared<std::vector<int64_t>>();
  states->versions->reserve(static_cast<size_t>(map.seat_count));
  // The position first: a change committed after it reaches the stream after it.
  states->stream_position = ctx_.hub.position(services::seat_stream_topic(event_id));
  states->read_at = std::chrono::steady_clock::now();
  auto st = ctx_.db.transact(
      [&](db::Session& s) -> Status {
        auto rows = s.query("SELECT state, version FROM seats WHERE event_id = $1 ORDER BY pos",
                            {event_id});
        if (!rows) return fail(rows.error());
        for (const auto& row : *rows) {
          states->letters.push_back(row.get<std::string>(0)[0]);
          states->versions->push_back(row.get<int64_t>(1));
        }
        return ok();
      },
      {.read_only = true});
  if (!st) return fail(st.error());
  std::lock_guard lock(states_mu_);
  states_[event_id] = states;
  return std::shared_ptr<const SeatStates>(std::move(states));
}

Result<int64_t> ReservationService::seats_available(const std::string& event_id) {
  // The list of events asks for every event on sale at once: their states
  // are read again only every kListedStatesMaxAge, not every
  // seat_map_max_age as a seat map's are. The live stream keeps them
  // current in between, and a count is a hint; the map is what a buyer
  // picks from.
  constexpr std::chrono::milliseconds kListedStatesMaxAge = std::chrono::seconds(30);
  auto map = seat_map(event_id);
  if (!map) return fail(map.error());
  auto states =
      seat_states(event_id, **map, std::max(options_.seat_map_max_age, kListedStatesMaxAge));
  if (!states) return fail(states.error());
  return static_cast<int64_t>(
      std::count((*states)->letters.begin(), (*states)->letters.end(), 'A'));
}

Status ReservationService::sales_open(const std::string& event_id, const SeatMap& map,
                                      int64_t now_ms) {
  if (map.cancelled_at_ms != 0) {
    return fail(ErrorCode::kFailedPrecondition,
                fmt::format("event {} was cancelled: its seats are not on sale", event_id));
  }
  if (now_ms < map.sales_open_at_ms) {
    return fail(ErrorCode::kFailedPrecondition,
                fmt::format("sales of event {} open at {}", event_id,
                            services::format_rfc3339(map.sales_open_at_ms)));
  }
  if (now_ms >= map.starts_at_ms) {
    return fail(ErrorCode::kFailedPrecondition,
                fmt::format("sales of event {} closed when it started, at {}", event_id,
                            services::format_rfc3339(map.starts_at_ms)));
  }
  return ok();
}

Result<ReservationService::Hold> ReservationService::place_best_hold(
    const std::string& event_id, const std::string& buyer_id, int64_t count,
    const std::optional<std::string>& tier) {
  auto map = seat_map(event_id);
  if (!map) return fail(map.error());
  if (auto open = sales_open(event_id, **map, ctx_.clock.now_unix_ms()); !open) {
    return fail(open.error());
  }
  const std::vector<RowRun>& rows = (*map)->rows;
  if (tier &&
      std::none_of(rows.begin(), rows.end(), [&](const RowRun& r) { return r.tier == *tier; })) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("event {} has no seats of tier '{}'", event_id, *tier));
  }
  // The map's states may be a moment behind: seats taken since fail the
  // hold, and the next best place is tried without them.
  std::vector<int64_t> excluded;
  for (int attempt = 0; attempt < kBestAvailableAttempts; ++attempt) {
    auto states = seat_states(event_id, **map, options_.seat_map_max_age);
    if (!states) return fail(states.error());
    const auto best = best_windows(rows, (*states)->letters, count, tier, excluded, 1);
    if (best.empty()) {
      return fail(
          ErrorCode::kConflict,
          fmt::format("no {} seat{} side by side {} available{}", count, count == 1 ? "" : "s",
                      count == 1 ? "is" : "are", tier ? " in tier '" + *tier + "'" : ""));
    }
    std::vector<std::string> seat_ids;
    for (int64_t pos = best[0].first_pos; pos < best[0].first_pos + count; ++pos) {
      seat_ids.push_back((*map)->seat_ids[static_cast<size_t>(pos)]);
      excluded.push_back(pos);
    }
    auto hold = place_hold(event_id, buyer_id, std::move(seat_ids));
    if (hold || hold.error().code() != ErrorCode::kConflict) return hold;
  }
  return fail(ErrorCode::kConflict,
              fmt::format("the best {} seats were taken as they were being held, {} times: ask "
                          "again",
                          count, kBestAvailableAttempts));
}

Result<ReservationService::Hold> ReservationService::place_hold(const std::string& event_id,
                                                                const std::string& buyer_id,
                                                                std::vector<std::string> seat_ids) {
  auto map = seat_map(event_id);
  if (!map) return fail(map.error());
  const int64_t now = ctx_.clock.now_unix_ms();
  if (auto open = sales_open(event_id, **map, now); !open) return fail(open.error());
  std::sort(seat_ids.begin(), seat_ids.end());
  if (std::adjacent_find(seat_ids.begin(), seat_ids.end()) != seat_ids.end()) {
    return fail(ErrorCode::kInvalidArgument, "a seat is listed twice");
  }
  // The price from the seat map: an event's seats and price tiers never
  // change once it is created.
  int64_t amount_minor = 0;
  for (const auto& id : seat_ids) {
    const auto pos = (*map)->positions.find(id);
    if (pos == (*map)->positions.end()) {
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("event {} has no seat {}", event_id, id));
    }
    amount_minor += (*map)->prices[static_cast<size_t>(pos->second)];
  }
  Hold hold{.id = ids_.next().to_string(),
            .event_id = event_id,
            .buyer_id = buyer_id,
            .status = "ACTIVE",
            .seats = seat_ids,
            .amount_minor = amount_minor,
            .currency = (*map)->currency,
            .expires_at = 0,
            .created_at = now};
  hold.expires_at = hold.created_at + options_.hold_ttl.count();
  auto st = ctx_.db.transact([&](db::Session& s) -> Status {
    auto owned = s.query(
        "SELECT COALESCE(SUM(seat_count), 0) FROM holds WHERE event_id = $1 AND buyer_id = $2 "
        "AND status IN ('ACTIVE', 'SOLD')",
        {event_id, buyer_id});
    if (!owned) return fail(owned.error());
    const auto already = (*owned)[0].get<int64_t>(0);
    const int64_t cap = (*map)->max_seats_per_buyer;
    if (already + static_cast<int64_t>(seat_ids.size()) > cap) {
      return fail(ErrorCode::kFailedPrecondition,
                  fmt::format("a buyer may hold or buy at most {} seats of this event; you have {}",
                              cap, already));
    }
    // The guard against selling a seat twice: only AVAILABLE seats change,
    // and the hold exists only if every one of them did.
    db::Params params{hold.id, event_id};
    for (const auto& id : seat_ids) params.emplace_back(id);
    auto taken = s.query(
        "UPDATE seats SET state = 'HELD', hold_id = $1, version = version + 1 WHERE event_id = $2 "
        "AND state = 'AVAILABLE' AND seat_id IN (" +
            db::placeholder_list(3, seat_ids.size()) + ") RETURNING seat_id, version",
        params);
    if (!taken) return fail(taken.error());
    if (taken->size() != seat_ids.size()) {
      db::Params lookup{event_id};
      for (const auto& id : seat_ids) lookup.emplace_back(id);
      auto gone = s.query(
          "SELECT seat_id FROM seats WHERE event_id = $1 AND state <> "
          "'AVAILABLE' AND seat_id IN (" +
              db::placeholder_list(2, seat_ids.size()) + ") ORDER BY seat_id",
          lookup);
      std::vector<std::string> names;
      if (gone) {
        for (const auto& r : *gone) names.push_back(r.get<std::string>(0));
      }
      return fail(ErrorCode::kConflict,
                  "these seats are no longer available: " + join(names, ", "));
    }
    if (auto r = s.execute_deferred(
            "INSERT INTO holds (id, event_id, buyer_id, status, seats, seat_count, "
            "amount_minor, currency, expires_at, created_at) VALUES ($1, $2, $3, "
            "'ACTIVE', $4, $5, $6, $7, $8, $9)",
            {hold.id, event_id, buyer_id, join(seat_ids, ","),
             static_cast<int64_t>(seat_ids.size()), hold.amount_minor, hold.currency,
             hold.expires_at, hold.created_at});
        !r) {
      return fail(r.error());
    }
    return announce_seats(s, event_id, changed_seats(*taken), "HELD");
  });
  if (!st) return fail(st.error());
  return hold;
}

Result<ReservationService::Hold> ReservationService::read_hold(const std::string& hold_id) {
  return ctx_.db.transact(
      [&](db::Session& s) -> Result<Hold> {
        auto rows =
            s.query("SELECT " + std::string(kHoldColumns) + " FROM holds WHERE id = $1", {hold_id});
        if (!rows) return fail(rows.error());
        if (rows->empty()) return fail(ErrorCode::kNotFound, "no hold " + hold_id);
        return Hold::from_row((*rows)[0]);
      },
      {.read_only = true});
}

Result<ReservationService::Hold> ReservationService::release_hold(const std::string& hold_id,
                                                                  const std::string& buyer_id) {
  return ctx_.db.transact([&](db::Session& s) -> Result<Hold> {
    auto rows =
        s.query("SELECT " + std::string(kHoldColumns) + " FROM holds WHERE id = $1" + for_update(s),
                {hold_id});
    if (!rows) return fail(rows.error());
    if (rows->empty() || (*rows)[0].get<std::string>("buyer_id") != buyer_id) {
      return fail(ErrorCode::kNotFound, "no hold " + hold_id);
    }
    Hold hold = Hold::from_row((*rows)[0]);
    if (hold.status != "ACTIVE") {
      return fail(ErrorCode::kConflict, "the hold is " + hold.status + ", not ACTIVE");
    }
    if (auto st = end_hold(s, hold, "RELEASED", "released_by_buyer"); !st) return fail(st.error());
    hold.status = "RELEASED";
    hold.end_reason = "released_by_buyer";
    return hold;
  });
}

// ---- tickets --------------------------------------------------------------

Result<json::array> ReservationService::tickets(const Hold& hold) {
  json::array out;
  if (hold.status != "SOLD" || hold.tickets_voided_at) return out;
  auto map = seat_map(hold.event_id);
  if (!map) return fail(map.error());
  if ((*map)->cancelled_at_ms != 0) return out;  // refunded, or about to be
  const auto hold_id = Uuid::parse(hold.id);
  if (!hold_id) return fail(ErrorCode::kInternal, "hold id " + hold.id + " is not a UUID");
  auto used = ctx_.db.transact(
      [&](db::Session& s) {
        return s.query("SELECT seat_id, checked_in_at FROM check_ins WHERE hold_id = $1",
                       {hold.id});
      },
      {.read_only = true});
  if (!used) return fail(used.error());
  for (const auto& seat : hold.seats) {
    json::object ticket{{"seat", seat}, {"code", ctx_.auth.ticket_code(*hold_id, seat)}};
    for (const auto& row : *used) {
      if (row.get<std::string>(0) == seat) {
        ticket["checked_in_at"] = services::format_rfc3339(row.get<int64_t>(1));
      }
    }
    out.emplace_back(std::move(ticket));
  }
  return out;
}

Result<ReservationService::Hold> ReservationService::void_tickets(const std::string& hold_id) {
  return ctx_.db.transact([&](db::Session& s) -> Result<Hold> {
    // Locked, as a check-in locks it: one of the two goes first.
    auto rows =
        s.query("SELECT " + std::string(kHoldColumns) + " FROM holds WHERE id = $1" + for_update(s),
                {hold_id});
    if (!rows) return fail(rows.error());
    if (rows->empty()) return fail(ErrorCode::kNotFound, "no hold " + hold_id);
    Hold hold = Hold::from_row((*rows)[0]);
    if (hold.tickets_voided_at) return hold;  // asked again
    if (hold.status != "SOLD") {
      return fail(ErrorCode::kConflict, "the hold is " + hold.status + ": it has no tickets");
    }
    const int64_t now = ctx_.clock.now_unix_ms();
    auto event = s.query("SELECT starts_at FROM events WHERE id = $1", {hold.event_id});
    if (!event) return fail(event.error());
    if (!event->empty() && (*event)[0].get<int64_t>(0) <= now) {
      return fail(ErrorCode::kConflict,
                  "the event has started: its tickets can no longer be refunded");
    }
    auto used = s.query(
        "SELECT seat_id, checked_in_at FROM check_ins WHERE hold_id = $1 ORDER BY checked_in_at "
        "LIMIT 1",
        {hold_id});
    if (!used) return fail(used.error());
    if (!used->empty()) {
      return fail(ErrorCode::kConflict,
                  fmt::format("seat {} was admitted at the door at {}: these tickets can no "
                              "longer be refunded",
                              (*used)[0].get<std::string>(0),
                              services::format_rfc3339((*used)[0].get<int64_t>(1))));
    }
    auto voided =
        s.execute("UPDATE holds SET tickets_voided_at = $2 WHERE id = $1", {hold_id, now});
    if (!voided) return fail(voided.error());
    hold.tickets_voided_at = now;
    return hold;
  });
}

Result<json::object> ReservationService::check_in(const std::string& event_id,
                                                  std::string_view code) {
  const auto ticket = ctx_.auth.verify_ticket_code(code);
  return ctx_.db.transact([&](db::Session& s) -> Result<json::object> {
    auto event = s.query("SELECT name, cancelled_at FROM events WHERE id = $1", {event_id});
    if (!event) return fail(event.error());
    if (event->empty()) return fail(ErrorCode::kNotFound, "no event " + event_id);
    if (!ticket) return fail(ErrorCode::kNotFound, std::string(kNoTicket));
    // Locked, as a refund voiding the hold's tickets locks it.
    auto rows =
        s.query("SELECT " + std::string(kHoldColumns) + " FROM holds WHERE id = $1" + for_update(s),
                {ticket->hold_id});
    if (!rows) return fail(rows.error());
    if (rows->empty()) return fail(ErrorCode::kNotFound, std::string(kNoTicket));
    const Hold hold = Hold::from_row((*rows)[0]);
    const bool sold = hold.status == "SOLD" || hold.status == "RETURNED";
    if (!sold ||
        std::find(hold.seats.begin(), hold.seats.end(), ticket->seat_id) == hold.seats.end()) {
      return fail(ErrorCode::kNotFound, std::string(kNoTicket));
    }
    if (hold.event_id != event_id) {
      auto other = s.query("SELECT name, starts_at FROM events WHERE id = $1", {hold.event_id});
      if (!other) return fail(other.error());
      if (other->empty()) return fail(ErrorCode::kNotFound, std::string(kNoTicket));
      return fail(ErrorCode::kConflict,
                  fmt::format("this ticket is for another event: {}, starting {}",
                              (*other)[0].get<std::string>(0),
                              services::format_rfc3339((*other)[0].get<int64_t>(1))));
    }
    if ((*event)[0].get<std::optional<int64_t>>(1)) {
      return fail(ErrorCode::kConflict,
                  "the event was cancelled: its tickets were refunded and admit no one");
    }
    if (hold.status == "RETURNED" || hold.tickets_voided_at) {
      return fail(ErrorCode::kConflict, "this ticket was refunded: it admits no one");
    }
    const int64_t now = ctx_.clock.now_unix_ms();
    auto admitted = s.execute(
        "INSERT INTO check_ins (hold_id, seat_id, event_id, checked_in_at) VALUES ($1, $2, $3, "
        "$4) ON CONFLICT (hold_id, seat_id) DO NOTHING",
        {hold.id, ticket->seat_id, event_id, now});
    if (!admitted) return fail(admitted.error());
    if (*admitted == 0) {
      auto before =
          s.query("SELECT checked_in_at FROM check_ins WHERE hold_id = $1 AND seat_id = $2",
                  {hold.id, ticket->seat_id});
      if (!before) return fail(before.error());
      const int64_t at = before->empty() ? now : (*before)[0].get<int64_t>(0);
      return fail(ErrorCode::kConflict,
                  fmt::format("this ticket was used already: seat {} was admitted at {}",
                              ticket->seat_id, services::format_rfc3339(at)));
    }
    json::object o{{"event_id", event_id},
                   {"event_name", (*event)[0].get<std::string>(0)},
                   {"seat", ticket->seat_id},
                   {"hold_id", hold.id},
                   {"checked_in_at", services::format_rfc3339(now)}};
    if (hold.order_id) o["order_id"] = *hold.order_id;
    return o;
  });
}

Result<json::object> ReservationService::event_summary(const std::string& event_id) {
  return ctx_.db.transact(
      [&](db::Session& s) -> Result<json::object> {
        auto event = s.query("SELECT currency FROM events WHERE id = $1", {event_id});
        if (!event) return fail(event.error());
        if (event->empty()) return fail(ErrorCode::kNotFound, "no event " + event_id);
        auto states = s.query(
            "SELECT state, COUNT(*) FROM seats WHERE event_id = $1 GROUP BY state", {event_id});
        if (!states) return fail(states.error());
        json::object seats{{"AVAILABLE", 0}, {"HELD", 0}, {"SOLD", 0}};
        for (const auto& row : *states) seats[row.get<std::string>(0)] = row.get<int64_t>(1);
        // Sold and not being refunded: what the door should expect.
        auto sold = s.query(
            "SELECT COUNT(*), COALESCE(SUM(seat_count), 0), COALESCE(SUM(amount_minor), 0) FROM "
            "holds WHERE event_id = $1 AND status = 'SOLD' AND tickets_voided_at IS NULL",
            {event_id});
        if (!sold) return fail(sold.error());
        auto admitted = s.query(
            "SELECT COUNT(*) FROM check_ins c JOIN holds h ON h.id = c.hold_id WHERE c.event_id = "
            "$1 AND h.status = 'SOLD'",
            {event_id});
        if (!admitted) return fail(admitted.error());
        const db::Row& totals = (*sold)[0];
        return json::object{{"event_id", event_id},
                            {"seats", std::move(seats)},
                            {"orders_sold", totals.get<int64_t>(0)},
                            {"tickets_sold", totals.get<int64_t>(1)},
                            {"revenue_minor", totals.get<int64_t>(2)},
                            {"currency", (*event)[0].get<std::string>(0)},
                            {"tickets_admitted", (*admitted)[0].get<int64_t>(0)}};
      },
      {.read_only = true});
}

Status ReservationService::end_hold(db::Session& session, const Hold& hold, std::string_view status,
                                    std::string_view reason) {
  auto ended = session.execute(
      "UPDATE holds SET status = $2, end_reason = $3, ended_at = $4 WHERE id = $1 AND status = "
      "'ACTIVE'",
      {hold.id, std::string(status), std::string(reason), ctx_.clock.now_unix_ms()});
  if (!ended) return fail(ended.error());
  if (*ended == 0) return ok();  // ended meanwhile
  auto freed = session.query(
      "UPDATE seats SET state = 'AVAILABLE', hold_id = NULL, version = version + 1 WHERE hold_id = "
      "$1 AND state = 'HELD' RETURNING seat_id, version",
      {hold.id});
  if (!freed) return fail(freed.error());
  if (freed->empty()) return ok();
  return announce_seats(session, hold.event_id, changed_seats(*freed), "AVAILABLE");
}

// The seats an UPDATE ... RETURNING seat_id, version changed, by seat id.
std::vector<ReservationService::ChangedSeat> ReservationService::changed_seats(
    const db::Rows& rows) {
  std::vector<ChangedSeat> seats;
  seats.reserve(rows.size());
  for (const auto& r : rows) seats.push_back({r.get<std::string>(0), r.get<int64_t>(1)});
  std::sort(seats.begin(), seats.end(),
            [](const ChangedSeat& a, const ChangedSeat& b) { return a.id < b.id; });
  return seats;
}

Status ReservationService::publish(db::Session& session, std::string_view topic,
                                   const std::string& key, std::string_view type,
                                   const json::object& payload) {
  auto added = outbox_.add(session, bus::OutboxMessage{.topic = std::string(topic),
                                                       .key = key,
                                                       .type = std::string(type),
                                                       .payload = json::serialize(payload),
                                                       .headers = {}});
  return added ? ok() : fail(added.error());
}

Status ReservationService::announce_seats(db::Session& session, const std::string& event_id,
                                          const std::vector<ChangedSeat>& changed,
                                          std::string_view state) {
  json::array seats;
  json::array positions;
  json::array versions;
  auto map = seat_map(event_id);
  for (const auto& seat : changed) {
    seats.emplace_back(seat.id);
    versions.emplace_back(seat.version);
    if (map) {
      auto it = (*map)->positions.find(seat.id);
      positions.emplace_back(it == (*map)->positions.end() ? -1 : it->second);
    }
  }
  json::object payload{{"event_id", event_id},
                       {"state", state},
                       {"seats", std::move(seats)},
                       {"positions", std::move(positions)},
                       {"versions", std::move(versions)}};
  if (auto st = publish(session, kSeatChangesTopic, event_id, kSeatsChanged, payload); !st) {
    return st;
  }
  // This replica's seat map shows the change once it is committed, not only
  // when the live stream brings it back: a buyer who just held seats reads
  // them held. The stream's copy then finds the versions already there.
  session.after_commit(
      [this, event_id, change = std::move(payload)] { patch_seat_states(event_id, change); });
  return ok();
}

Result<json::object> ReservationService::cancel_event(const std::string& event_id) {
  const int64_t now = ctx_.clock.now_unix_ms();
  auto cancelled = ctx_.db.transact([&](db::Session& s) -> Result<int64_t> {
    auto marked = s.query(
        "UPDATE events SET cancelled_at = $2 WHERE id = $1 AND cancelled_at IS NULL RETURNING "
        "cancelled_at",
        {event_id, now});
    if (!marked) return fail(marked.error());
    if (marked->empty()) {
      auto event = s.query("SELECT cancelled_at FROM events WHERE id = $1", {event_id});
      if (!event) return fail(event.error());
      if (event->empty()) return fail(ErrorCode::kNotFound, "no event " + event_id);
      return (*event)[0].get<std::optional<int64_t>>(0).value_or(now);  // cancelled before
    }
    // Holds not paid for yet are released; an order placed on one is
    // refused its seats, and its payment voided.
    auto active =
        s.query("SELECT " + std::string(kHoldColumns) +
                    " FROM holds WHERE event_id = $1 AND status = 'ACTIVE'" + for_update(s),
                {event_id});
    if (!active) return fail(active.error());
    for (const auto& row : *active) {
      if (auto st = end_hold(s, Hold::from_row(row), "RELEASED", "event_cancelled"); !st) {
        return fail(st.error());
      }
    }
    // Each order of the sold seats is to be refunded: told on its own key,
    // so that it arrives after that order's seats.confirmed.
    auto sold = s.query("SELECT id, order_id FROM holds WHERE event_id = $1 AND status = 'SOLD'",
                        {event_id});
    if (!sold) return fail(sold.error());
    for (const auto& row : *sold) {
      const auto order_id = row.get<std::optional<std::string>>(1);
      if (!order_id) continue;
      json::object payload{{"order_id", *order_id},
                           {"hold_id", row.get<std::string>(0)},
                           {"event_id", event_id},
                           {"reason", "event_cancelled"}};
      if (auto st = publish(s, kReservationEventsTopic, *order_id, kEventCancelled, payload); !st) {
        return fail(st.error());
      }
    }
    // Every replica's cached map, and the browsers on the event's stream.
    json::object change{{"event_id", event_id},
                        {"cancelled_at", services::format_rfc3339(now)},
                        {"cancelled_at_ms", now}};
    if (auto st = publish(s, kSeatChangesTopic, event_id, kEventCancelled, change); !st) {
      return fail(st.error());
    }
    return now;
  });
  if (!cancelled) return fail(cancelled.error());
  mark_cancelled(event_id, *cancelled);
  auto map = seat_map(event_id);
  if (!map) return fail(map.error());
  json::error_code ec;
  json::value event = json::parse((*map)->event_json, ec);
  if (ec || !event.is_object()) return fail(ErrorCode::kInternal, "the cached event is not JSON");
  return std::move(event.as_object());
}

void ReservationService::mark_cancelled(const std::string& event_id, int64_t cancelled_at_ms) {
  std::lock_guard lock(maps_mu_);
  ++map_generations_[event_id];  // a map being read now is read again
  auto it = maps_.find(event_id);
  if (it == maps_.end() || it->second->cancelled_at_ms != 0) return;
  json::error_code ec;
  json::value event = json::parse(it->second->event_json, ec);
  if (ec || !event.is_object()) return;
  event.as_object()["cancelled_at"] = services::format_rfc3339(cancelled_at_ms);
  // Maps are shared read-only: a new one replaces it.
  auto cancelled = std::make_shared<SeatMap>(*it->second);
  cancelled->cancelled_at_ms = cancelled_at_ms;
  cancelled->event_json = json::serialize(event);
  it->second = std::move(cancelled);
}

Result<json::object> ReservationService::update_event(const std::string& event_id,
                                                      const EventChanges& changes) {
  const int64_t now = ctx_.clock.now_unix_ms();
  auto updated = ctx_.db.transact([&](db::Session& s) -> Result<json::object> {
    auto rows = s.query(
        "SELECT " + std::string(kEventColumns) + " FROM events WHERE id = $1" + for_update(s),
        {event_id});
    if (!rows) return fail(rows.error());
    if (rows->empty()) return fail(ErrorCode::kNotFound, "no event " + event_id);
    const db::Row& row = (*rows)[0];
    if (row.get<std::optional<int64_t>>("cancelled_at")) {
      return fail(ErrorCode::kConflict,
                  "event " + event_id + " is cancelled: it can no longer be changed");
    }
    const auto starts_at = row.get<int64_t>("starts_at");
    if (starts_at <= now) {
      return fail(ErrorCode::kConflict,
                  "event " + event_id + " has started: it can no longer be changed");
    }
    const int64_t new_starts_at = changes.starts_at_ms.value_or(starts_at);
    if (new_starts_at <= now) {
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("field 'starts_at': {} has passed; an event is moved to a time "
                              "ahead",
                              services::format_rfc3339(new_starts_at)));
    }
    const int64_t opens = changes.sales_open_at_ms.value_or(
        row.get<std::optional<int64_t>>("sales_open_at").value_or(0));
    if (opens != 0 && opens >= new_starts_at) {
      return fail(
          ErrorCode::kInvalidArgument,
          fmt::format("field 'sales_open_at': {} is not before the start, {}: sales close "
                      "when the event starts",
                      services::format_rfc3339(opens), services::format_rfc3339(new_starts_at)));
    }
    const int64_t cap = changes.max_seats_per_buyer.value_or(
        row.get<std::optional<int64_t>>("max_seats_per_buyer").value_or(0));
    auto n = s.execute(
        "UPDATE events SET name = $2, venue = $3, starts_at = $4, sales_open_at = $5, "
        "max_seats_per_buyer = $6 WHERE id = $1",
        {event_id, changes.name.value_or(row.get<std::string>("name")),
         changes.venue.value_or(row.get<std::string>("venue")), new_starts_at,
         opens != 0 ? db::Value(opens) : db::Value(nullptr),
         cap != 0 ? db::Value(cap) : db::Value(nullptr)});
    if (!n) return fail(n.error());
    auto read =
        s.query("SELECT " + std::string(kEventColumns) + " FROM events WHERE id = $1", {event_id});
    if (!read) return fail(read.error());
    if (read->empty()) return fail(ErrorCode::kInternal, "event " + event_id + " vanished");
    json::object event = event_json((*read)[0]);
    // Every replica's cached map, and the browsers on the event's stream.
    json::object change{{"event_id", event_id}, {"event", event}};
    if (auto st = publish(s, kSeatChangesTopic, event_id, kEventUpdated, change); !st) {
      return fail(st.error());
    }
    return event;
  });
  if (!updated) return fail(updated.error());
  apply_event_update(event_id, *updated);
  return updated;
}

void ReservationService::apply_event_update(const std::string& event_id,
                                            const json::object& event) {
  const auto time_of = [&](std::string_view key) -> int64_t {
    const json::value* v = event.if_contains(key);
    if (v == nullptr || !v->is_string()) return 0;
    return services::parse_rfc3339(v->get_string()).value_or(0);
  };
  const json::value* cap = event.if_contains("max_seats_per_buyer");
  std::lock_guard lock(maps_mu_);
  ++map_generations_[event_id];  // a map being read now is read again
  auto it = maps_.find(event_id);
  if (it == maps_.end()) return;
  // Maps are shared read-only: a new one replaces it.
  auto updated = std::make_shared<SeatMap>(*it->second);
  updated->event_json = json::serialize(event);
  updated->starts_at_ms = time_of("starts_at");
  updated->sales_open_at_ms = time_of("sales_open_at");
  updated->cancelled_at_ms = time_of("cancelled_at");
  updated->max_seats_per_buyer =
      cap != nullptr && cap->is_int64() ? cap->get_int64() : options_.max_seats_per_buyer;
  it->second = std::move(updated);
}

Result<size_t> ReservationService::sweep_expired() {
  constexpr int64_t kBatch = 500;
  return ctx_.db.transact([&](db::Session& s) -> Result<size_t> {
    auto rows =
        s.query("SELECT " + std::string(kHoldColumns) +
                    " FROM holds WHERE status = 'ACTIVE' AND expires_at <= $1 ORDER BY "
                    "expires_at LIMIT $2" +
                    (s.dialect() == db::Dialect::kPostgres ? " FOR UPDATE SKIP LOCKED" : ""),
                {ctx_.clock.now_unix_ms(), kBatch});
    if (!rows) return fail(rows.error());
    for (const auto& row : *rows) {
      if (auto st = end_hold(s, Hold::from_row(row), "EXPIRED", "hold_expired"); !st) {
        return fail(st.error());
      }
    }
    return rows->size();
  });
}

void ReservationService::sweep_loop() {
  set_thread_name("hold-sweeper");
  std::unique_lock lock(sweep_mu_);
  while (!stopping_) {
    lock.unlock();
    auto swept = sweep_expired();
    if (!swept) {
      log::warn("reservation: hold expiry sweep failed: {}", swept.error().message());
    } else if (*swept > 0) {
      log::info("reservation: {} expired holds released", *swept);
    }
    sample_seats();
    lock.lock();
    if (swept && *swept == 500) continue;  // more are due
    sweep_cv_.wait_for(lock, options_.sweep_interval, [this] { return stopping_; });
  }
}

void ReservationService::sample_seats() {
  const int64_t now = ctx_.clock.now_unix_ms();
  if (now < next_sample_ms_) return;
  next_sample_ms_ = now + 5000;
  auto rows = ctx_.db.transact(
      [&](db::Session& s) { return s.query("SELECT state, COUNT(*) FROM seats GROUP BY state"); },
      {.read_only = true});
  if (!rows) return;
  for (const char* state : {"AVAILABLE", "HELD", "SOLD"}) {
    double count = 0;
    for (const auto& r : *rows) {
      if (r.get<std::string>(0) == state) count = static_cast<double>(r.get<int64_t>(1));
    }
    seats_gauge_->Add({{"state", state}}).Set(count);
  }
}

// ---- order.events ---------------------------------------------------------

Status ReservationService::on_order_event(db::Session& session, const bus::Message& message) {
  const std::string type = message.type();
  if (type != kOrderConfirmed && type != kOrderCancelled && type != kOrderRefunded) {
    return ok();  // not for us
  }
  json::error_code ec;
  const json::value body = json::parse(message.payload, ec);
  if (ec || !body.is_object()) {
    return fail(ErrorCode::kInvalidArgument, "order event payload is not a JSON object");
  }
  const json::object& o = body.get_object();
  auto order_id = services::string_field(o, "order_id");
  auto hold_id = services::string_field(o, "hold_id");
  auto buyer_id = services::string_field(o, "buyer_id");
  if (!order_id || !hold_id || !buyer_id) {
    return fail(ErrorCode::kInvalidArgument, "order event lacks order_id, hold_id or buyer_id");
  }
  if (type == kOrderConfirmed) return confirm(session, *order_id, *hold_id, *buyer_id);
  if (type == kOrderRefunded) return return_seats(session, *order_id, *hold_id);

  auto rows = session.query(
      "SELECT " + std::string(kHoldColumns) + " FROM holds WHERE id = $1" + for_update(session),
      {*hold_id});
  if (!rows) return fail(rows.error());
  if (rows->empty()) return ok();
  Hold hold = Hold::from_row((*rows)[0]);
  if (hold.status != "ACTIVE" || hold.buyer_id != *buyer_id) return ok();
  return end_hold(session, hold, "RELEASED", "order_cancelled");
}

Status ReservationService::return_seats(db::Session& session, const std::string& order_id,
                                        const std::string& hold_id) {
  auto returned = session.query(
      "UPDATE holds SET status = 'RETURNED', end_reason = 'order_refunded', ended_at = $3 WHERE "
      "id = $1 AND status = 'SOLD' AND order_id = $2 RETURNING event_id",
      {hold_id, order_id, ctx_.clock.now_unix_ms()});
  if (!returned) return fail(returned.error());
  if (returned->empty()) return ok();  // returned before (a redelivery), or never sold to it
  auto freed = session.query(
      "UPDATE seats SET state = 'AVAILABLE', hold_id = NULL, order_id = NULL, version = version + "
      "1 WHERE hold_id = $1 AND state = 'SOLD' AND order_id = $2 RETURNING seat_id, version",
      {hold_id, order_id});
  if (!freed) return fail(freed.error());
  if (freed->empty()) return ok();
  return announce_seats(session, (*returned)[0].get<std::string>(0), changed_seats(*freed),
                        "AVAILABLE");
}

Status ReservationService::confirm(db::Session& session, const std::string& order_id,
                                   const std::string& hold_id, const std::string& buyer_id) {
  auto reply = [&](std::string_view type, const Hold* hold, std::string_view reason) -> Status {
    json::object payload{{"order_id", order_id}, {"hold_id", hold_id}};
    if (!reason.empty()) payload["reason"] = reason;
    if (hold != nullptr) {
      json::array seats;
      for (const auto& s : hold->seats) seats.emplace_back(s);
      payload["seats"] = std::move(seats);
      payload["event_id"] = hold->event_id;
    }
    return publish(session, kReservationEventsTopic, order_id, type, payload);
  };

  // With the hold, whether its event was cancelled, read in this transaction:
  // a replica whose cached map has not heard of the cancellation yet may
  // have taken a hold after it.
  auto rows =
      session.query("SELECT " + std::string(kHoldColumns) +
                        ", (SELECT cancelled_at FROM events WHERE events.id = holds.event_id) AS "
                        "event_cancelled_at FROM holds WHERE id = $1" +
                        for_update(session),
                    {hold_id});
  if (!rows) return fail(rows.error());
  if (rows->empty()) return reply(kSeatsRejected, nullptr, "hold_not_found");
  Hold hold = Hold::from_row((*rows)[0]);
  if (hold.buyer_id != buyer_id) return reply(kSeatsRejected, nullptr, "hold_not_found");
  if (hold.status == "SOLD") {
    // Already sold to this order: the confirmation was applied before.
    if (hold.order_id == order_id) return reply(kSeatsConfirmed, &hold, "");
    return reply(kSeatsRejected, &hold, "hold_sold_to_another_order");
  }
  if ((*rows)[0].get<std::optional<int64_t>>("event_cancelled_at")) {
    if (hold.status == "ACTIVE") {
      if (auto st = end_hold(session, hold, "RELEASED", "event_cancelled"); !st) return st;
    }
    return reply(kSeatsRejected, &hold, "event_cancelled");
  }
  if (hold.status == "EXPIRED") return reply(kSeatsRejected, &hold, "hold_expired");
  if (hold.status == "RELEASED") return reply(kSeatsRejected, &hold, "hold_released");
  if (hold.expires_at <= ctx_.clock.now_unix_ms()) {
    // Expired, and the sweeper has not come by yet: end it here.
    if (auto st = end_hold(session, hold, "EXPIRED", "hold_expired"); !st) return st;
    return reply(kSeatsRejected, &hold, "hold_expired");
  }
  auto sold = session.query(
      "UPDATE seats SET state = 'SOLD', order_id = $2, version = version + 1 WHERE hold_id = $1 "
      "AND state = 'HELD' RETURNING seat_id, version",
      {hold_id, order_id});
  if (!sold) return fail(sold.error());
  if (sold->size() != hold.seats.size()) {
    // Cannot happen while holds and seats change together; refuse loudly.
    return fail(ErrorCode::kInternal, fmt::format("hold {} has {} seats but {} were HELD by it",
                                                  hold_id, hold.seats.size(), sold->size()));
  }
  if (auto r = session.execute_deferred(
          "UPDATE holds SET status = 'SOLD', order_id = $2, ended_at = $3 WHERE id = $1",
          {hold_id, order_id, ctx_.clock.now_unix_ms()});
      !r) {
    return fail(r.error());
  }
  if (auto st = announce_seats(session, hold.event_id, changed_seats(*sold), "SOLD"); !st) {
    return st;
  }
  return reply(kSeatsConfirmed, &hold, "");
}

// ---- live updates ---------------------------------------------------------

void ReservationService::push_seat_change(const bus::Message& message) {
  trace::Span process = bus::start_process_span(ctx_.tracer, ctx_.bus_system, message,
                                                std::string(kServiceName) + ".live");
  trace::Scope scope(process);
  json::error_code ec;
  json::value body = json::parse(message.payload, ec);
  if (ec || !body.is_object() || !body.get_object().contains("event_id") ||
      !body.get_object().at("event_id").is_string()) {
    log::warn("reservation: ignoring malformed seat change {}", message.id());
    return;
  }
  json::object& o = body.get_object();
  const std::string event_id(o.at("event_id").as_string());
  const bool cancelled = message.type() == kEventCancelled;
  const bool updated = message.type() == kEventUpdated;
  if (cancelled) {
    const json::value* at = o.if_contains("cancelled_at_ms");
    if (at != nullptr && at->is_int64()) mark_cancelled(event_id, at->get_int64());
  } else if (updated) {
    const json::value* event = o.if_contains("event");
    if (event != nullptr && event->is_object()) apply_event_update(event_id, event->get_object());
  } else {
    patch_seat_states(event_id, o);
  }
  const std::string topic = services::seat_stream_topic(event_id);
  trace::Span push = ctx_.tracer.start_span("sse push " + std::string(kSeatChangesTopic),
                                            {.kind = trace::SpanKind::kProducer});
  push.set_attribute("messaging.system", "sse").set_attribute("messaging.destination.name", topic);
  o["traceparent"] = trace::to_text(push.context());
  o["trace_id"] = push.context().trace_id.hex();
  const uint64_t id = ctx_.hub.publish(topic,
                                       cancelled ? "cancelled"
                                       : updated ? "updated"
                                                 : "seats",
                                       json::serialize(o));
  push.set_attribute("sse.event.id", static_cast<int64_t>(id));
}

// Keeps a cached snapshot as fresh as the stream: applied before the change
// is pushed, so a client that saw the change on the stream reads it in the
// seat map too. The snapshot keeps its stream position; a client that
// resumes from there gets this change again, which sets the same state.
void ReservationService::patch_seat_states(const std::string& event_id,
                                           const json::object& change) {
  const auto* seats = change.if_contains("seats");
  const auto* state = change.if_contains("state");
  if (seats == nullptr || !seats->is_array() || state == nullptr || !state->is_string() ||
      state->get_string().empty()) {
    return;
  }
  std::shared_ptr<const SeatMap> map;
  {
    std::lock_guard lock(maps_mu_);
    auto it = maps_.find(event_id);
    if (it == maps_.end()) return;
    map = it->second;
  }
  const char letter = state->get_string()[0];  // AVAILABLE, HELD, SOLD
  // Each seat's new version; a change announced without them is applied.
  const auto* versions = change.if_contains("versions");
  const json::array* version_list =
      versions != nullptr && versions->is_array() ? &versions->get_array() : nullptr;
  // Waits for a refresh under way, whose database read may have missed this
  // change, so that the change lands on the snapshot it stores.
  std::lock_guard refresh(states_refresh_mu_);
  std::lock_guard lock(states_mu_);
  auto it = states_.find(event_id);
  if (it == states_.end()) return;
  auto patched = std::make_shared<SeatStates>(*it->second);
  std::vector<int64_t>& known = *patched->versions;
  const json::array& seat_list = seats->get_array();
  for (size_t i = 0; i < seat_list.size(); ++i) {
    if (!seat_list[i].is_string()) continue;
    auto pos = map->positions.find(std::string_view(seat_list[i].get_string()));
    if (pos == map->positions.end() || !std::cmp_less(pos->second, patched->letters.size())) {
      continue;
    }
    const auto at = static_cast<size_t>(pos->second);
    if (version_list != nullptr && i < version_list->size() && (*version_list)[i].is_int64()) {
      // A change the snapshot already shows, or one older than what it
      // shows (read from the database after this change committed), is
      // not applied: the map would go back in time until the next change.
      const int64_t version = (*version_list)[i].get_int64();
      if (version <= known[at]) continue;
      known[at] = version;
    }
    patched->letters[at] = letter;
  }
  it->second = std::move(patched);
}

// ---- HTTP -----------------------------------------------------------------

// {"seats": ["A-1-7", ...]}: these seats.
Result<ReservationService::Hold> ReservationService::hold_listed_seats(const std::string& event_id,
                                                                       const std::string& buyer_id,
                                                                       const json::object& body) {
  auto seats =
      services::array_field(body, "seats", static_cast<size_t>(options_.max_seats_per_buyer));
  if (!seats) return fail(seats.error());
  std::vector<std::string> seat_ids;
  for (const auto& v : **seats) {
    if (!v.is_string() || v.get_string().empty() || v.get_string().size() > kMaxSeatIdLength) {
      return fail(ErrorCode::kInvalidArgument,
                  "field 'seats' must list seat ids such as \"A-1-7\"");
    }
    seat_ids.emplace_back(v.get_string());
  }
  return place_hold(event_id, buyer_id, std::move(seat_ids));
}

// {"best_available": {"count": 2, "tier": "premium"}}: the best seats side by
// side (the tier optional).
Result<ReservationService::Hold> ReservationService::hold_best_available(
    const std::string& event_id, const std::string& buyer_id, const json::object& body) {
  if (body.contains("seats")) {
    return fail(ErrorCode::kInvalidArgument, "give either 'seats' or 'best_available', not both");
  }
  auto best = services::as_object(body.at("best_available"), "field 'best_available'");
  if (!best) return fail(best.error());
  auto count = services::integer_field(**best, "count", 1, options_.max_seats_per_buyer);
  if (!count) return fail(count.error().with_context("in 'best_available'"));
  auto tier = services::optional_string_field(**best, "tier", 32);
  if (!tier) return fail(tier.error().with_context("in 'best_available'"));
  return place_best_hold(event_id, buyer_id, *count, *tier);
}

void ReservationService::add_routes(http::Router& router) {
  router.add_sync(http::Method::kPost, "/api/session", [this](const http::Request&) {
    const services::BuyerSession session = ctx_.auth.new_session();
    return http::json_response(
        201, json::object{{"buyer_id", session.buyer_id},
                          {"token", session.token},
                          {"expires_at", services::format_rfc3339(session.expires_at_ms)}});
  });

  router.add_sync(http::Method::kGet, "/api/events", [this](const http::Request&) {
    auto events = events_on_sale();
    if (!events) return error_response(events.error());
    // How many seats each has left, counted in the cached seat states
    // (see seats_available): loading the list reads no seats.
    for (json::value& event : *events) {
      json::object& o = event.as_object();
      auto left = seats_available(std::string(o.at("id").as_string()));
      if (!left) return error_response(left.error());
      o["seats_available"] = *left;
    }
    return http::json_response(200, json::object{{"events", std::move(*events)}});
  });

  router.add_sync(http::Method::kPost, "/api/admin/events", [this](const http::Request& r) {
    if (auto st = ctx_.auth.admin(r); !st) return error_response(st.error());
    auto body = http::parse_json_body(r);
    if (!body) return http::json_error_response(body.error());
    auto spec = parse_event_spec(*body, options_.max_seats_per_buyer);
    if (!spec) return error_response(spec.error());
    if (spec->starts_at_ms <= ctx_.clock.now_unix_ms()) {
      return error_response(
          Error(ErrorCode::kInvalidArgument,
                fmt::format("field 'starts_at': {} has passed; an event is put on sale before "
                            "it starts",
                            services::format_rfc3339(spec->starts_at_ms))));
    }
    auto id = create_event(*spec);
    if (!id) return error_response(id.error());
    auto map = seat_map(*id);
    if (!map) return error_response(map.error());
    http::Response response = http::Response::json(201, (*map)->event_json);
    response.headers.set("Location", "/api/events/" + *id);
    return response;
  });

  router.add_sync(http::Method::kPost, "/api/admin/events/{event_id}/cancel",
                  [this](const http::Request& r) {
                    if (auto st = ctx_.auth.admin(r); !st) return error_response(st.error());
                    auto event = cancel_event(std::string(r.param("event_id")));
                    if (!event) return error_response(event.error());
                    return http::json_response(200, *event);
                  });

  router.add_sync(http::Method::kPatch, "/api/admin/events/{event_id}",
                  [this](const http::Request& r) {
                    if (auto st = ctx_.auth.admin(r); !st) return error_response(st.error());
                    auto body = http::parse_json_body(r);
                    if (!body) return http::json_error_response(body.error());
                    auto changes = parse_event_changes(*body, options_.max_seats_per_buyer);
                    if (!changes) return error_response(changes.error());
                    auto event = update_event(std::string(r.param("event_id")), *changes);
                    if (!event) return error_response(event.error());
                    return http::json_response(200, *event);
                  });

  router.add_sync(http::Method::kGet, "/api/admin/events", [this](const http::Request& r) {
    if (auto st = ctx_.auth.admin(r); !st) return error_response(st.error());
    auto events = events_at_the_door();
    if (!events) return error_response(events.error());
    return http::json_response(200, json::object{{"events", std::move(*events)}});
  });

  router.add_sync(http::Method::kGet, "/api/admin/events/{event_id}/summary",
                  [this](const http::Request& r) {
                    if (auto st = ctx_.auth.admin(r); !st) return error_response(st.error());
                    auto summary = event_summary(std::string(r.param("event_id")));
                    if (!summary) return error_response(summary.error());
                    return http::json_response(200, *summary);
                  });

  router.add_sync(http::Method::kPost, "/api/admin/events/{event_id}/check-ins",
                  [this](const http::Request& r) {
                    if (auto st = ctx_.auth.admin(r); !st) return error_response(st.error());
                    auto body = http::parse_json_body(r);
                    if (!body) return http::json_error_response(body.error());
                    auto object = services::as_object(*body);
                    if (!object) return error_response(object.error());
                    auto code = services::string_field(**object, "code", 200);
                    if (!code) return error_response(code.error());
                    // A scanner that types the code may end it with a newline.
                    std::string_view text = *code;
                    const size_t first = text.find_first_not_of(" \t\r\n");
                    text = first == std::string_view::npos
                               ? std::string_view()
                               : text.substr(first, text.find_last_not_of(" \t\r\n") - first + 1);
                    auto admitted = check_in(std::string(r.param("event_id")), text);
                    if (const char* outcome = check_in_outcome(admitted)) {
                      check_ins_total_->Add({{"outcome", outcome}}).Increment();
                    }
                    if (!admitted) return error_response(admitted.error());
                    return http::json_response(200, *admitted);
                  });

  router.add_sync(http::Method::kGet, "/api/events/{event_id}", [this](const http::Request& r) {
    const std::string event_id(r.param("event_id"));
    auto map = seat_map(event_id);
    if (!map) return error_response(map.error());
    auto left = seats_available(event_id);
    if (!left) return error_response(left.error());
    // The cached {"id":..,...} with the count added before its closing brace.
    std::string body = (*map)->event_json;
    body.insert(body.size() - 1, ",\"seats_available\":" + std::to_string(*left));
    return http::Response::json(200, std::move(body));
  });

  router.add_sync(
      http::Method::kGet, "/api/events/{event_id}/seats", [this](const http::Request& r) {
        const std::string event_id(r.param("event_id"));
        auto map = seat_map(event_id);
        if (!map) return error_response(map.error());
        auto states = seat_states(event_id, **map, options_.seat_map_max_age);
        if (!states) return error_response(states.error());
        std::string body = "{\"event\":" + (*map)->event_json + "," + (*map)->layout_json +
                           ",\"states\":\"" + (*states)->letters +
                           "\",\"stream_position\":" + std::to_string((*states)->stream_position) +
                           "}";
        http::Response response = http::Response::json(200, std::move(body));
        response.headers.set("Cache-Control", "no-store");
        return response;
      });

  router.add(http::Method::kGet, "/api/events/{event_id}/seats/stream",
             [this](http::Request& r, http::Responder responder) {
               const std::string event_id(r.param("event_id"));
               if (auto map = seat_map(event_id); !map) {
                 responder.send(error_response(map.error()));
                 return;
               }
               const uint64_t last = http::last_event_id(r);
               responder.stream_events(ctx_.hub, services::seat_stream_topic(event_id), last);
             });

  router.add_sync(
      http::Method::kPost, "/api/events/{event_id}/holds", [this](const http::Request& r) {
        auto buyer = ctx_.auth.buyer(r);
        if (!buyer) return error_response(buyer.error());
        auto body = http::parse_json_body(r);
        if (!body) return http::json_error_response(body.error());
        auto object = services::as_object(*body);
        if (!object) return error_response(object.error());
        const std::string event_id(r.param("event_id"));
        const bool best = (*object)->contains("best_available");
        auto hold = best ? hold_best_available(event_id, *buyer, **object)
                         : hold_listed_seats(event_id, *buyer, **object);
        if (const char* outcome = hold_outcome(hold)) {
          holds_total_->Add({{"kind", best ? "best_available" : "listed"}, {"outcome", outcome}})
              .Increment();
        }
        if (!hold) return error_response(hold.error());
        http::Response response = http::json_response(201, hold->to_json(false));
        response.headers.set("Location", "/api/holds/" + hold->id);
        return response;
      });

  router.add_sync(http::Method::kGet, "/api/holds/{hold_id}", [this](const http::Request& r) {
    auto buyer = ctx_.auth.buyer(r);
    if (!buyer) return error_response(buyer.error());
    auto hold = read_hold(std::string(r.param("hold_id")));
    if (!hold || hold->buyer_id != *buyer) {
      return http::problem(404, "no hold " + std::string(r.param("hold_id")));
    }
    json::object o = hold->to_json(false);
    if (hold->status == "SOLD") {
      auto issued = tickets(*hold);
      if (!issued) return error_response(issued.error());
      o["tickets"] = std::move(*issued);
    }
    return http::json_response(200, o);
  });

  router.add_sync(http::Method::kDelete, "/api/holds/{hold_id}", [this](const http::Request& r) {
    auto buyer = ctx_.auth.buyer(r);
    if (!buyer) return error_response(buyer.error());
    auto hold = release_hold(std::string(r.param("hold_id")), *buyer);
    if (!hold) return error_response(hold.error());
    return http::json_response(200, hold->to_json(false));
  });

  // For the order service: the hold as it stands, with its buyer.
  router.add_sync(http::Method::kGet, "/internal/holds/{hold_id}", [this](const http::Request& r) {
    if (auto st = ctx_.auth.service(r); !st) return error_response(st.error());
    auto hold = read_hold(std::string(r.param("hold_id")));
    if (!hold) return error_response(hold.error());
    json::object o = hold->to_json(true);
    o["expired"] = hold->expires_at <= ctx_.clock.now_unix_ms();
    return http::json_response(200, o);
  });

  // For the order service, before it refunds an order: its tickets stop
  // admitting, or the answer says why they cannot be refunded.
  router.add_sync(http::Method::kPost, "/internal/holds/{hold_id}/tickets/void",
                  [this](const http::Request& r) {
                    if (auto st = ctx_.auth.service(r); !st) return error_response(st.error());
                    auto hold = void_tickets(std::string(r.param("hold_id")));
                    if (!hold) return error_response(hold.error());
                    return http::json_response(200, hold->to_json(true));
                  });
}

}  // namespace seatflow::reservation
