#include "db/database.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>

#include "core/text.hpp"
#include "trace/span.hpp"

namespace seatflow::db {

std::string_view dialect_name(Dialect dialect) {
  return dialect == Dialect::kSqlite ? "sqlite" : "postgres";
}

std::string placeholder_list(size_t first, size_t count) {
  std::string out;
  for (size_t i = 0; i < count; ++i) {
    if (i > 0) out += ", ";
    out += "$" + std::to_string(first + i);
  }
  return out;
}

size_t highest_placeholder(std::string_view sql) {
  size_t highest = 0;
  size_t i = 0;
  const size_t n = sql.size();
  auto skip_until = [&](std::string_view end) {
    const size_t found = sql.find(end, i);
    i = found == std::string_view::npos ? n : found + end.size();
  };
  while (i < n) {
    const char c = sql[i];
    if (c == '\'') {
      ++i;
      skip_until("'");  // '' inside a literal is two literals back to back: same result
    } else if (c == '"') {
      ++i;
      skip_until("\"");
    } else if (c == '-' && i + 1 < n && sql[i + 1] == '-') {
      skip_until("\n");
    } else if (c == '/' && i + 1 < n && sql[i + 1] == '*') {
      i += 2;
      skip_until("*/");
    } else if (c == '$' && i + 1 < n && std::isdigit(static_cast<unsigned char>(sql[i + 1]))) {
      size_t number = 0;
      ++i;
      while (i < n && std::isdigit(static_cast<unsigned char>(sql[i]))) {
        number = number * 10 + static_cast<size_t>(sql[i] - '0');
        ++i;
      }
      highest = std::max(highest, number);
    } else if (c == '$') {
      // A dollar quote: $$...$$ or $tag$...$tag$.
      size_t close = i + 1;
      while (close < n &&
             (std::isalnum(static_cast<unsigned char>(sql[close])) || sql[close] == '_')) {
        ++close;
      }
      if (close < n && sql[close] == '$') {
        const std::string_view tag = sql.substr(i, close - i + 1);
        i = close + 1;
        skip_until(tag);
      } else {
        ++i;
      }
    } else {
      ++i;
    }
  }
  return highest;
}

void Database::attach(Session& session) const {
  session.tracer_ = tracer_;
  session.namespace_ = name_;
}

std::vector<std::function<void()>> Database::take_after_commit(Session& session) {
  auto callbacks = std::move(session.after_commit_);
  session.after_commit_.clear();
  return callbacks;
}

Status Database::run_body(Session& session, const std::function<Status(Session&)>& body) {
  session.failed_.reset();
  Status result;
  try {
    result = body(session);
  } catch (const RowAccessError& e) {
    return fail(ErrorCode::kInternal, e.what());
  }
  if (result && session.failed_) {
    return fail(session.failed_->with_context("a statement of the transaction failed"));
  }
  return result;
}

Status Database::run_in_transaction(Session& session, std::string_view begin_sql,
                                    const std::function<Status(Session&)>& body) const {
  attach(session);
  if (auto st = session.begin_transaction(begin_sql); !st) {
    return fail(st.error().with_context("BEGIN failed"));
  }
  Status result = run_body(session, body);
  if (result) {
    if (auto st = session.commit_transaction(); !st) {
      session.after_commit_.clear();
      (void)session.rollback_transaction();
      return fail(st.error().with_context("COMMIT failed"));
    }
    for (auto& fn : take_after_commit(session)) fn();
    return ok();
  }
  session.after_commit_.clear();
  (void)session.rollback_transaction();
  return result;
}

// In-process channels: a generation counter per channel, bumped by notify.
class LocalChannels {
 public:
  struct Channel {
    std::mutex mu;
    std::condition_variable cv;
    uint64_t generation = 0;  // guarded by mu
  };

  std::shared_ptr<Channel> channel(std::string_view name) {
    std::lock_guard lock(mu_);
    auto& slot = channels_[std::string(name)];
    if (!slot) slot = std::make_shared<Channel>();
    return slot;
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<Channel>, std::less<>> channels_;
};

namespace {

class LocalListener final : public Listener {
 public:
  explicit LocalListener(std::shared_ptr<LocalChannels::Channel> channel)
      : channel_(std::move(channel)) {
    std::lock_guard lock(channel_->mu);
    seen_ = channel_->generation;
  }

