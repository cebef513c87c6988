#include "db/sqlite_wal_vfs.hpp"

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <mutex>
#include <new>
#include <string>

#include <sqlite3.h>

namespace seatflow::db {
namespace {

// The most one write hands to the default VFS: the unix VFS takes writes
// below 128 KiB only. A transaction larger than this goes out in parts as
// it grows.
constexpr size_t kMaxWrite = size_t{64} * 1024;
// A WAL frame header: page number, then the database size in pages after
// the commit for a commit frame, zero for any other frame (big-endian).
constexpr int kFrameHeaderBytes = 24;

std::atomic<uint64_t> g_requested{0};
std::atomic<uint64_t> g_issued{0};

sqlite3_vfs* g_base = nullptr;  // the wrapped default VFS; set once

// The handle SQLite sees for a WAL file; the default VFS's own handle for
// the same file follows it in the same allocation (szOsFile covers both).
struct WalFile {
  sqlite3_file base;  // base.pMethods = &kWalMethods; first, as SQLite requires
  sqlite3_file* real;
  std::string* gathered;      // frames not yet written
  sqlite3_int64 gathered_at;  // the file offset of gathered's first byte
  bool page_next;             // the last write gathered was a frame header
  bool commit_page_next;      // ... and a commit frame's
};

constexpr size_t kWalFileSize = (sizeof(WalFile) + 7) & ~size_t{7};

WalFile* wal(sqlite3_file* file) { return reinterpret_cast<WalFile*>(file); }
const sqlite3_io_methods* real_methods(WalFile* w) { return w->real->pMethods; }

// Hands `n` bytes to the default VFS in one write.
int issue(WalFile* w, const void* data, size_t n, sqlite3_int64 offset) {
  g_issued.fetch_add(1, std::memory_order_relaxed);
  return real_methods(w)->xWrite(w->real, data, static_cast<int>(n), offset);
}

int flush(WalFile* w) {
  const std::string& gathered = *w->gathered;
  int rc = SQLITE_OK;
  for (size_t done = 0; done < gathered.size() && rc == SQLITE_OK;) {
    const size_t n = std::min(kMaxWrite, gathered.size() - done);
    rc = issue(w, gathered.data() + done, n, w->gathered_at + static_cast<sqlite3_int64>(done));
    done += n;
  }
  w->gathered->clear();
  w->page_next = false;
  w->commit_page_next = false;
  return rc;
}

bool is_commit_header(const void* data) {
  const auto* bytes = static_cast<const unsigned char*>(data);
  return (bytes[4] | bytes[5] | bytes[6] | bytes[7]) != 0;
}

int wal_close(sqlite3_file* file) {
  WalFile* w = wal(file);
  const int flushed = flush(w);
  const int rc = real_methods(w)->xClose(w->real);
  delete w->gathered;
  w->gathered = nullptr;
  return flushed != SQLITE_OK ? flushed : rc;
}

int wal_read(sqlite3_file* file, void* out, int amount, sqlite3_int64 offset) {
  WalFile* w = wal(file);
  if (const int rc = flush(w); rc != SQLITE_OK) return rc;
  return real_methods(w)->xRead(w->real, out, amount, offset);
}

// SQLite writes a frame as its header, then its page. A header is gathered;
// the page after it too, unless its header was a commit's: then the whole
// transaction goes out in one write. Anything else (the WAL's own header, a
// write out of that pattern or out of place) is written through at once,
// after what was gathered, so that nothing is ever held past a commit.
int wal_write(sqlite3_file* file, const void* data, int amount, sqlite3_int64 offset) {
  WalFile* w = wal(file);
  g_requested.fetch_add(1, std::memory_order_relaxed);
  std::string& gathered = *w->gathered;
  const bool contiguous = offset == w->gathered_at + static_cast<sqlite3_int64>(gathered.size());
  const bool header = amount == kFrameHeaderBytes;
  // A page right after its header, or a header where a frame may start.
  const bool in_pattern =
      header ? !w->page_next && (gathered.empty() || contiguous) : w->page_next && contiguous;
  if (!in_pattern) {
    if (const int rc = flush(w); rc != SQLITE_OK) return rc;
    if (!header) return issue(w, data, static_cast<size_t>(amount), offset);
  }
  if (gathered.empty()) w->gathered_at = offset;
  gathered.append(static_cast<const char*>(data), static_cast<size_t>(amount));
  if (header) {
    w->page_next = true;
    w->commit_page_next = is_commit_header(data);
    return SQLITE_OK;
  }
  w->page_next = false;
  if (w->commit_page_next || gathered.size() >= kMaxWrite) return flush(w);
  return SQLITE_OK;
}

int wal_truncate(sqlite3_file* file, sqlite3_int64 size) {
  WalFile* w = wal(file);
  if (const int rc = flush(w); rc != SQLITE_OK) return rc;
  return real_methods(w)->xTruncate(w->real, size);
}

int wal_sync(sqlite3_file* file, int flags) {
  WalFile* w = wal(file);
  if (const int rc = flush(w); rc != SQLITE_OK) return rc;
  return real_methods(w)->xSync(w->real, flags);
}

int wal_file_size(sqlite3_file* file, sqlite3_int64* size) {
  WalFile* w = wal(file);
  if (const int rc = flush(w); rc != SQLITE_OK) return rc;
  return real_methods(w)->xFileSize(w->real, size);
}

int wal_lock(sqlite3_file* file, int level) {
  return real_methods(wal(file))->xLock(wal(file)->real, level);
}
int wal_unlock(sqlite3_file* file, int level) {
  return real_methods(wal(file))->xUnlock(wal(file)->real, level);
}
int wal_check_reserved_lock(sqlite3_file* file, int* out) {
  return real_methods(wal(file))->xCheckReservedLock(wal(file)->real, out);
}

int wal_file_control(sqlite3_file* file, int op, void* arg) {
  WalFile* w = wal(file);
  if (const int rc = flush(w); rc != SQLITE_OK) return rc;
  return real_methods(w)->xFileControl(w->real, op, arg);
}

int wal_sector_size(sqlite3_file* file) {
  return real_methods(wal(file))->xSectorSize(wal(file)->real);
}
int wal_device_characteristics(sqlite3_file* file) {
  return real_methods(wal(file))->xDeviceCharacteristics(wal(file)->real);
}

// A WAL file has no shared memory or memory mapping of its own (SQLite maps
// only the database's), but a handle must answer every method of its version.
int wal_shm_map(sqlite3_file* file, int region, int size, int extend, void volatile** out) {
  return real_methods(wal(file))->xShmMap(wal(file)->real, region, size, extend, out);
}
int wal_shm_lock(sqlite3_file* file, int offset, int n, int flags) {
  return real_methods(wal(file))->xShmLock(wal(file)->real, offset, n, flags);
}
void wal_shm_barrier(sqlite3_file* file) { real_methods(wal(file))->xShmBarrier(wal(file)->real); }
int wal_shm_unmap(sqlite3_file* file, int delete_flag) {
  return real_methods(wal(file))->xShmUnmap(wal(file)->real, delete_flag);
}
int wal_fetch(sqlite3_file* file, sqlite3_int64 offset, int amount, void** out) {
  WalFile* w = wal(file);
  if (const int rc = flush(w); rc != SQLITE_OK) return rc;
  return real_methods(w)->xFetch(w->real, offset, amount, out);
}
int wal_unfetch(sqlite3_file* file, sqlite3_int64 offset, void* page) {
  return real_methods(wal(file))->xUnfetch(wal(file)->real, offset, page);
}

const sqlite3_io_methods kWalMethods = {
    3,
    wal_close,
    wal_read,
    wal_write,
    wal_truncate,
    wal_sync,
    wal_file_size,
    wal_lock,
    wal_unlock,
    wal_check_reserved_lock,
    wal_file_control,
    wal_sector_size,
    wal_device_characteristics,
    wal_shm_map,
    wal_shm_lock,
    wal_shm_barrier,
    wal_shm_unmap,
    wal_fetch,
    wal_unfetch,
};

int vfs_open(sqlite3_vfs* /*vfs*/, const char* name, sqlite3_file* file, int flags,
             int* out_flags) {
  if ((flags & SQLITE_OPEN_WAL) == 0) {
    // Not a WAL: the default VFS's own handle, in the space SQLite gave.
    return g_base->xOpen(g_base, name, file, flags, out_flags);
  }
  auto* w = reinterpret_cast<WalFile*>(file);
  w->base.pMethods = nullptr;  // until the file is open: SQLite then skips xClose
  w->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(file) + kWalFileSize);
  const int rc = g_base->xOpen(g_base, name, w->real, flags, out_flags);
  if (rc != SQLITE_OK) return rc;
  if (real_methods(w)->iVersion < 3) {
    // A default VFS older than this file expects: leave it unwrapped.
    real_methods(w)->xClose(w->real);
    return g_base->xOpen(g_base, name, file, flags, out_flags);
  }
  w->gathered = new (std::nothrow) std::string();
  if (w->gathered == nullptr) {
    real_methods(w)->xClose(w->real);
    return SQLITE_NOMEM;
  }
  w->gathered_at = 0;
  w->page_next = false;
  w->commit_page_next = false;
  w->base.pMethods = &kWalMethods;
  return SQLITE_OK;
}

// Everything but opening a file is the default VFS's, called with its own
// handle (it keeps its state in pAppData).
int vfs_delete(sqlite3_vfs*, const char* name, int sync_dir) {
  return g_base->xDelete(g_base, name, sync_dir);
}
int vfs_access(sqlite3_vfs*, const char* name, int flags, int* out) {
  return g_base->xAccess(g_base, name, flags, out);
}
int vfs_full_pathname(sqlite3_vfs*, const char* name, int size, char* out) {
  return g_base->xFullPathname(g_base, name, size, out);
}
void* vfs_dl_open(sqlite3_vfs*, const char* name) { return g_base->xDlOpen(g_base, name); }
void vfs_dl_error(sqlite3_vfs*, int size, char* out) { g_base->xDlError(g_base, size, out); }
void (*vfs_dl_sym(sqlite3_vfs*, void* handle, const char* symbol))() {
  return g_base->xDlSym(g_base, handle, symbol);
}
void vfs_dl_close(sqlite3_vfs*, void* handle) { g_base->xDlClose(g_base, handle); }
int vfs_randomness(sqlite3_vfs*, int size, char* out) {
  return g_base->xRandomness(g_base, size, out);
}
int vfs_sleep(sqlite3_vfs*, int microseconds) { return g_base->xSleep(g_base, microseconds); }
int vfs_current_time(sqlite3_vfs*, double* out) { return g_base->xCurrentTime(g_base, out); }
int vfs_get_last_error(sqlite3_vfs*, int size, char* out) {
  return g_base->xGetLastError(g_base, size, out);
}
int vfs_current_time_int64(sqlite3_vfs*, sqlite3_int64* out) {
  return g_base->xCurrentTimeInt64(g_base, out);
}

sqlite3_vfs g_vfs;
constexpr const char* kVfsName = "seatflow-wal";

}  // namespace

