#include "db/postgres_database.hpp"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include <libpq-fe.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/log.hpp"
#include "core/scheduler.hpp"
#include "core/text.hpp"
#include "trace/span.hpp"

namespace seatflow::db {
namespace {

// Type OIDs from the server's pg_type.h, which only the server dev package ships.
constexpr Oid kBoolOid = 16;
constexpr Oid kByteaOid = 17;
constexpr Oid kInt8Oid = 20;
constexpr Oid kInt2Oid = 21;
constexpr Oid kInt4Oid = 23;
constexpr Oid kOidOid = 26;
constexpr Oid kFloat4Oid = 700;
constexpr Oid kFloat8Oid = 701;

struct FinishConn {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};
struct ClearResult {
  void operator()(PGresult* res) const { PQclear(res); }
};
using ConnHandle = std::unique_ptr<PGconn, FinishConn>;
using ResultHandle = std::unique_ptr<PGresult, ClearResult>;

ErrorCode code_for_sqlstate(std::string_view state) {
  if (state == "23505") return ErrorCode::kAlreadyExists;
  if (state.starts_with("23")) return ErrorCode::kFailedPrecondition;  // integrity constraints
  if (state == "40001" || state == "40P01") return ErrorCode::kAborted;
  if (state == "25006") return ErrorCode::kFailedPrecondition;  // write in a read-only transaction
  if (state == "08P01") return ErrorCode::kInvalidArgument;     // e.g. wrong parameter count
  if (state == "57014") return ErrorCode::kDeadlineExceeded;    // statement timeout, cancel
  if (state.starts_with("08") || state.starts_with("57P") || state == "53300") {
    return ErrorCode::kUnavailable;
  }
  if (state.starts_with("22")) return ErrorCode::kInvalidArgument;  // data exceptions
  if (state.starts_with("53")) return ErrorCode::kResourceExhausted;
  return ErrorCode::kInternal;
}

std::string trim_message(const char* text) {
  std::string message = text != nullptr ? text : "";
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  return message;
}

Error result_error(PGconn* conn, const PGresult* res, std::string_view what) {
  const char* state = res != nullptr ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  std::string message(what);
  message += ": ";
  message += trim_message(res != nullptr ? PQresultErrorMessage(res) : PQerrorMessage(conn));
  if (state == nullptr) return Error(ErrorCode::kUnavailable, std::move(message));
  message += " (SQLSTATE ";
  message += state;
  message += ")";
  return Error(code_for_sqlstate(state), std::move(message));
}

// Server notices ("drop cascades to ...") go to the debug log, not stderr.
void log_notice(void* /*arg*/, const char* message) {
  log::debug("postgres: {}", trim_message(message));
}

Value column_value(PGresult* res, int row, int col) {
  if (PQgetisnull(res, row, col)) return Value(nullptr);
  const char* text = PQgetvalue(res, row, col);
  const auto length = static_cast<size_t>(PQgetlength(res, row, col));
  switch (PQftype(res, col)) {
    case kBoolOid: return Value(text[0] == 't');
    case kInt2Oid:
    case kInt4Oid:
    case kInt8Oid:
    case kOidOid: {
      int64_t v = 0;
      std::from_chars(text, text + length, v);
      return Value(v);
    }
    case kFloat4Oid:
    case kFloat8Oid: {
      double v = 0;
      std::from_chars(text, text + length, v);
      return Value(v);
    }
    case kByteaOid: {
      // Text output of bytea is "\x" followed by hex.
      Blob blob;
      if (length >= 2 && text[0] == '\\' && text[1] == 'x') {
        blob.bytes.reserve((length - 2) / 2);
        for (size_t i = 2; i + 1 < length; i += 2) {
          blob.bytes.push_back(
              static_cast<uint8_t>(hex_digit_value(text[i]) << 4 | hex_digit_value(text[i + 1])));
        }
      }
      return Value(std::move(blob));
    }
    default: return Value(std::string(text, length));
  }
}

// The statements prepared on one connection, by text and parameter types:
// the server parses and plans a statement once per connection, not on every
// execution. Prepared statements outlive a rolled-back transaction, so the
// cache is the connection's and goes with it. Past kMaxStatements (texts
// that vary, such as IN lists of every length), statements run unnamed.
class StatementCache {
 public:
  static constexpr size_t kMaxStatements = 512;