  bool wait(std::chrono::milliseconds timeout) override {
    std::unique_lock lock(channel_->mu);
    const bool woken = channel_->cv.wait_for(
        lock, timeout, [&] { return channel_->generation != seen_ || interrupted_; });
    seen_ = channel_->generation;
    interrupted_ = false;
    return woken;
  }

  void interrupt() override {
    std::lock_guard lock(channel_->mu);
    interrupted_ = true;
    channel_->cv.notify_all();
  }

 private:
  std::shared_ptr<LocalChannels::Channel> channel_;
  uint64_t seen_ = 0;         // guarded by channel_->mu
  bool interrupted_ = false;  // guarded by channel_->mu
};

}  // namespace

Database::Database() : local_(std::make_unique<LocalChannels>()) {}
Database::~Database() = default;

bool Database::valid_channel(std::string_view channel) {
  return !channel.empty() && channel.size() <= 48 &&
         std::all_of(channel.begin(), channel.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.';
         });
}

Status Database::notify(Session& session, std::string_view channel) {
  if (!valid_channel(channel)) {
    return fail(ErrorCode::kInvalidArgument,
                "invalid notification channel '" + std::string(channel) + "'");
  }
  session.after_commit([ch = local_->channel(channel)] {
    std::lock_guard lock(ch->mu);
    ++ch->generation;
    ch->cv.notify_all();
  });
  return ok();
}

Result<std::unique_ptr<Listener>> Database::listen(std::string_view channel) {
  if (!valid_channel(channel)) {
    return fail(ErrorCode::kInvalidArgument,
                "invalid notification channel '" + std::string(channel) + "'");
  }
  return std::unique_ptr<Listener>(std::make_unique<LocalListener>(local_->channel(channel)));
}

Status Database::ping() {
  return run_transaction({.read_only = true}, [](Session& s) -> Status {
    auto rows = s.query("SELECT 1");
    if (!rows) return fail(rows.error());
    return ok();
  });
}

namespace {

bool is_word_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.';
}

// The words of `sql` in order, skipping punctuation; enough to find the
// operation and its table without parsing SQL.
class Words {
 public:
  explicit Words(std::string_view sql) : sql_(sql) {}
  std::string_view next() {
    while (i_ < sql_.size() && !is_word_char(sql_[i_])) ++i_;
    const size_t start = i_;
    while (i_ < sql_.size() && is_word_char(sql_[i_])) ++i_;
    return sql_.substr(start, i_ - start);
  }

 private:
  std::string_view sql_;
  size_t i_ = 0;
};

// The operation ("SELECT") and the table it works on: the first word, and
// the word after FROM, INTO or UPDATE. Either may be empty.
std::pair<std::string, std::string> summarize(std::string_view sql) {
  Words words(sql);
  std::string operation(words.next());
  for (char& c : operation) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::string_view previous = operation;
  for (std::string_view w = operation; !w.empty(); w = words.next()) {
    if (iequals(previous, "FROM") || iequals(previous, "INTO") || iequals(previous, "UPDATE")) {
      return {operation, std::string(w)};
    }
    previous = w;
  }
  return {operation, ""};
}

}  // namespace

void Database::set_tracer(const trace::Tracer* tracer, std::string name) {
  tracer_ = tracer;
  name_ = std::move(name);
}

trace::Span Session::statement_span(std::string_view sql) const {
  // A statement's span has no children, so when it would not be recorded
  // there is nothing to propagate either: no span at all.
  const trace::SpanContext* parent =
      tracer_ != nullptr && tracer_->records() ? trace::current_context() : nullptr;
  if (parent == nullptr || !parent->sampled()) return {};
  auto [operation, table] = summarize(sql);
  trace::Span span = tracer_->start_span(table.empty() ? operation : operation + " " + table,
                                         {.kind = trace::SpanKind::kClient});
  span.set_attribute("db.system", dialect() == Dialect::kSqlite ? "sqlite" : "postgresql")
      .set_attribute("db.namespace", namespace_)
      .set_attribute("db.operation.name", operation)
      .set_attribute("db.query.text", sql);
  if (!table.empty()) span.set_attribute("db.collection.name", table);
  return span;
}

