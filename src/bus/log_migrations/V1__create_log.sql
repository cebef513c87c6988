-- The embedded log's own file: topics, their messages, consumer groups' positions.
CREATE TABLE topics (
  name TEXT PRIMARY KEY,
  partitions INTEGER NOT NULL CHECK (partitions > 0),
  created_at BIGINT NOT NULL
);

CREATE TABLE messages (
  topic TEXT NOT NULL,
  part INTEGER NOT NULL,
  msg_offset INTEGER NOT NULL,
  msg_key TEXT NOT NULL,
  headers TEXT NOT NULL,
  payload BLOB NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (topic, part, msg_offset)
) WITHOUT ROWID;

CREATE INDEX messages_by_age ON messages (created_at);

CREATE TABLE group_offsets (
  group_name TEXT NOT NULL,
  topic TEXT NOT NULL,
  part INTEGER NOT NULL,
  next_offset INTEGER NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (group_name, topic, part)
) WITHOUT ROWID;