  // The name of `text` prepared for `types`, preparing it on first use; null
  // when the cache is full (run it unnamed).
  Result<const std::string*> prepare(PGconn* conn, const std::string& text,
                                     const std::vector<Oid>& types) {
    // The text, then a byte per parameter: bytea, or left to the server.
    std::string key;
    key.reserve(text.size() + 1 + types.size());
    key.append(text).push_back('\0');
    for (const Oid t : types) key.push_back(t == kByteaOid ? 'b' : '-');
    if (auto it = names_.find(key); it != names_.end()) return &it->second;
    if (names_.size() >= kMaxStatements) return nullptr;
    std::string name = "s" + std::to_string(names_.size());
    ResultHandle res(
        PQprepare(conn, name.c_str(), text.c_str(), static_cast<int>(types.size()), types.data()));
    if (res == nullptr || PQresultStatus(res.get()) != PGRES_COMMAND_OK) {
      return fail(result_error(conn, res.get(), "statement failed"));
    }
    return &names_.emplace(std::move(key), std::move(name)).first->second;
  }

 private:
  std::unordered_map<std::string, std::string> names_;
};

// A pooled connection and what was prepared on it.
struct PooledConn {
  ConnHandle conn;
  StatementCache statements;
};
using PooledHandle = std::unique_ptr<PooledConn>;

// A statement's parameters in libpq's text form (bytea in binary), owned.
// `values` points into `storage`, whose strings stay where they are when the
// struct is moved.
struct BoundParams {
  std::vector<std::string> storage;
  std::vector<const char*> values;
  std::vector<int> lengths;
  std::vector<int> formats;
  std::vector<Oid> types;
};

BoundParams bind_params(const Params& params) {
  const auto n = params.size();
  BoundParams b{.storage = std::vector<std::string>(n),
                .values = std::vector<const char*>(n, nullptr),
                .lengths = std::vector<int>(n, 0),
                .formats = std::vector<int>(n, 0),
                .types = std::vector<Oid>(n, 0)};
  for (size_t i = 0; i < n; ++i) {
    const Value& v = params[i];
    std::string& text = b.storage[i];
    if (std::holds_alternative<std::nullptr_t>(v)) continue;
    if (const auto* x = std::get_if<int64_t>(&v)) {
      text = std::to_string(*x);
    } else if (const auto* d = std::get_if<double>(&v)) {
      char buf[32];
      auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, *d);
      text.assign(buf, ptr);
    } else if (const auto* flag = std::get_if<bool>(&v)) {
      text = *flag ? "true" : "false";
    } else if (const auto* str = std::get_if<std::string>(&v)) {
      text = *str;
    } else if (const auto* blob = std::get_if<Blob>(&v)) {
      text.assign(blob->bytes.begin(), blob->bytes.end());
      b.formats[i] = 1;
      b.types[i] = kByteaOid;
    }
    b.values[i] = text.data();
    b.lengths[i] = static_cast<int>(text.size());
  }
  return b;
}

bool result_ok(const PGresult* res) {
  const auto status = res != nullptr ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  return status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK;
}

class PgSession final : public Session {
 public:
  // With `statements`, statements are prepared once per connection.
  explicit PgSession(PGconn* conn, StatementCache* statements = nullptr)
      : conn_(conn), statements_(statements) {}

  Dialect dialect() const override { return Dialect::kPostgres; }

