#include "bus/outbox.hpp"

#include <unistd.h>

#include <algorithm>
#include <map>
#include <set>
#include <thread>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include "bus/semconv.hpp"
#include "core/log.hpp"
#include "core/thread_name.hpp"
#include "trace/propagation.hpp"

namespace seatflow::messaging {
std::vector<db::MigrationFile> migration_files();
}
namespace seatflow::messaging_upgrades {
std::vector<db::MigrationFile> migration_files();
}

namespace seatflow::bus {

std::vector<db::MigrationFile> messaging_migration_files() { return messaging::migration_files(); }

namespace {
// n of "U<n>__...", 0 for any other name.
size_t upgrade_number(std::string_view name) {
  if (!name.starts_with('U')) return 0;
  size_t n = 0;
  size_t i = 1;
  for (; i < name.size() && name[i] >= '0' && name[i] <= '9'; ++i) {
    n = n * 10 + static_cast<size_t>(name[i] - '0');
  }
  return name.substr(i).starts_with("__") ? n : 0;
}
}  // namespace

std::vector<db::MigrationFile> messaging_upgrade_files(std::span<const int> versions) {
  std::vector<db::MigrationFile> files;
  for (auto& file : messaging_upgrades::migration_files()) {
    const size_t n = upgrade_number(file.name);
    if (n == 0 || n > versions.size()) continue;
    file.name = "V" + std::to_string(versions[n - 1]) + file.name.substr(file.name.find("__"));
    files.push_back(std::move(file));
  }
  return files;
}

size_t messaging_upgrade_count() {
  size_t count = 0;
  for (const auto& file : messaging_upgrades::migration_files()) {
    count = std::max(count, upgrade_number(file.name));
  }
  return count;
}

std::vector<db::MigrationFile> service_migration_files(std::vector<db::MigrationFile> own,
                                                       std::span<const int> upgrade_versions) {
  std::vector<db::MigrationFile> files = messaging_migration_files();
  for (auto& f : own) files.push_back(std::move(f));
  for (auto& f : messaging_upgrade_files(upgrade_versions)) files.push_back(std::move(f));
  return files;
}

std::vector<db::MigrationFile> standalone_messaging_migration_files() {
  std::vector<int> versions(messaging_upgrade_count());
  for (size_t i = 0; i < versions.size(); ++i) versions[i] = static_cast<int>(i) + 3;
  return service_migration_files({}, versions);
}

Outbox::Outbox(db::Database& db, std::string_view system, const trace::Tracer& tracer,
               const Clock& clock)
    : db_(db), tracer_(tracer), clock_(clock), system_(system), ids_(clock) {}

Result<std::string> Outbox::add(db::Session& session, const OutboxMessage& message) {
  if (!valid_topic_name(message.topic)) {
    return fail(ErrorCode::kInvalidArgument, "invalid topic name '" + message.topic + "'");
  }
  std::string id = ids_.next().to_string();
  trace::Span span = tracer_.start_span(std::string("create ") + message.topic,
                                        {.kind = trace::SpanKind::kProducer});
  set_messaging_attributes(span, system_, kOperationCreate, message.topic);
  span.set_attribute(kMessageIdAttr, id);
  span.set_attribute(kMessageKeyAttr, message.key);
  // Sent with the transaction's next statement or its COMMIT (see
  // Session::execute_deferred): the insert's error fails that instead.
  auto n = session.execute_deferred(
      "INSERT INTO outbox (id, lane, topic, msg_key, msg_type, headers, payload, traceparent, "
      "created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
      {id, int64_t{partition_for(message.key, kOutboxLanes)}, message.topic, message.key,
       message.type, encode_headers(message.headers), message.payload,
       trace::to_text(span.context()), clock_.now_unix_ms()});
  if (!n) {
    span.set_status(trace::StatusCode::kError, n.error().message());
    return fail(n.error());
  }
  if (auto st = db_.notify(session, kOutboxChannel); !st) return fail(st.error());
  return id;
}

std::string default_relay_owner() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  return std::string(host) + "/" + std::to_string(getpid());
}