const char* wal_coalescing_vfs() {
  static const char* const kName = []() -> const char* {
    g_base = sqlite3_vfs_find(nullptr);
    if (g_base == nullptr || g_base->iVersion < 2) return nullptr;
    g_vfs = sqlite3_vfs{};
    g_vfs.iVersion = 2;
    g_vfs.szOsFile = static_cast<int>(kWalFileSize) + g_base->szOsFile;
    g_vfs.mxPathname = g_base->mxPathname;
    g_vfs.zName = kVfsName;
    g_vfs.xOpen = vfs_open;
    g_vfs.xDelete = vfs_delete;
    g_vfs.xAccess = vfs_access;
    g_vfs.xFullPathname = vfs_full_pathname;
    g_vfs.xDlOpen = vfs_dl_open;
    g_vfs.xDlError = vfs_dl_error;
    g_vfs.xDlSym = vfs_dl_sym;
    g_vfs.xDlClose = vfs_dl_close;
    g_vfs.xRandomness = vfs_randomness;
    g_vfs.xSleep = vfs_sleep;
    g_vfs.xCurrentTime = vfs_current_time;
    g_vfs.xGetLastError = vfs_get_last_error;
    g_vfs.xCurrentTimeInt64 = vfs_current_time_int64;
    if (sqlite3_vfs_register(&g_vfs, /*makeDflt=*/0) != SQLITE_OK) return nullptr;
    return kVfsName;
  }();
  return kName;
}

WalWriteCounts wal_write_counts() {
  return {g_requested.load(std::memory_order_relaxed), g_issued.load(std::memory_order_relaxed)};
}

}  // namespace seatflow::db