  Result<Rows> run_query(std::string_view sql, const Params& params) override {
    auto text = checked_text(sql, params);
    if (!text) return fail(text.error());
    const BoundParams bound = bind_params(params);
    auto name = prepare(*text, bound);
    if (!name) return fail(name.error());
    const Statement statement = statement_of(*text, *name, bound);
    auto sent = begin_.empty() && deferred_.empty() ? ResultHandle(exec(statement))
                                                    : pipeline(&statement, {});
    if (!sent) return fail(sent.error());
    ResultHandle res = std::move(*sent);
    if (!result_ok(res.get())) return fail(result_error(conn_, res.get(), "statement failed"));
    const int ncols = PQnfields(res.get());
    auto columns = std::make_shared<std::vector<std::string>>();
    columns->reserve(static_cast<size_t>(ncols));
    for (int c = 0; c < ncols; ++c) columns->emplace_back(PQfname(res.get(), c));
    const int nrows = PQntuples(res.get());
    std::vector<Row> rows;
    rows.reserve(static_cast<size_t>(nrows));
    for (int r = 0; r < nrows; ++r) {
      std::vector<Value> vals;
      vals.reserve(static_cast<size_t>(ncols));
      for (int c = 0; c < ncols; ++c) vals.push_back(column_value(res.get(), r, c));
      rows.emplace_back(columns, std::move(vals));
    }
    int64_t affected = 0;
    const char* tuples = PQcmdTuples(res.get());
    const std::string_view tag = PQcmdStatus(res.get());
    if (!tag.starts_with("SELECT") && tuples != nullptr && tuples[0] != '\0') {
      std::from_chars(tuples, tuples + std::strlen(tuples), affected);
    }
    return Rows(std::move(columns), std::move(rows), affected);
  }

  Status execute_script(std::string_view sql) override {
    if (!begin_.empty() || !deferred_.empty()) {
      if (auto sent = pipeline(nullptr, {}); !sent) return fail(sent.error());
    }
    return run_script(sql);
  }

  // NOTIFY `channel` when the transaction commits, sent with the COMMIT.
  void notify_at_commit(std::string channel) {
    if (std::find(notifications_.begin(), notifications_.end(), channel) == notifications_.end()) {
      notifications_.push_back(std::move(channel));
    }
  }

 protected:
  // Inside a transaction the statement waits for the next one that needs an
  // answer, or for the COMMIT, and goes out in the same round trip.
  Status run_deferred(std::string_view sql, const Params& params, trace::Span&& span) override {
    if (!in_transaction_) return Session::run_deferred(sql, params, std::move(span));
    auto text = checked_text(sql, params);
    BoundParams bound = bind_params(params);
    Result<const std::string*> name = text ? prepare(*text, bound) : fail(text.error());
    if (!name) {
      Status refused = fail(name.error());
      finish_span(span, refused);
      return refused;
    }
    deferred_.push_back(Deferred{.text = std::move(*text),
                                 .name = *name,
                                 .params = std::move(bound),
                                 .span = std::move(span)});
    return ok();
  }

  // BEGIN waits for the transaction's first statement and travels with it;
  // a transaction that runs no statement costs no round trip at all.
  Status begin_transaction(std::string_view sql) override {
    begin_ = sql;
    in_transaction_ = true;
    notifications_.clear();
    deferred_.clear();
    return ok();
  }

  // The deferred statements, the NOTIFYs and the COMMIT go in one round trip.
  Status commit_transaction() override {
    in_transaction_ = false;
    if (deferred_.empty() && !begin_.empty()) {
      // Nothing ran: no transaction to commit, only the NOTIFYs to send.
      begin_.clear();
      if (notifications_.empty()) return ok();
    } else {
      std::vector<std::string> tail;
      for (const auto& channel : notifications_) tail.push_back("NOTIFY \"" + channel + "\"");
      tail.emplace_back("COMMIT");
      notifications_.clear();
      auto sent = pipeline(nullptr, tail);
      if (!sent) return fail(sent.error());
      return ok();
    }
    std::string script;
    for (const auto& channel : notifications_) script += "NOTIFY \"" + channel + "\"; ";
    notifications_.clear();
    return run_script(script);
  }