struct OutboxRelay::Metrics {
  explicit Metrics(prometheus::Registry& r, const std::string& service)
      : published(prometheus::BuildCounter()
                      .Name("seatflow_outbox_published_total")
                      .Help("Outbox messages acknowledged by the bus (and deleted from the outbox)")
                      .Register(r)
                      .Add({{"service", service}})),
        failed(prometheus::BuildCounter()
                   .Name("seatflow_outbox_publish_failures_total")
                   .Help("Outbox messages the bus refused or did not acknowledge (retried)")
                   .Register(r)
                   .Add({{"service", service}})),
        backlog(prometheus::BuildGauge()
                    .Name("seatflow_outbox_backlog")
                    .Help("Outbox messages not yet published (sampled every few seconds)")
                    .Register(r)
                    .Add({{"service", service}})),
        oldest_age(prometheus::BuildGauge()
                       .Name("seatflow_outbox_oldest_age_seconds")
                       .Help("Age of the oldest outbox message not yet published: the relay's lag")
                       .Register(r)
                       .Add({{"service", service}})) {}
  prometheus::Counter& published;
  prometheus::Counter& failed;
  prometheus::Gauge& backlog;
  prometheus::Gauge& oldest_age;
};

namespace {
constexpr int64_t kSampleEveryMs = 5000;
}  // namespace

void OutboxRelay::sample_backlog() {
  const int64_t now = clock_.now_unix_ms();
  if (!metrics_ || now < next_sample_ms_) return;
  next_sample_ms_ = now + kSampleEveryMs;
  auto rows = db_.transact(
      [&](db::Session& s) { return s.query("SELECT COUNT(*), MIN(created_at) FROM outbox"); },
      {.read_only = true});
  if (!rows || rows->empty()) return;
  const auto& r = (*rows)[0];
  metrics_->backlog.Set(static_cast<double>(r.get<int64_t>(0)));
  const auto oldest = r.get<std::optional<int64_t>>(1);
  metrics_->oldest_age.Set(
      oldest ? static_cast<double>(std::max<int64_t>(0, now - *oldest)) / 1000.0 : 0.0);
}

struct OutboxRelay::Row {
  int64_t seq = 0;
  std::string id;
  OutgoingMessage message;
  std::string type;
  std::optional<std::string> traceparent;
  int64_t attempts = 0;
  int64_t lane = 0;
};

OutboxRelay::OutboxRelay(std::string service, db::Database& db, Publisher& publisher,
                         std::string_view system, const trace::Tracer& tracer, const Clock& clock,
                         RelayOptions options, metrics::Registry* registry)
    : service_(std::move(service)),
      db_(db),
      publisher_(publisher),
      system_(system),
      tracer_(tracer),
      clock_(clock),
      options_(std::move(options)) {
  if (registry != nullptr) metrics_ = std::make_unique<Metrics>(registry->prometheus(), service_);
}

OutboxRelay::~OutboxRelay() { stop(); }

Status OutboxRelay::start() {
  if (options_.owner.empty()) {
    return fail(ErrorCode::kInvalidArgument, "the outbox relay needs an owner name");
  }
  auto listener = db_.listen(kOutboxChannel);
  if (!listener) return fail(listener.error());
  listener_ = std::move(*listener);
  thread_ = std::thread([this] { run(); });
  return ok();
}

void OutboxRelay::stop() {
  stopping_ = true;
  if (listener_) listener_->interrupt();
  if (thread_.joinable()) thread_.join();
}

void OutboxRelay::run() {
  set_thread_name("outbox:" + service_);
  std::chrono::milliseconds backoff = options_.retry_backoff;
  while (!stopping_) {
    auto published = run_once();
    if (!published) {
      log::warn("{} outbox relay: {}; retrying in {} ms", service_, published.error().to_string(),
                backoff.count());
      listener_->wait(backoff);  // an interrupt (stop) ends the wait early
      backoff = std::min(backoff * 2, options_.max_retry_backoff);
      continue;
    }
    backoff = options_.retry_backoff;
    sample_backlog();
    // A full batch means there is probably more: go straight on.
    if (*published < static_cast<size_t>(options_.batch_size) &&
        listener_->wait(options_.poll_interval) && options_.linger.count() > 0 && !stopping_) {
      std::this_thread::sleep_for(options_.linger);
    }
  }
}

