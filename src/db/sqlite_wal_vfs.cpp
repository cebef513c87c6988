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

// The most one write hands to the wrapped VFS: the unix VFS takes writes
// below 128 KiB only. A transaction larger than this goes out in parts as
// it grows.
constexpr size_t kMaxWrite = size_t{64} * 1024;
// A WAL frame header: page number, then the database size in pages after
// the commit for a commit frame, zero for any other frame (big-endian).
constexpr int kFrameHeaderBytes = 24;

std::atomic<uint64_t> g_requested{0};
std::atomic<uint64_t> g_issued{0};

// The handle SQLite sees for a WAL file; the wrapped VFS's own handle for
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

// Hands `n` bytes to the wrapped VFS in one write.
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

// The VFS a wrapper wraps: its pAppData.
sqlite3_vfs* base_of(sqlite3_vfs* vfs) { return static_cast<sqlite3_vfs*>(vfs->pAppData); }

int vfs_open(sqlite3_vfs* vfs, const char* name, sqlite3_file* file, int flags, int* out_flags) {
  sqlite3_vfs* const base = base_of(vfs);
  if ((flags & SQLITE_OPEN_WAL) == 0) {
    // Not a WAL: the wrapped VFS's own handle, in the space SQLite gave.
    return base->xOpen(base, name, file, flags, out_flags);
  }
  auto* w = reinterpret_cast<WalFile*>(file);
  w->base.pMethods = nullptr;  // until the file is open: SQLite then skips xClose
  w->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(file) + kWalFileSize);
  const int rc = base->xOpen(base, name, w->real, flags, out_flags);
  if (rc != SQLITE_OK) return rc;
  if (real_methods(w)->iVersion < 3) {
    // A wrapped VFS older than this file expects: leave it unwrapped.
    real_methods(w)->xClose(w->real);
    return base->xOpen(base, name, file, flags, out_flags);
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

// Everything but opening a file is the wrapped VFS's, called with its own
// handle (it keeps its state in pAppData).
int vfs_delete(sqlite3_vfs* vfs, const char* name, int sync_dir) {
  return base_of(vfs)->xDelete(base_of(vfs), name, sync_dir);
}
int vfs_access(sqlite3_vfs* vfs, const char* name, int flags, int* out) {
  return base_of(vfs)->xAccess(base_of(vfs), name, flags, out);
}
int vfs_full_pathname(sqlite3_vfs* vfs, const char* name, int size, char* out) {
  return base_of(vfs)->xFullPathname(base_of(vfs), name, size, out);
}
void* vfs_dl_open(sqlite3_vfs* vfs, const char* name) {
  return base_of(vfs)->xDlOpen(base_of(vfs), name);
}
void vfs_dl_error(sqlite3_vfs* vfs, int size, char* out) {
  base_of(vfs)->xDlError(base_of(vfs), size, out);
}
void (*vfs_dl_sym(sqlite3_vfs* vfs, void* handle, const char* symbol))() {
  return base_of(vfs)->xDlSym(base_of(vfs), handle, symbol);
}
void vfs_dl_close(sqlite3_vfs* vfs, void* handle) { base_of(vfs)->xDlClose(base_of(vfs), handle); }
int vfs_randomness(sqlite3_vfs* vfs, int size, char* out) {
  return base_of(vfs)->xRandomness(base_of(vfs), size, out);
}
int vfs_sleep(sqlite3_vfs* vfs, int microseconds) {
  return base_of(vfs)->xSleep(base_of(vfs), microseconds);
}
int vfs_current_time(sqlite3_vfs* vfs, double* out) {
  return base_of(vfs)->xCurrentTime(base_of(vfs), out);
}
int vfs_get_last_error(sqlite3_vfs* vfs, int size, char* out) {
  return base_of(vfs)->xGetLastError(base_of(vfs), size, out);
}
int vfs_current_time_int64(sqlite3_vfs* vfs, sqlite3_int64* out) {
  return base_of(vfs)->xCurrentTimeInt64(base_of(vfs), out);
}

// Registers a wrapper of `base_name` (null: the default VFS) as `name`;
// returns `name`, or null if there is no such VFS to wrap.
const char* register_wrapper(sqlite3_vfs& wrapper, const char* name, const char* base_name) {
  sqlite3_vfs* base = sqlite3_vfs_find(base_name);
  if (base == nullptr || base->iVersion < 2) return nullptr;
  wrapper = sqlite3_vfs{};
  wrapper.iVersion = 2;
  wrapper.szOsFile = static_cast<int>(kWalFileSize) + base->szOsFile;
  wrapper.mxPathname = base->mxPathname;
  wrapper.zName = name;
  wrapper.pAppData = base;
  wrapper.xOpen = vfs_open;
  wrapper.xDelete = vfs_delete;
  wrapper.xAccess = vfs_access;
  wrapper.xFullPathname = vfs_full_pathname;
  wrapper.xDlOpen = vfs_dl_open;
  wrapper.xDlError = vfs_dl_error;
  wrapper.xDlSym = vfs_dl_sym;
  wrapper.xDlClose = vfs_dl_close;
  wrapper.xRandomness = vfs_randomness;
  wrapper.xSleep = vfs_sleep;
  wrapper.xCurrentTime = vfs_current_time;
  wrapper.xGetLastError = vfs_get_last_error;
  wrapper.xCurrentTimeInt64 = vfs_current_time_int64;
  if (sqlite3_vfs_register(&wrapper, /*makeDflt=*/0) != SQLITE_OK) return nullptr;
  return name;
}

}  // namespace

const char* wal_coalescing_vfs(bool exclusive) {
  static sqlite3_vfs shared;
  static sqlite3_vfs held;
  static const char* const kShared = register_wrapper(shared, "seatflow-wal", nullptr);
  if (!exclusive) return kShared;
  // "unix-excl" is the unix VFS that locks the file to this process for as
  // long as the process has it open, and keeps the WAL index in its heap.
  // Without it (a SQLite built without the unix VFS), the shared one.
  static const char* const kHeld = register_wrapper(held, "seatflow-wal-excl", "unix-excl");
  return kHeld != nullptr ? kHeld : kShared;
}

WalWriteCounts wal_write_counts() {
  return {g_requested.load(std::memory_order_relaxed), g_issued.load(std::memory_order_relaxed)};
}

}  // namespace seatflow::db