void Session::finish_span(trace::Span& span, const Status& outcome) {
  if (!outcome && span.recording()) {
    span.set_attribute("error.type", std::string(error_code_name(outcome.error().code())))
        .set_status(trace::StatusCode::kError, outcome.error().message());
  }
  span.end();
}

Result<Rows> Session::query(std::string_view sql, const Params& params) {
  trace::Span span = statement_span(sql);
  auto rows = run_query(sql, params);
  if (!rows) remember(rows.error());
  if (span.recording()) finish_span(span, rows ? ok() : Status(fail(rows.error())));
  return rows;
}

Result<int64_t> Session::execute(std::string_view sql, const Params& params) {
  auto rows = query(sql, params);
  if (!rows) return fail(rows.error());
  return rows->affected();
}

Status Session::execute_deferred(std::string_view sql, const Params& params) {
  Status outcome = run_deferred(sql, params, statement_span(sql));
  if (!outcome) remember(outcome.error());
  return outcome;
}

void Session::remember(const Error& error) {
  if (!failed_) failed_ = error;
}

Status Session::run_deferred(std::string_view sql, const Params& params, trace::Span&& span) {
  auto rows = run_query(sql, params);
  Status outcome = rows ? ok() : Status(fail(rows.error()));
  finish_span(span, outcome);
  return outcome;
}

const Value& Row::value(size_t column) const {
  if (column >= values_.size()) {
    throw RowAccessError("column index " + std::to_string(column) + " out of range (row has " +
                         std::to_string(values_.size()) + " columns)");
  }
  return values_[column];
}

size_t Row::index_of(std::string_view column_name) const {
  for (size_t i = 0; i < columns_->size(); ++i) {
    if ((*columns_)[i] == column_name) return i;
  }
  throw RowAccessError("no column named '" + std::string(column_name) + "' in the result");
}

void Row::mismatch(size_t column, std::string_view wanted) const {
  static constexpr const char* kNames[] = {"NULL", "integer", "double", "boolean", "text", "blob"};
  const std::string name = column < columns_->size() ? (*columns_)[column] : "?";
  throw RowAccessError("column " + std::to_string(column) + " (" + name + ") holds " +
                       kNames[value(column).index()] + ", read as " + std::string(wanted));
}

int64_t Row::as_int64(size_t column) const {
  const Value& v = value(column);
  if (const auto* i = std::get_if<int64_t>(&v)) return *i;
  if (const auto* b = std::get_if<bool>(&v)) return *b ? 1 : 0;
  if (const auto* s = std::get_if<std::string>(&v)) {
    // NUMERIC and other exact types arrive as text from PostgreSQL.
    int64_t out = 0;
    auto [ptr, ec] = std::from_chars(s->data(), s->data() + s->size(), out);
    if (ec == std::errc() && ptr == s->data() + s->size() && !s->empty()) return out;
  }
  mismatch(column, "integer");
}

double Row::as_double(size_t column) const {
  const Value& v = value(column);
  if (const auto* d = std::get_if<double>(&v)) return *d;
  if (const auto* i = std::get_if<int64_t>(&v)) return static_cast<double>(*i);
  mismatch(column, "double");
}

bool Row::as_bool(size_t column) const {
  const Value& v = value(column);
  if (const auto* b = std::get_if<bool>(&v)) return *b;
  if (const auto* i = std::get_if<int64_t>(&v)) {
    if (*i == 0 || *i == 1) return *i == 1;  // SQLite has no boolean type
  }
  mismatch(column, "boolean");
}

std::string Row::as_string(size_t column) const {
  const Value& v = value(column);
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  mismatch(column, "text");
}

Blob Row::as_blob(size_t column) const {
  const Value& v = value(column);
  if (const auto* b = std::get_if<Blob>(&v)) return *b;
  if (const auto* s = std::get_if<std::string>(&v)) {
    return Blob{std::vector<uint8_t>(s->begin(), s->end())};
  }
  mismatch(column, "blob");
}

}  // namespace seatflow::db
