-- The outbox holds only what is still to be published: the relay deletes a
-- row once the bus has acknowledged its message (the bus keeps the message
-- itself). With no sent rows to keep apart, the table needs no index but its
-- key: rows are published in `seq` order, which a new row continues
-- (SQLite gives it the largest `seq` plus one) without AUTOINCREMENT's
-- sqlite_sequence row to update, and message ids are unique as made
-- (UUIDv7), without a UNIQUE index to keep. A commit then writes one page of
-- the outbox instead of five (the table, its three indexes and
-- sqlite_sequence).
--
-- SQLite drops neither UNIQUE nor AUTOINCREMENT: the table is rebuilt, with
-- the rows not yet sent. Dropping the old table drops its indexes and its
-- sqlite_sequence row.
CREATE TABLE outbox_rebuilt (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL,
  lane INTEGER NOT NULL,
  topic TEXT NOT NULL,
  msg_key TEXT NOT NULL,
  msg_type TEXT NOT NULL,
  headers TEXT NOT NULL,
  payload TEXT NOT NULL,
  traceparent TEXT,
  created_at BIGINT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT
);
INSERT INTO outbox_rebuilt (seq, id, lane, topic, msg_key, msg_type, headers, payload,
                            traceparent, created_at, attempts, last_error)
  SELECT seq, id, lane, topic, msg_key, msg_type, headers, payload, traceparent, created_at,
         attempts, last_error
  FROM outbox WHERE sent_at IS NULL;
DROP TABLE outbox;
ALTER TABLE outbox_rebuilt RENAME TO outbox;
