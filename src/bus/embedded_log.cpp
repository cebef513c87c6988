#include "bus/embedded_log.hpp"

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <tuple>

#include "bus/consumer_support.hpp"
#include "core/log.hpp"
#include "core/thread_name.hpp"
#include "db/migrations.hpp"
#include "db/sqlite_database.hpp"

namespace seatflow::bus {
namespace {

// Appends in this process wake its consumers through this channel.
constexpr std::string_view kAppendedChannel = "log.appended";
constexpr std::chrono::minutes kPurgeEvery{1};

using PartitionKey = std::pair<std::string, int32_t>;  // topic, partition

class EmbeddedLog;

// The messages this process appended last, per partition, so that a consumer
// that keeps up takes them from memory instead of reading them back in a
// read transaction of its own (each group read every message again).
// A partition's window holds consecutive offsets up to the partition's end
// as this process last knew it: an append puts its messages there after it
// commits and before it wakes the consumers. Appends of another process on
// the same file do not pass here: a window they leave behind is replaced
// at this process's next append, and a consumer reads the file at least once
// a poll interval (see EmbeddedSubscription::run).
class RecentMessages {
 public:
  static constexpr size_t kPerPartition = 1024;

  // Messages committed to one partition, in offset order; `end` is the
  // partition's end before them.
  void add(const PartitionKey& where, int64_t end, std::vector<Message> appended) {
    std::lock_guard lock(mu_);
    Window& w = windows_[where];
    // A commit whose callback comes after a later one's adds nothing: the
    // window moves only forward. A gap (another process's messages, or a
    // commit whose callback is still to come): the window starts over.
    if (end < w.end) return;
    if (end > w.end) {
      w.messages.clear();
      w.end = end;
    }
    for (auto& m : appended) {
      w.messages.push_back(std::move(m));
      ++w.end;
    }
    while (w.messages.size() > kPerPartition) w.messages.pop_front();
  }

  // A partition found empty from `end` on by a read of the file: a window
  // with nothing in it yet, unless the partition has one already.
  void note_end(const PartitionKey& where, int64_t end) {
    std::lock_guard lock(mu_);
    windows_.try_emplace(where, Window{.messages = {}, .end = end});
  }

  // Appends to `out` the messages of the partition from offset `from` on
  // (at most `max`); false when the window cannot say what is there.
  bool take(const PartitionKey& where, int64_t from, size_t max, std::vector<Message>& out) const {
    std::lock_guard lock(mu_);
    auto it = windows_.find(where);
    if (it == windows_.end()) return false;
    const Window& w = it->second;
    const int64_t first = w.end - static_cast<int64_t>(w.messages.size());
    if (from < first || from > w.end) return false;
    const auto begin = w.messages.begin() + (from - first);
    const auto count = std::min<size_t>(max, static_cast<size_t>(w.end - from));
    out.insert(out.end(), begin, begin + static_cast<std::ptrdiff_t>(count));
    return true;
  }

 private:
  struct Window {
    std::deque<Message> messages;  // the last messages, ending at offset end - 1
    int64_t end = -1;              // the partition's next offset
  };
  mutable std::mutex mu_;
  std::map<PartitionKey, Window> windows_;  // guarded by mu_
};

class EmbeddedSubscription final : public Subscription {
 public:
  EmbeddedSubscription(EmbeddedLog& log, SubscriptionOptions options,
                       std::unique_ptr<db::Listener> listener)
      : log_(log), options_(std::move(options)), listener_(std::move(listener)) {}
  ~EmbeddedSubscription() override { stop(); }
  EmbeddedSubscription(const EmbeddedSubscription&) = delete;
  EmbeddedSubscription& operator=(const EmbeddedSubscription&) = delete;

  // Reads where the group stands before it returns: a message published
  // after subscribe() is never missed (a group that starts at the end takes
  // the end now, not when its thread first looks).
  Status start() {
    if (auto st = load_positions(); !st) return st;
    thread_ = std::thread([this] { run(); });
    return ok();
  }
  void stop() override;

 private:
  Status load_positions();
  void run();
  // Reads and handles what is new in every partition, from the file or, when
  // `recent` and they are there, from the recent messages; false when stopped.
  bool consume_once(bool recent, bool& any);
  // The next messages of each of `partitions`, read from the file.
  Status read_partitions(const std::vector<PartitionKey>& partitions,
                         std::vector<std::pair<PartitionKey, db::Rows>>& batches);
  Status commit();

  EmbeddedLog& log_;
  const SubscriptionOptions options_;
  std::unique_ptr<db::Listener> listener_;
  StopSignal stop_;
  std::thread thread_;
  std::map<PartitionKey, int64_t> positions_;  // next offset to handle
  std::map<PartitionKey, int64_t> committed_;
};

class EmbeddedLog final : public Bus {
 public:
  EmbeddedLog(EmbeddedLogOptions options, std::unique_ptr<db::Database> db, const Clock& clock)
      : options_(std::move(options)), db_(std::move(db)), clock_(clock) {}