Result<std::vector<int64_t>> OutboxRelay::claim_lanes() {
  const int64_t now = clock_.now_unix_ms();
  // Between renewals nothing is written, with or without lanes: a relay
  // that holds none wakes with every committed row too, and claiming on each
  // of those would be a write per row for nothing.
  if (now < lanes_renew_ms_) return lanes_;
  const bool pg = db_.dialect() == db::Dialect::kPostgres;
  const std::string sql =
      std::string(
          "UPDATE outbox_lanes SET owner = $1, lease_until = $3 WHERE lane IN "
          "(SELECT lane FROM outbox_lanes WHERE owner = $1 OR lease_until < $2") +
      (pg ? " FOR UPDATE SKIP LOCKED" : "") + ") RETURNING lane";
  auto claimed = db_.transact([&](db::Session& s) -> Result<std::vector<int64_t>> {
    auto rows = s.query(sql, {options_.owner, now, now + options_.lease.count()});
    if (!rows) return fail(rows.error());
    std::vector<int64_t> lanes;
    for (const auto& r : *rows) lanes.push_back(r.get<int64_t>(0));
    std::sort(lanes.begin(), lanes.end());
    return lanes;
  });
  if (!claimed) return fail(claimed.error());
  if (*claimed != lanes_) {
    log::info("{} outbox relay {} holds {} of {} lanes", service_, options_.owner, claimed->size(),
              kOutboxLanes);
  }
  lanes_ = std::move(*claimed);
  // Renew a third into the lease; without lanes, look for expired ones more
  // often, so that a dead relay's lanes move soon after its lease ends.
  lanes_renew_ms_ = now + options_.lease.count() / (lanes_.empty() ? 10 : 3);
  return lanes_;
}

Result<std::vector<OutboxRelay::Row>> OutboxRelay::fetch(const std::vector<int64_t>& lanes) {
  std::string sql =
      "SELECT seq, id, topic, msg_key, msg_type, headers, payload, traceparent, attempts, lane "
      "FROM outbox";
  db::Params params;
  if (lanes.size() < static_cast<size_t>(kOutboxLanes)) {
    sql += " WHERE lane IN (";
    for (const int64_t lane : lanes) {
      if (!params.empty()) sql += ", ";
      params.emplace_back(lane);
      sql += "$" + std::to_string(params.size());
    }
    sql += ")";
  }
  params.emplace_back(int64_t{options_.batch_size});
  sql += " ORDER BY seq LIMIT $" + std::to_string(params.size());
  return db_.transact(
      [&](db::Session& s) -> Result<std::vector<Row>> {
        auto rows = s.query(sql, params);
        if (!rows) return fail(rows.error());
        std::vector<Row> out;
        out.reserve(rows->size());
        for (const auto& r : *rows) {
          Row row;
          row.seq = r.get<int64_t>(0);
          row.id = r.get<std::string>(1);
          row.message.topic = r.get<std::string>(2);
          row.message.key = r.get<std::string>(3);
          row.type = r.get<std::string>(4);
          row.message.headers = decode_headers(r.get<std::string>(5)).value_or(Headers{});
          row.message.payload = r.get<std::string>(6);
          row.traceparent = r.get<std::optional<std::string>>(7);
          row.attempts = r.get<int64_t>(8);
          row.lane = r.get<int64_t>(9);
          out.push_back(std::move(row));
        }
        return out;
      },
      {.read_only = true});
}

