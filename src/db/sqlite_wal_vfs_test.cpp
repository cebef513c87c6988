#include "db/sqlite_wal_vfs.hpp"

#include <sys/wait.h>
#include <unistd.h>
#include <csignal>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "db/sqlite_database.hpp"

namespace seatflow::db {
namespace {

namespace fs = std::filesystem;

class WalCoalescingVfs : public ::testing::Test {
 protected:
  static constexpr int kCheckpointPages = 500;

  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("wal-vfs-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = (dir_ / "test.db").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Checkpoints every 500 pages, more often than by default, so that the
  // tests' writes pass several.
  std::unique_ptr<Database> open() {
    auto db = open_sqlite({.path = path_, .checkpoint_pages = kCheckpointPages});
    EXPECT_TRUE(db.has_value()) << db.error().message();
    return std::move(*db);
  }

  // A database with the table t (id, payload) the tests write to.
  std::unique_ptr<Database> open_with_table() {
    auto db = open();
    auto created = db->run_transaction({}, [](Session& s) {
      return s.execute_script("CREATE TABLE t (id INTEGER PRIMARY KEY, payload TEXT NOT NULL)");
    });
    EXPECT_TRUE(created) << created.error().message();
    return db;
  }

  static void write(Database& db, int first, int count) {
    auto st = db.run_transaction({}, [&](Session& s) -> Status {
      for (int i = first; i < first + count; ++i) {
        // A row of about a kilobyte: a few rows fill a page.
        auto done = s.execute("INSERT INTO t (id, payload) VALUES ($1, $2)",
                              {int64_t{i}, std::string(1000, static_cast<char>('a' + i % 26))});
        if (!done) return fail(done.error());
      }
      return ok();
    });
    ASSERT_TRUE(st) << st.error().message();
  }

  void commits_survive_a_kill(bool exclusive);

  fs::path dir_;
  std::string path_;
};

// A plain connection through SQLite's default VFS, as another program would
// open the file.
struct PlainConnection {
  explicit PlainConnection(const std::string& path) {
    EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  }
  ~PlainConnection() { sqlite3_close_v2(db); }
  PlainConnection(const PlainConnection&) = delete;
  PlainConnection& operator=(const PlainConnection&) = delete;

  // `read` applied to the first row of `sql`.
  template <typename Read>
  auto first_row(const char* sql, Read read) const {
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    EXPECT_EQ(sqlite3_step(stmt), SQLITE_ROW) << sqlite3_errmsg(db);
    auto value = read(stmt);
    sqlite3_finalize(stmt);
    return value;
  }

  int64_t scalar(const char* sql) const {
    return first_row(sql, [](sqlite3_stmt* s) { return sqlite3_column_int64(s, 0); });
  }
  std::string text(const char* sql) const {
    return first_row(sql, [](sqlite3_stmt* s) {
      return std::string(reinterpret_cast<const char*>(sqlite3_column_text(s, 0)));
    });
  }