  std::string_view system() const override { return "embedded"; }

  Status create_topics(const std::vector<TopicSpec>& topics) override {
    for (const auto& t : topics) {
      if (!valid_topic_name(t.name)) {
        return fail(ErrorCode::kInvalidArgument, "invalid topic name '" + t.name + "'");
      }
      if (t.partitions < 1 || t.partitions > 10000) {
        return fail(ErrorCode::kInvalidArgument,
                    "topic " + t.name + ": partitions must be between 1 and 10000");
      }
    }
    return db_->transact([&](db::Session& s) -> Status {
      for (const auto& t : topics) {
        auto n = s.execute(
            "INSERT INTO topics (name, partitions, created_at) VALUES ($1, $2, $3) "
            "ON CONFLICT (name) DO NOTHING",
            {t.name, int64_t{t.partitions}, clock_.now_unix_ms()});
        if (!n) return fail(n.error());
      }
      return ok();
    });
  }

  std::vector<Status> publish(std::span<const OutgoingMessage> messages) override {
    std::vector<Status> results(messages.size());
    const int64_t now = clock_.now_unix_ms();
    auto st = db_->transact([&](db::Session& s) -> Status {
      std::map<PartitionKey, int64_t> next;  // next offset per partition touched
      // What this commits, per partition.
      struct Committed {
        int64_t end = 0;  // the partition's end before these messages
        std::vector<Message> messages;
      };
      auto appended = std::make_shared<std::map<PartitionKey, Committed>>();
      for (size_t i = 0; i < messages.size(); ++i) {
        const OutgoingMessage& m = messages[i];
        auto partitions = partitions_of(s, m.topic);
        if (!partitions) {
          results[i] = fail(partitions.error());
          continue;
        }
        const PartitionKey where{m.topic, partition_for(m.key, *partitions)};
        auto it = next.find(where);
        if (it == next.end()) {
          auto end = end_offset(s, where);
          if (!end) return fail(end.error());
          it = next.emplace(where, *end).first;
        }
        auto n = s.execute(
            "INSERT INTO messages (topic, part, msg_offset, msg_key, headers, payload, created_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7)",
            {m.topic, int64_t{where.second}, it->second, m.key, encode_headers(m.headers),
             m.payload, now});
        if (!n) return fail(n.error());
        // As a consumer reading the row would see it (the headers' text
        // decodes to the headers it was made of).
        appended->try_emplace(where, Committed{.end = it->second, .messages = {}})
            .first->second.messages.push_back(Message{.topic = m.topic,
                                                      .partition = where.second,
                                                      .offset = it->second,
                                                      .key = m.key,
                                                      .headers = m.headers,
                                                      .payload = m.payload,
                                                      .timestamp_ms = now});
        ++it->second;
      }
      // Before the consumers wake: the callbacks run in this order.
      s.after_commit([this, appended] {
        for (auto& [where, committed] : *appended) {
          recent_.add(where, committed.end, std::move(committed.messages));
        }
      });
      return db_->notify(s, kAppendedChannel);
    });
    if (!st) {
      for (auto& r : results) {
        if (r) r = fail(st.error());
      }
    }
    maybe_purge(now);
    return results;
  }

  Result<std::unique_ptr<Subscription>> subscribe(SubscriptionOptions options) override {
    if (options.group.empty() || !options.handler || options.topics.empty()) {
      return fail(ErrorCode::kInvalidArgument,
                  "a subscription needs a group, at least one topic and a handler");
    }
    for (const auto& topic : options.topics) {
      auto exists = db_->transact([&](db::Session& s) { return partitions_of(s, topic); },
                                  {.read_only = true});
      if (!exists) return fail(exists.error());
    }
    {
      std::lock_guard lock(mu_);
      if (!active_groups_.insert(options.group).second) {
        return fail(ErrorCode::kFailedPrecondition,
                    "consumer group " + options.group + " already has a consumer in this process");
      }
    }
    auto listener = db_->listen(kAppendedChannel);
    if (!listener) {
      release_group(options.group);
      return fail(listener.error());
    }
    const std::string group = options.group;
    auto sub =
        std::make_unique<EmbeddedSubscription>(*this, std::move(options), std::move(*listener));
    if (auto st = sub->start(); !st) {
      release_group(group);
      return fail(st.error().with_context("consumer " + group + " cannot read its offsets"));
    }
    return std::unique_ptr<Subscription>(std::move(sub));
  }

