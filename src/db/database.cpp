#include "db/database.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <string>

namespace seatflow::db {

std::string_view dialect_name(Dialect dialect) {
  return dialect == Dialect::kSqlite ? "sqlite" : "postgres";
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

Status Database::run_in_transaction(Session& session, std::string_view begin_sql,
                                    const std::function<Status(Session&)>& body) {
  if (auto st = session.execute_script(begin_sql); !st) {
    return fail(st.error().with_context("BEGIN failed"));
  }
  Status result;
  try {
    result = body(session);
  } catch (const RowAccessError& e) {
    result = fail(ErrorCode::kInternal, e.what());
  }
  if (result) {
    if (auto st = session.execute_script("COMMIT"); !st) {
      (void)session.execute_script("ROLLBACK");
      return fail(st.error().with_context("COMMIT failed"));
    }
    return ok();
  }
  (void)session.execute_script("ROLLBACK");
  return result;
}

Status Database::ping() {
  return run_transaction({.read_only = true}, [](Session& s) -> Status {
    auto rows = s.query("SELECT 1");
    if (!rows) return fail(rows.error());
    return ok();
  });
}

Result<int64_t> Session::execute(std::string_view sql, const Params& params) {
  auto rows = query(sql, params);
  if (!rows) return fail(rows.error());
  return rows->affected();
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