  sqlite3* db = nullptr;
};

TEST_F(WalCoalescingVfs, ACommitOfManyPagesIsOneWrite) {
  ASSERT_NE(wal_coalescing_vfs(), nullptr);
  auto db = open_with_table();
  const WalWriteCounts before = wal_write_counts();
  write(*db, 0, 40);  // ~40 KB: ten pages or more, each a header and a page
  const WalWriteCounts after = wal_write_counts();
  EXPECT_GE(after.requested - before.requested, 20U);
  EXPECT_EQ(after.issued - before.issued, 1U);
}

TEST_F(WalCoalescingVfs, ATransactionLargerThanOneWriteGoesOutInParts) {
  auto db = open_with_table();
  const WalWriteCounts before = wal_write_counts();
  write(*db, 0, 600);  // ~600 KB, far above what the unix VFS takes in one write
  const WalWriteCounts after = wal_write_counts();
  EXPECT_GT(after.issued - before.issued, 1U);
  EXPECT_LT(after.issued - before.issued, (after.requested - before.requested) / 4);
  PlainConnection other(path_);
  EXPECT_EQ(other.scalar("SELECT count(*) FROM t"), 600);
  EXPECT_EQ(other.text("PRAGMA integrity_check"), "ok");
}

TEST_F(WalCoalescingVfs, EveryCommitIsVisibleAtOnceToAnotherProgram) {
  auto db = open_with_table();
  PlainConnection other(path_);
  // Enough pages to pass the checkpoint (every 500 pages) and restart the
  // WAL from its beginning several times.
  int rows = 0;
  for (int commit = 0; commit < 400; ++commit) {
    const int count = 1 + commit % 13;
    write(*db, rows, count);
    rows += count;
    ASSERT_EQ(other.scalar("SELECT count(*) FROM t"), rows) << "after commit " << commit;
  }
  EXPECT_EQ(other.text("PRAGMA integrity_check"), "ok");
}

// The WAL's pages reach the database file while the database is open and
// the writer goes on: checkpoints run on a thread of their own.
TEST_F(WalCoalescingVfs, TheWalIsCheckpointedIntoTheDatabaseFileWhileOpen) {
  auto db = open_with_table();
  const auto file_size_before = fs::file_size(path_);
  write(*db, 0, 6000);  // ~6 MB: a commit of 1,500 pages and more, past the threshold
  // The file holds the rows once a checkpoint has copied them there.
  bool copied = false;
  for (int i = 0; i < 200 && !copied; ++i) {
    copied = fs::file_size(path_) >= file_size_before + 5'000'000;
    if (!copied) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(copied) << "database file: " << fs::file_size(path_) << " bytes";
  PlainConnection other(path_);
  EXPECT_EQ(other.scalar("SELECT count(*) FROM t"), 6000);
  EXPECT_EQ(other.text("PRAGMA integrity_check"), "ok");
}

// Under writes that never pause the WAL still starts over, instead of
// growing as long as they go on: each checkpoint of the thread leaves the
// frames written while it copied, and only a write that begins with none
// left starts the WAL over.
TEST_F(WalCoalescingVfs, TheWalStartsOverWhileWritesNeverPause) {
  constexpr int kRestartPages = 2'000;
  {
    auto db = open_sqlite(
        {.path = path_, .checkpoint_pages = kCheckpointPages, .wal_restart_pages = kRestartPages});
    ASSERT_TRUE(db.has_value()) << db.error().message();
    auto created = (*db)->run_transaction({}, [](Session& s) {
      return s.execute_script("CREATE TABLE t (id INTEGER PRIMARY KEY, payload TEXT NOT NULL)");
    });
    ASSERT_TRUE(created) << created.error().message();
    // A row a commit, back to back: some 20,000 frames of 2 KiB pages.
    for (int i = 0; i < 20'000; ++i) write(**db, i, 1);
    // The file is as long as the WAL ever was (it starts over in place): the
    // restart length, then what came while the writer waited for the
    // thread's checkpoint. That wait is the machine's: about twice the
    // restart length alone, and six times (24.8 MB) once while the rest of
    // the test suite ran beside it. The bound, ten times, is still under
    // half the 85 MB or so of a WAL that never started over.
    const auto wal_bytes = fs::file_size(path_ + "-wal");
    EXPECT_LT(wal_bytes, uintmax_t{10} * kRestartPages * (2048 + 24)) << wal_bytes << " bytes";
  }
  PlainConnection other(path_);
  EXPECT_EQ(other.scalar("SELECT count(*) FROM t"), 20'000);
  EXPECT_EQ(other.text("PRAGMA integrity_check"), "ok");
}

TEST_F(WalCoalescingVfs, AWalRestartLengthUnderOnePageIsRefused) {
  auto refused = open_sqlite({.path = path_, .wal_restart_pages = 0});
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_FALSE(fs::exists(path_));
}

TEST_F(WalCoalescingVfs, ACheckpointIntervalUnderOnePageIsRefused) {
  auto refused = open_sqlite({.path = path_, .checkpoint_pages = 0});
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_FALSE(fs::exists(path_));
}

// A file the adapter creates has its page size; one that exists keeps its
// own; a size SQLite cannot use is refused.
TEST_F(WalCoalescingVfs, ANewFileHasTheConfiguredPageSizeAndAnOldOneKeepsItsOwn) {
  { auto db = open_with_table(); }
  EXPECT_EQ(PlainConnection(path_).scalar("PRAGMA page_size"), SqliteOptions{}.page_size);

  const std::string old_path = (dir_ / "old.db").string();
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(old_path.c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw, "PRAGMA page_size=8192; CREATE TABLE t (id INTEGER PRIMARY KEY)",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(raw);
  {
    auto db = open_sqlite({.path = old_path, .page_size = 1024});
    ASSERT_TRUE(db.has_value()) << db.error().message();
    ASSERT_TRUE((*db)->run_transaction({}, [](Session& s) -> Status {
      auto inserted = s.execute("INSERT INTO t (id) VALUES (1)");
      return inserted ? ok() : fail(inserted.error());
    }));
  }
  EXPECT_EQ(PlainConnection(old_path).scalar("PRAGMA page_size"), 8192);

  auto refused = open_sqlite({.path = (dir_ / "odd.db").string(), .page_size = 3000});
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), ErrorCode::kInvalidArgument);
}

// kill -9 in the middle of writing: a child writes through a file opened
// `exclusive` or not and is killed; every commit it reported is in the file
// after it, and the file is sound.
void WalCoalescingVfs::commits_survive_a_kill(bool exclusive) {
  { auto db = open_with_table(); }
  int report[2];
  ASSERT_EQ(::pipe(report), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(report[0]);
    auto db = open_sqlite({.path = path_, .exclusive = exclusive});
    if (!db) ::_exit(2);
    for (int commit = 0, rows = 0;; ++commit) {
      const int count = 1 + commit % 7;
      auto st = (*db)->run_transaction({}, [&](Session& s) -> Status {
        for (int i = rows; i < rows + count; ++i) {
          auto done = s.execute("INSERT INTO t (id, payload) VALUES ($1, $2)",
                                {int64_t{i}, std::string(700, 'x')});
          if (!done) return fail(done.error());
        }
        return ok();
      });
      if (!st) ::_exit(3);
      rows += count;
      // Committed: tell the parent how many rows there are now.
      if (::write(report[1], &rows, sizeof rows) != sizeof rows) ::_exit(4);
    }
  }
  ::close(report[1]);
  int committed = 0;
  int rows = 0;
  while (committed < 2000 && ::read(report[0], &rows, sizeof rows) == sizeof rows) {
    committed = rows;
  }
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  // The last reports the child wrote before it died.
  while (::read(report[0], &rows, sizeof rows) == sizeof rows) committed = rows;
  ::close(report[0]);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the writer stopped by itself, status " << status;

  PlainConnection after(path_);
  EXPECT_EQ(after.text("PRAGMA integrity_check"), "ok");
  const int64_t found = after.scalar("SELECT count(*) FROM t");
  EXPECT_GE(found, committed);
  // Rows are committed whole and in order: no gap below the last one.
  EXPECT_EQ(after.scalar("SELECT coalesce(max(id), -1) + 1 FROM t"), found);
}

TEST_F(WalCoalescingVfs, CommitsSurviveAProcessKilledWhileWriting) {
  commits_survive_a_kill(false);
}

// Held for itself, the file keeps its WAL index in the writer's memory: the
// next process rebuilds it from the WAL.
TEST_F(WalCoalescingVfs, CommitsOfAFileHeldForItselfSurviveAProcessKilledWhileWriting) {
  commits_survive_a_kill(true);
}

// A file opened `exclusive` is shared by the connections of this process
// and refused to every other process until this one has closed it.
TEST_F(WalCoalescingVfs, AFileHeldForItselfIsThisProcesssAlone) {
  { auto db = open_with_table(); }
  // The other process is forked before this one opens anything, so that it
  // inherits no lock held by a thread of this one.
  int go[2];
  ASSERT_EQ(::pipe(go), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(go[1]);
    char byte = 0;
    if (::read(go[0], &byte, 1) != 1) ::_exit(10);
    // Shared or held for itself, an opener is refused, with the reason.
    for (const bool exclusive : {false, true}) {
      auto db = open_sqlite(
          {.path = path_, .busy_timeout = std::chrono::milliseconds(50), .exclusive = exclusive});
      if (db) ::_exit(11);
      if (db.error().code() != ErrorCode::kUnavailable ||
          db.error().message().find("another process holds it for itself") == std::string::npos) {
        ::_exit(12);
      }
    }
    // So is a program through SQLite's own default VFS.
    sqlite3* plain = nullptr;
    if (sqlite3_open_v2(path_.c_str(), &plain, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
      ::_exit(13);
    }
    const int rc = sqlite3_exec(plain, "SELECT count(*) FROM t", nullptr, nullptr, nullptr);
    sqlite3_close_v2(plain);
    ::_exit(rc == SQLITE_BUSY ? 0 : 14);
  }
  ::close(go[0]);
  {
    auto a = open_sqlite({.path = path_, .exclusive = true});
    ASSERT_TRUE(a) << a.error().to_string();
    auto b = open_sqlite({.path = path_, .exclusive = true});
    ASSERT_TRUE(b) << b.error().to_string() << " (a second database of this process)";
    write(**a, 0, 30);
    auto seen = (*b)->run_transaction({.read_only = true}, [](Session& s) -> Status {
      auto rows = s.query("SELECT count(*) FROM t");
      if (!rows) return fail(rows.error());
      if ((*rows)[0].get<int64_t>(0) != 30) return fail(ErrorCode::kInternal, "b misses rows");
      return ok();
    });
    EXPECT_TRUE(seen) << seen.error().to_string();
    ASSERT_EQ(::write(go[1], "x", 1), 1);
    int status = 0;
    ::waitpid(child, &status, 0);
    ::close(go[1]);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << "see the child's exit codes above";
  }
  // Closed: anyone may open it again, and it holds every commit.
  PlainConnection after(path_);
  EXPECT_EQ(after.scalar("SELECT count(*) FROM t"), 30);
  EXPECT_EQ(after.text("PRAGMA integrity_check"), "ok");
}

}  // namespace
}  // namespace seatflow::db