  void release_group(const std::string& group) {
    std::lock_guard lock(mu_);
    active_groups_.erase(group);
  }

  db::Database& db() { return *db_; }
  RecentMessages& recent() { return recent_; }
  const EmbeddedLogOptions& options() const { return options_; }
  const Clock& clock() const { return clock_; }

  // The offset the next message published to the partition will get.
  static Result<int64_t> end_offset(db::Session& s, const PartitionKey& where) {
    auto rows = s.query(
        "SELECT COALESCE(MAX(msg_offset) + 1, 0) FROM messages WHERE topic = $1 AND part = $2",
        {where.first, int64_t{where.second}});
    if (!rows) return fail(rows.error());
    return (*rows)[0].get<int64_t>(0);
  }

  Result<int32_t> partitions_of(db::Session& s, const std::string& topic) {
    {
      std::lock_guard lock(mu_);
      if (auto it = partitions_.find(topic); it != partitions_.end()) return it->second;
    }
    auto rows = s.query("SELECT partitions FROM topics WHERE name = $1", {topic});
    if (!rows) return fail(rows.error());
    if (rows->empty()) {
      return fail(ErrorCode::kNotFound, "topic " + topic +
                                            " does not exist (topics are created by "
                                            "`seatflow topics` or `seatflow migrate`)");
    }
    const auto n = (*rows)[0].get<int32_t>(0);
    std::lock_guard lock(mu_);
    partitions_[topic] = n;
    return n;
  }

 private:
  void maybe_purge(int64_t now) {
    {
      std::lock_guard lock(mu_);
      if (now < next_purge_ms_) return;
      next_purge_ms_ = now + std::chrono::milliseconds(kPurgeEvery).count();
    }
    auto purged = db_->transact([&](db::Session& s) {
      return s.execute("DELETE FROM messages WHERE created_at < $1",
                       {now - options_.retention.count()});
    });
    if (!purged) log::warn("embedded log: purge failed: {}", purged.error().to_string());
  }