Result<size_t> OutboxRelay::run_once() {
  auto lanes = claim_lanes();
  if (!lanes) return fail(lanes.error());
  if (lanes->empty()) return size_t{0};
  auto rows = fetch(*lanes);
  if (!rows) return fail(rows.error());
  if (rows->empty()) return size_t{0};

  // One `send` span per message, child of the context stored with the row.
  std::vector<OutgoingMessage> messages;
  std::vector<trace::Span> spans;
  messages.reserve(rows->size());
  spans.reserve(rows->size());
  for (auto& row : *rows) {
    trace::StartOptions start{.kind = trace::SpanKind::kProducer, .root = true};
    if (row.traceparent) {
      if (auto parent = trace::from_text(*row.traceparent)) start.parent = *parent;
    }
    trace::Span span = tracer_.start_span("send " + row.message.topic, std::move(start));
    set_messaging_attributes(span, system_, kOperationSend, row.message.topic);
    span.set_attribute(kMessageIdAttr, row.id);
    span.set_attribute(kMessageKeyAttr, row.message.key);
    OutgoingMessage m = row.message;
    set_header(m.headers, kMessageIdHeader, row.id);
    set_header(m.headers, kMessageTypeHeader, row.type);
    trace::inject(span.context(), m.headers);
    messages.push_back(std::move(m));
    spans.push_back(std::move(span));
  }
  const std::vector<Status> results = publisher_.publish(messages);

  // Per key, only the rows before its first failure count as sent: the
  // others are published again after it, to keep the key's order.
  std::set<std::string_view> blocked;
  std::vector<const Row*> sent;
  std::vector<std::pair<const Row*, std::string>> failed;
  for (size_t i = 0; i < rows->size(); ++i) {
    const Row& row = (*rows)[i];
    if (!results[i]) {
      spans[i].set_status(trace::StatusCode::kError, results[i].error().message());
      failed.emplace_back(&row, results[i].error().to_string());
      blocked.insert(row.message.key);
    } else if (!blocked.contains(row.message.key)) {
      sent.push_back(&row);
    }
    spans[i].end();
  }
  if (options_.before_settle && !options_.before_settle()) {
    return fail(ErrorCode::kAborted, "pass abandoned before settling (fault injection)");
  }
  if (auto st = settle(sent, failed); !st) return fail(st.error());
  if (metrics_) {
    metrics_->published.Increment(static_cast<double>(sent.size()));
    metrics_->failed.Increment(static_cast<double>(failed.size()));
  }
  if (!failed.empty()) {
    return fail(ErrorCode::kUnavailable,
                std::to_string(failed.size()) +
                    " message(s) not acknowledged, first: " + failed.front().second);
  }
  return sent.size();
}

Status OutboxRelay::settle(const std::vector<const Row*>& sent,
                           const std::vector<std::pair<const Row*, std::string>>& failed) {
  const bool pg = db_.dialect() == db::Dialect::kPostgres;
  return db_.transact([&](db::Session& s) -> Status {
    // Fenced by the lease: rows of lanes this relay no longer holds stay
    // (their new holder publishes them). FOR SHARE keeps the lanes from
    // changing hands until this commits.
    auto held = s.query(
        std::string("SELECT lane FROM outbox_lanes WHERE owner = $1") + (pg ? " FOR SHARE" : ""),
        {options_.owner});
    if (!held) return fail(held.error());
    std::set<int64_t> lanes;
    for (const auto& r : *held) lanes.insert(r.get<int64_t>(0));
    std::vector<const Row*> done;
    for (const Row* row : sent) {
      if (lanes.contains(row->lane)) done.push_back(row);
    }
    if (pg) {
      // A BIGSERIAL is never given twice: the rows go by `seq`, many to a
      // statement.
      constexpr size_t kChunk = 500;
      for (size_t begin = 0; begin < done.size(); begin += kChunk) {
        const size_t end = std::min(done.size(), begin + kChunk);
        std::string sql = "DELETE FROM outbox WHERE seq IN (";
        db::Params params;
        for (size_t i = begin; i < end; ++i) {
          if (i > begin) sql += ", ";
          params.emplace_back(done[i]->seq);
          sql += "$" + std::to_string(params.size());
        }
        sql += ")";
        if (auto st = s.execute_deferred(sql, params); !st) return fail(st.error());
      }
    } else {
      // SQLite gives a new row the largest `seq` plus one, so a `seq` freed
      // by another relay's delete can come back on a new row: the id says
      // which row was published. One row a statement costs SQLite less than
      // an IN list, which it checks through a temporary b-tree.
      for (const Row* row : done) {
        if (auto st = s.execute_deferred("DELETE FROM outbox WHERE seq = $1 AND id = $2",
                                         {row->seq, row->id});
            !st) {
          return fail(st.error());
        }
      }
    }
    for (const auto& [row, error] : failed) {
      if (auto st = s.execute_deferred("UPDATE outbox SET attempts = attempts + 1, last_error = $3 "
                                       "WHERE seq = $1 AND id = $2",
                                       {row->seq, row->id, error});
          !st) {
        return fail(st.error());
      }
    }
    return ok();
  });
}

}  // namespace seatflow::bus