  Status rollback_transaction() override {
    in_transaction_ = false;
    notifications_.clear();
    deferred_.clear();  // never sent: their spans end as they go
    if (!begin_.empty()) {
      begin_.clear();
      return ok();
    }
    return run_script("ROLLBACK");
  }

 private:
  struct Statement {
    const std::string* name;  // prepared; else `text` is sent with its parameters
    const std::string& text;
    int count;
    const Oid* types;
    const char* const* values;
    const int* lengths;
    const int* formats;
  };

  // A statement held back until the next round trip.
  struct Deferred {
    std::string text;
    const std::string* name;  // in statements_, which outlives the session
    BoundParams params;
    trace::Span span;
  };

  // `sql` as text, if its placeholders match `params`: the server cannot type
  // a parameter the statement never uses, so an extra value would surface as
  // an obscure type error; count them here.
  static Result<std::string> checked_text(std::string_view sql, const Params& params) {
    const size_t used = highest_placeholder(sql);
    if (used != params.size()) {
      return fail(ErrorCode::kInvalidArgument, "statement uses " + std::to_string(used) +
                                                   " parameters but " +
                                                   std::to_string(params.size()) + " were given");
    }
    return std::string(sql);
  }

  // The prepared statement's name; null to send the text (no cache, or full).
  Result<const std::string*> prepare(const std::string& text, const BoundParams& bound) {
    if (statements_ == nullptr) return nullptr;
    return statements_->prepare(conn_, text, bound.types);
  }

  static Statement statement_of(const std::string& text, const std::string* name,
                                const BoundParams& bound) {
    return Statement{.name = name,
                     .text = text,
                     .count = static_cast<int>(bound.values.size()),
                     .types = bound.types.data(),
                     .values = bound.values.data(),
                     .lengths = bound.lengths.data(),
                     .formats = bound.formats.data()};
  }

  PGresult* exec(const Statement& s) {
    return s.name != nullptr
               ? PQexecPrepared(conn_, s.name->c_str(), s.count, s.values, s.lengths, s.formats, 0)
               : PQexecParams(conn_, s.text.c_str(), s.count, s.types, s.values, s.lengths,
                              s.formats, 0);
  }

  bool send(const Statement& s) {
    return (s.name != nullptr ? PQsendQueryPrepared(conn_, s.name->c_str(), s.count, s.values,
                                                    s.lengths, s.formats, 0)
                              : PQsendQueryParams(conn_, s.text.c_str(), s.count, s.types, s.values,
                                                  s.lengths, s.formats, 0)) == 1;
  }

  bool send_text(const std::string& sql) {
    return PQsendQueryParams(conn_, sql.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0) == 1;
  }

  // One query's result, and the end-of-query marker behind it.
  ResultHandle next_result() {
    ResultHandle result(PQgetResult(conn_));
    if (result != nullptr && PQresultStatus(result.get()) != PGRES_PIPELINE_SYNC) {
      while (PGresult* extra = PQgetResult(conn_)) PQclear(extra);
    }
    return result;
  }

