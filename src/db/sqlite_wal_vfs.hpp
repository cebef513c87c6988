// A SQLite VFS that writes each write-ahead-log commit with one system call.
//
// SQLite appends a transaction to the WAL a frame at a time, and each frame
// in two writes: its 24-byte header, then the page. A transaction of seven
// pages costs fourteen pwrite calls, and on a machine where a system call is
// dear those calls are most of the cost of a commit. This VFS wraps the
// platform's default one (or "unix-excl", see below). For WAL files only, it
// gathers contiguous writes in memory and hands them to the wrapped VFS in
// one write as soon as the commit frame is complete, or before anything else
// reaches the file (a read, a sync, a truncate, a size query, a file
// control, close), or when a transaction has gathered 64 KiB. Every other
// file (the database, its shared memory) is the wrapped VFS's own, untouched.
//
// Durability is unchanged. A commit's frames reach the operating system
// within the write of its last page, before SQLite publishes the commit to
// readers in the WAL index, so a commit that returned survives a process
// crash exactly as before (and a power loss exactly as before with
// synchronous=FULL, whose sync flushes first). Frames still gathered when
// the process dies belong to a transaction that had not committed, which
// SQLite's recovery discards anyway. The files stay ordinary SQLite files
// that any other SQLite reads.
//
// Thread safety: as the wrapped VFS. A file handle belongs to one connection,
// which SQLite uses from one thread at a time.
#pragma once

#include <cstdint>

namespace seatflow::db {

// Registers the VFS (once; later calls return at once) and returns its name,
// for sqlite3_open_v2. Null if SQLite has no default VFS to wrap.
// `exclusive`: the wrapper of SQLite's "unix-excl" instead, which locks a
// file to this process from its first read until the process has closed it
// (other connections of the process share it; another process gets
// SQLITE_BUSY), and keeps the WAL index in the process's memory instead of
// a shared-memory file: no file lock is taken or released per transaction.
const char* wal_coalescing_vfs(bool exclusive = false);

// Counted since the process started, over every WAL file of the VFS.
struct WalWriteCounts {
  uint64_t requested = 0;  // writes SQLite asked for
  uint64_t issued = 0;     // writes handed to the default VFS
};
WalWriteCounts wal_write_counts();

}  // namespace seatflow::db
