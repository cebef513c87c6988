-- Messages stored in the order they were appended, under a position of
-- their own, and found by partition through an index.
--
-- V1 kept them in a WITHOUT ROWID table keyed by (topic, part, msg_offset):
-- a topic's partitions each append in a place of their own in that b-tree,
-- so an append of a few messages to several partitions wrote a page of the
-- table (whole, a few hundred-byte rows filling it) for each, and split a
-- page in the middle of the tree once a handful had filled it. Now every
-- append goes to the table's last page, which the messages of one commit
-- share, and the partitions' places are in the index, whose small entries
-- fill a page slowly.
CREATE TABLE messages_in_append_order (
  position INTEGER PRIMARY KEY,
  topic TEXT NOT NULL,
  part INTEGER NOT NULL,
  msg_offset INTEGER NOT NULL,
  msg_key TEXT NOT NULL,
  headers TEXT NOT NULL,
  payload BLOB NOT NULL,
  created_at BIGINT NOT NULL
);
INSERT INTO messages_in_append_order (topic, part, msg_offset, msg_key, headers, payload,
                                      created_at)
  SELECT topic, part, msg_offset, msg_key, headers, payload, created_at
  FROM messages ORDER BY created_at, topic, part, msg_offset;
DROP TABLE messages;
ALTER TABLE messages_in_append_order RENAME TO messages;
CREATE UNIQUE INDEX messages_by_partition ON messages (topic, part, msg_offset);
CREATE INDEX messages_by_age ON messages (created_at);