  // Sends in one round trip (libpq's pipeline mode) the BEGIN not sent yet,
  // the deferred statements, `last` (if any) and `tail` (statements without
  // parameters: NOTIFY, COMMIT), in that order. Returns `last`'s result
  // (null without one), or the first error among the others: after an
  // error the server skips the rest up to the end of the pipeline, and the
  // transaction is left for the caller to roll back. Each deferred
  // statement's span gets its own outcome.
  Result<ResultHandle> pipeline(const Statement* last, const std::vector<std::string>& tail) {
    const std::string begin = std::exchange(begin_, {});
    std::vector<Deferred> deferred = std::exchange(deferred_, {});
    if (PQenterPipelineMode(conn_) != 1) {  // only when the connection is busy: unusable
      return fail(ErrorCode::kUnavailable, "PostgreSQL connection cannot enter pipeline mode: " +
                                               trim_message(PQerrorMessage(conn_)));
    }
    bool sent = begin.empty() || send_text(begin);
    for (const auto& d : deferred) sent = sent && send(statement_of(d.text, d.name, d.params));
    if (last != nullptr) sent = sent && send(*last);
    for (const auto& sql : tail) sent = sent && send_text(sql);
    sent = sent && PQpipelineSync(conn_) == 1;
    std::optional<Error> error;
    ResultHandle result;
    if (sent) {
      // Keeps the first error; a statement the server skipped after it
      // reports that error too.
      auto check = [&](const PGresult* res, std::string_view what) -> Status {
        if (result_ok(res)) return ok();
        if (error) return fail(*error);
        error = result_error(conn_, res, what);
        return fail(*error);
      };
      if (!begin.empty()) (void)check(next_result().get(), "BEGIN failed");
      for (auto& d : deferred) {
        const Status outcome = check(next_result().get(), "statement failed");
        finish_span(d.span, outcome);
      }
      if (last != nullptr) result = next_result();
      for (size_t i = 0; i < tail.size(); ++i) (void)check(next_result().get(), "statement failed");
      ResultHandle sync = next_result();
    } else {
      // Nothing may have reached the server: never report a commit.
      error = Error(ErrorCode::kUnavailable,
                    "cannot send to PostgreSQL: " + trim_message(PQerrorMessage(conn_)));
    }
    if (PQexitPipelineMode(conn_) != 1) {
      // Results left over: the connection is not fit to go back to the pool.
      return fail(ErrorCode::kUnavailable,
                  "PostgreSQL pipeline did not complete: " + trim_message(PQerrorMessage(conn_)));
    }
    if (error) return fail(*error);
    return result;
  }

  Status run_script(std::string_view sql) {
    const std::string text(sql);
    ResultHandle res(PQexec(conn_, text.c_str()));
    const auto status = res != nullptr ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK && status != PGRES_EMPTY_QUERY) {
      return fail(result_error(conn_, res.get(), "script failed"));
    }
    return ok();
  }

  PGconn* conn_;
  StatementCache* statements_;
  bool in_transaction_ = false;
  std::string begin_;  // a BEGIN not sent yet
  std::vector<Deferred> deferred_;
  std::vector<std::string> notifications_;
};

// A dedicated connection that LISTENs on one channel. An eventfd wakes it
// for interrupt(). A broken connection is re-opened on the next wait, which
// then reports a (possibly spurious) wake-up so that nothing is missed.
class PgListener final : public Listener {
 public:
  using Connect = std::function<Result<ConnHandle>()>;