  const EmbeddedLogOptions options_;
  std::unique_ptr<db::Database> db_;
  const Clock& clock_;
  RecentMessages recent_;
  std::mutex mu_;
  std::map<std::string, int32_t, std::less<>> partitions_;  // guarded by mu_
  std::set<std::string> active_groups_;                     // guarded by mu_
  int64_t next_purge_ms_ = 0;                               // guarded by mu_
};

void EmbeddedSubscription::stop() {
  stop_.stop();
  listener_->interrupt();
  if (thread_.joinable()) {
    thread_.join();
    log_.release_group(options_.group);
  }
}

Status EmbeddedSubscription::load_positions() {
  // Where the group stands: its committed offsets; where none, the earliest
  // (0) or, with start_at_end, the end.
  std::set<PartitionKey> stored;  // partitions with a committed offset
  auto loaded = log_.db().transact(
      [&](db::Session& s) -> Status {
        for (const auto& topic : options_.topics) {
          auto partitions = log_.partitions_of(s, topic);
          if (!partitions) return fail(partitions.error());
          for (int32_t p = 0; p < *partitions; ++p) {
            int64_t start = 0;
            if (options_.start_at_end) {
              auto end = EmbeddedLog::end_offset(s, {topic, p});
              if (!end) return fail(end.error());
              start = *end;
            }
            positions_[{topic, p}] = start;
          }
        }
        auto rows =
            s.query("SELECT topic, part, next_offset FROM group_offsets WHERE group_name = $1",
                    {options_.group});
        if (!rows) return fail(rows.error());
        for (const auto& r : *rows) {
          const PartitionKey where{r.get<std::string>(0), r.get<int32_t>(1)};
          if (auto it = positions_.find(where); it != positions_.end()) {
            it->second = r.get<int64_t>(2);
            stored.insert(where);
          }
        }
        return ok();
      },
      {.read_only = true});
  if (!loaded) return fail(loaded.error());
  committed_ = positions_;
  if (options_.start_at_end) {
    // The end is where the group starts, once: the first commit stores it, so
    // that a member that comes back continues from there, not from a later end.
    for (const auto& [where, position] : positions_) {
      if (!stored.contains(where)) committed_[where] = -1;
    }
  }
  return ok();
}

void EmbeddedSubscription::run() {
  set_thread_name(consumer_thread_name("bus", options_.group));
  // The recent messages when an append of this process woke it (or it had
  // just found some); the file at first, after a wait that ended without an
  // append, and at least once a poll interval: the safety net for another
  // process's appends, which only the file shows.
  const auto poll = log_.options().poll_interval;
  bool woken = false;
  auto file_read = std::chrono::steady_clock::now();
  while (!stop_.stopped()) {
    bool any = false;
    const auto now = std::chrono::steady_clock::now();
    const bool recent = woken && now - file_read < poll;
    if (!recent) file_read = now;
    const bool running = consume_once(recent, any);
    if (auto st = commit(); !st) {
      log::warn("consumer {}: commit failed: {}", options_.group, st.error().to_string());
    }
    if (!running) break;
    woken = any || listener_->wait(poll);
  }
}

Status EmbeddedSubscription::read_partitions(
    const std::vector<PartitionKey>& partitions,
    std::vector<std::pair<PartitionKey, db::Rows>>& batches) {
  // One read transaction for all: a transaction per partition cost each
  // wake-up of each group as many transactions as the topics have
  // partitions, most of them finding nothing.
  return log_.db().transact(
      [&](db::Session& s) -> Status {
        batches.clear();
        for (const auto& where : partitions) {
          auto rows = s.query(
              "SELECT msg_offset, msg_key, headers, payload, created_at FROM messages "
              "WHERE topic = $1 AND part = $2 AND msg_offset >= $3 ORDER BY msg_offset LIMIT $4",
              {where.first, int64_t{where.second}, positions_.at(where),
               int64_t{log_.options().max_batch}});
          if (!rows) return fail(rows.error());
          batches.emplace_back(where, std::move(*rows));
        }
        return ok();
      },
      {.read_only = true});
}

bool EmbeddedSubscription::consume_once(bool recent, bool& any) {
  std::vector<Message> messages;
  std::vector<PartitionKey> unread;  // partitions the recent messages cannot answer for
  for (const auto& [where, position] : positions_) {
    if (!recent || !log_.recent().take(where, position,
                                       static_cast<size_t>(log_.options().max_batch), messages)) {
      unread.push_back(where);
    }
  }
  std::vector<std::pair<PartitionKey, db::Rows>> batches;
  auto read = unread.empty() ? Status(ok()) : read_partitions(unread, batches);
  if (!read) {
    log::warn("consumer {}: cannot read its partitions: {}", options_.group,
              read.error().to_string());
    return !stop_.sleep_for(log_.options().poll_interval);
  }
  for (const auto& [where, rows] : batches) {
    // Nothing past the position: the partition's end, as of this read.
    if (rows.empty()) log_.recent().note_end(where, positions_.at(where));
    for (const auto& row : rows) {
      Message& m = messages.emplace_back();
      m.topic = where.first;
      m.partition = where.second;
      m.offset = row.get<int64_t>(0);
      m.key = row.get<std::string>(1);
      m.headers = decode_headers(row.get<std::string>(2)).value_or(Headers{});
      m.payload = row.get<std::string>(3);
      m.timestamp_ms = row.get<int64_t>(4);
    }
  }
  any = !messages.empty();
  const size_t handled = handle_all_until_done(options_, messages, stop_);
  for (size_t i = 0; i < handled; ++i) {
    positions_[{messages[i].topic, messages[i].partition}] = messages[i].offset + 1;
  }
  return handled == messages.size();
}

Status EmbeddedSubscription::commit() {
  std::vector<std::pair<PartitionKey, int64_t>> moved;
  for (const auto& [where, position] : positions_) {
    if (committed_[where] != position) moved.emplace_back(where, position);
  }
  if (moved.empty()) return ok();
  const int64_t now = log_.clock().now_unix_ms();
  auto st = log_.db().transact([&](db::Session& s) -> Status {
    for (const auto& [where, position] : moved) {
      auto n = s.execute(
          "INSERT INTO group_offsets (group_name, topic, part, next_offset, updated_at) "
          "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (group_name, topic, part) "
          "DO UPDATE SET next_offset = excluded.next_offset, updated_at = excluded.updated_at",
          {options_.group, where.first, int64_t{where.second}, position, now});
      if (!n) return fail(n.error());
    }
    return ok();
  });
  if (st) {
    for (const auto& [where, position] : moved) committed_[where] = position;
  }
  return st;
}

}  // namespace

Result<std::unique_ptr<Bus>> open_embedded_log(const EmbeddedLogOptions& options,
                                               const Clock& clock) {
  auto db = db::open_sqlite(
      {.path = options.path, .synchronous = options.synchronous, .exclusive = options.exclusive});
  if (!db) return fail(db.error().with_context("cannot open the embedded log"));
  auto migrations = db::select_migrations(bus_log::migration_files(), db::Dialect::kSqlite);
  if (!migrations) return fail(migrations.error());
  db::Migrator migrator(**db, "bus", std::move(*migrations), clock);
  if (auto applied = migrator.migrate(); !applied) {
    return fail(applied.error().with_context("cannot migrate the embedded log " + options.path));
  }
  return std::unique_ptr<Bus>(std::make_unique<EmbeddedLog>(options, std::move(*db), clock));
}

}  // namespace seatflow::bus