  PgListener(Connect connect, std::string channel)
      : connect_(std::move(connect)),
        channel_(std::move(channel)),
        wake_fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}
  ~PgListener() override {
    if (wake_fd_ >= 0) close(wake_fd_);
  }
  PgListener(const PgListener&) = delete;
  PgListener& operator=(const PgListener&) = delete;

  Status start() {
    if (wake_fd_ < 0) return fail(ErrorCode::kInternal, "cannot create an eventfd");
    auto conn = connect_();
    if (!conn) return fail(conn.error());
    PgSession session(conn->get());
    if (auto st = session.execute_script("LISTEN \"" + channel_ + "\""); !st) return st;
    conn_ = std::move(*conn);
    return ok();
  }

  bool wait(std::chrono::milliseconds timeout) override {
    if (conn_ == nullptr || PQstatus(conn_.get()) != CONNECTION_OK) {
      conn_.reset();
      if (!start()) {
        sleep_or_interrupt(timeout);
        return true;
      }
      return true;  // notifications may have been missed while it was down
    }
    if (drain()) return true;
    pollfd fds[2] = {{PQsocket(conn_.get()), POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    const int n = poll(fds, 2, static_cast<int>(timeout.count()));
    if (n <= 0) return false;
    if ((fds[1].revents & POLLIN) != 0) {
      uint64_t value = 0;
      (void)read(wake_fd_, &value, sizeof value);
      return true;
    }
    if (PQconsumeInput(conn_.get()) == 0) {
      conn_.reset();
      return true;
    }
    drain();
    return true;  // input without a notification counts as a spurious wake-up
  }

  void interrupt() override {
    const uint64_t one = 1;
    (void)write(wake_fd_, &one, sizeof one);
  }

 private:
  // True when notifications had arrived; consumes them.
  bool drain() {
    bool any = false;
    while (PGnotify* n = PQnotifies(conn_.get())) {
      PQfreemem(n);
      any = true;
    }
    return any;
  }

  void sleep_or_interrupt(std::chrono::milliseconds timeout) {
    pollfd fd = {wake_fd_, POLLIN, 0};
    if (poll(&fd, 1, static_cast<int>(timeout.count())) > 0) {
      uint64_t value = 0;
      (void)read(wake_fd_, &value, sizeof value);
    }
  }

  Connect connect_;
  const std::string channel_;
  const int wake_fd_;
  ConnHandle conn_;
};

// Sends a process's NOTIFYs on a channel at most once per `interval`
// (PostgresOptions::notify_interval). Each NOTIFY committed signals every
// backend listening in the database, and each of those wakes its client:
// under load, a relay lingering over the rows of one wake-up was woken
// again for every row committed meanwhile, for nothing.
//
// The first transaction of an interval carries its NOTIFY (lead() is true).
// One that does not calls follow() once it has committed, and a NOTIFY of
// its own goes out when the interval ends, after that commit: a commit is
// announced late, by at most the interval, but always announced.
class NotifyCoalescer {
 public:
  using Send = std::function<Status(const std::string& channel)>;

  NotifyCoalescer(std::chrono::milliseconds interval, Send send)
      : interval_(interval), send_(std::move(send)) {}
  // No more retries; the scheduler then sends what is pending, once.
  ~NotifyCoalescer() { stopping_ = true; }
  NotifyCoalescer(const NotifyCoalescer&) = delete;
  NotifyCoalescer& operator=(const NotifyCoalescer&) = delete;

  // True when the caller's transaction is to send the NOTIFY itself.
  bool lead(const std::string& channel) {
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(mu_);
    Channel& c = channels_[channel];
    if (c.pending || now - c.sent < interval_) return false;
    c.sent = now;
    return true;
  }

  // A transaction that did not lead has committed.
  void follow(const std::string& channel) {
    std::chrono::steady_clock::time_point due;
    {
      std::lock_guard lock(mu_);
      Channel& c = channels_[channel];
      if (c.pending) return;  // that NOTIFY is yet to be sent: after this commit
      c.pending = true;
      due = c.sent + interval_;
    }
    announce_at(due, channel);
  }

 private:
  struct Channel {
    std::chrono::steady_clock::time_point sent;  // the last NOTIFY, led or sent here
    bool pending = false;                        // a commit awaits its NOTIFY
  };

  void announce_at(std::chrono::steady_clock::time_point due, const std::string& channel) {
    const auto delay =
        std::chrono::ceil<std::chrono::milliseconds>(due - std::chrono::steady_clock::now());
    scheduler_.schedule(std::max(delay, std::chrono::milliseconds(0)),
                        [this, channel] { announce(channel); });
  }

  void announce(const std::string& channel) {
    {
      std::lock_guard lock(mu_);
      Channel& c = channels_[channel];
      c.pending = false;  // a commit from here on asks again
      c.sent = std::chrono::steady_clock::now();
    }
    Status sent = send_(channel);
    std::unique_lock lock(mu_);
    const bool said = failing_;
    failing_ = !sent;
    if (sent || stopping_) return;
    // Tried again a second later (the listeners poll meanwhile); said once.
    if (!said) log::warn("cannot send NOTIFY {}: {}", channel, sent.error().to_string());
    Channel& c = channels_[channel];
    c.pending = true;
    const auto due = std::chrono::steady_clock::now() + kRetryAfter;
    c.sent = due - interval_;  // as if sent an interval before the retry
    lock.unlock();
    announce_at(due, channel);
  }

  static constexpr std::chrono::seconds kRetryAfter{1};

  const std::chrono::milliseconds interval_;
  const Send send_;
  std::mutex mu_;
  std::unordered_map<std::string, Channel> channels_;  // guarded by mu_
  bool failing_ = false;                               // guarded by mu_
  std::atomic<bool> stopping_{false};
  Scheduler scheduler_;  // last: its thread, which runs announce(), stops first
};

class PostgresDatabase final : public Database {
 public:
  explicit PostgresDatabase(PostgresOptions options) : options_(std::move(options)) {}

  Dialect dialect() const override { return Dialect::kPostgres; }

  // Connects once, to fail fast on a bad connection string, and creates the schema.
  Status open() {
    auto conn = connect(false);
    if (!conn) return fail(conn.error());
    if (!options_.schema.empty()) {
      PgSession session((*conn)->conn.get());
      if (auto st =
              session.execute_script("CREATE SCHEMA IF NOT EXISTS \"" + options_.schema + "\"");
          !st) {
        // Another process may create it at the same moment; that is fine.
        if (st.error().code() != ErrorCode::kAlreadyExists) return st;
      }
    }
    release(std::move(*conn));
    if (options_.notify_interval.count() > 0) {
      coalescer_ = std::make_unique<NotifyCoalescer>(
          options_.notify_interval,
          [this](const std::string& channel) { return send_notify(channel); });
    }
    return ok();
  }

  Status run_transaction(const TransactionOptions& options,
                         const std::function<Status(Session&)>& body) override {
    auto conn = acquire();
    if (!conn) return fail(conn.error());
    PgSession session((*conn)->conn.get(), &(*conn)->statements);
    std::string begin = "BEGIN ISOLATION LEVEL ";
    switch (options.isolation) {
      case Isolation::kReadCommitted: begin += "READ COMMITTED"; break;
      case Isolation::kRepeatableRead: begin += "REPEATABLE READ"; break;
      case Isolation::kSerializable: begin += "SERIALIZABLE"; break;
    }
    if (options.read_only) begin += " READ ONLY";
    Status result = run_in_transaction(session, begin, body);
    release(std::move(*conn));
    return result;
  }

  Status notify(Session& session, std::string_view channel) override {
    auto* pg = dynamic_cast<PgSession*>(&session);
    if (!valid_channel(channel) || pg == nullptr) return Database::notify(session, channel);
    std::string name = qualified(channel);
    if (coalescer_ == nullptr || coalescer_->lead(name)) {
      pg->notify_at_commit(std::move(name));
      return ok();
    }
    session.after_commit(
        [coalescer = coalescer_.get(), name = std::move(name)] { coalescer->follow(name); });
    return ok();
  }

  Result<std::unique_ptr<Listener>> listen(std::string_view channel) override {
    if (!valid_channel(channel)) return Database::listen(channel);
    auto listener = std::make_unique<PgListener>(
        [this]() -> Result<ConnHandle> {
          auto pooled = connect(false);
          if (!pooled) return fail(pooled.error());
          return std::move((*pooled)->conn);
        },
        qualified(channel));
    if (auto st = listener->start(); !st) return fail(st.error());
    return std::unique_ptr<Listener>(std::move(listener));
  }

 private:
  Result<PooledHandle> connect(bool count_in_pool) {
    const std::string timeout =
        std::to_string(std::max<int64_t>(1, options_.connect_timeout.count() / 1000));
    const char* keywords[] = {"dbname", "connect_timeout", "application_name", nullptr};
    const char* values[] = {options_.conninfo.c_str(), timeout.c_str(),
                            options_.application_name.c_str(), nullptr};
    ConnHandle conn(PQconnectdbParams(keywords, values, 1));
    if (conn != nullptr) PQsetNoticeProcessor(conn.get(), &log_notice, nullptr);
    if (conn == nullptr || PQstatus(conn.get()) != CONNECTION_OK) {
      if (count_in_pool) forget_connection();
      return fail(ErrorCode::kUnavailable,
                  "cannot connect to PostgreSQL: " + trim_message(PQerrorMessage(conn.get())));
    }
    std::string setup = "SET TIME ZONE 'UTC'";
    if (!options_.schema.empty()) setup += "; SET search_path TO \"" + options_.schema + "\"";
    PgSession session(conn.get());
    if (auto st = session.execute_script(setup); !st) {
      if (count_in_pool) forget_connection();
      return fail(st.error().with_context("cannot set up PostgreSQL connection"));
    }
    return std::make_unique<PooledConn>(PooledConn{.conn = std::move(conn), .statements = {}});
  }

  Result<PooledHandle> acquire() {
    {
      std::unique_lock lock(mu_);
      const bool available = cv_.wait_for(lock, options_.acquire_timeout, [&] {
        return !idle_.empty() || open_ < options_.pool_size;
      });
      if (!available) {
        return fail(ErrorCode::kUnavailable, "no PostgreSQL connection free after " +
                                                 std::to_string(options_.acquire_timeout.count()) +
                                                 " ms (pool of " +
                                                 std::to_string(options_.pool_size) + ")");
      }
      if (!idle_.empty()) {
        PooledHandle conn = std::move(idle_.back());
        idle_.pop_back();
        return conn;
      }
      ++open_;
    }
    return connect(true);
  }

  void release(PooledHandle conn) {
    PGconn* pg = conn->conn.get();
    const bool healthy = PQstatus(pg) == CONNECTION_OK && PQtransactionStatus(pg) == PQTRANS_IDLE &&
                         PQpipelineStatus(pg) == PQ_PIPELINE_OFF;
    std::lock_guard lock(mu_);
    if (healthy) {
      idle_.push_back(std::move(conn));
    } else {
      --open_;
    }
    cv_.notify_one();
  }

  void forget_connection() {
    std::lock_guard lock(mu_);
    --open_;
    cv_.notify_one();
  }

  // A NOTIFY of its own, for the coalescer's thread alone: on a connection
  // of its own, so that it never waits for the pool.
  Status send_notify(const std::string& channel) {
    if (notifier_ == nullptr || PQstatus(notifier_->conn.get()) != CONNECTION_OK) {
      auto conn = connect(false);
      if (!conn) return fail(conn.error());
      notifier_ = std::move(*conn);
    }
    PgSession session(notifier_->conn.get());
    return session.execute_script("NOTIFY \"" + channel + "\"");
  }

  // Channels are per database, so each is prefixed with the schema.
  std::string qualified(std::string_view channel) const {
    return options_.schema.empty() ? std::string(channel)
                                   : options_.schema + "." + std::string(channel);
  }

  const PostgresOptions options_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<PooledHandle> idle_;  // guarded by mu_
  int open_ = 0;                    // guarded by mu_; connections in use or idle
  PooledHandle notifier_;           // the coalescer's thread only
  // Null when every commit notifies. Last: its thread, which uses the
  // members above, stops first.
  std::unique_ptr<NotifyCoalescer> coalescer_;
};

}  // namespace

bool is_simple_identifier(std::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  if (!(name[0] == '_' || (name[0] >= 'a' && name[0] <= 'z'))) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
  });
}

Result<std::unique_ptr<Database>> open_postgres(const PostgresOptions& options) {
  if (!options.schema.empty() && !is_simple_identifier(options.schema)) {
    return fail(ErrorCode::kInvalidArgument,
                "schema name must match [a-z_][a-z0-9_]*, got '" + options.schema + "'");
  }
  if (options.pool_size < 1) {
    return fail(ErrorCode::kInvalidArgument, "PostgreSQL pool size must be at least 1");
  }
  auto db = std::make_unique<PostgresDatabase>(options);
  if (auto st = db->open(); !st) return fail(st.error());
  return std::unique_ptr<Database>(std::move(db));
}

}  // namespace seatflow::db
