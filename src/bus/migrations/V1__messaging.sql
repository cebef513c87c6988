-- The messaging tables every service has: outbox lanes, inbox, dead letters.
-- The outbox itself is V2, whose key column differs between the databases.

-- Outbox rows are spread over 16 lanes by key; a relay publishes a lane only
-- while it holds the lane's lease, so one key is published by one relay at a
-- time, in order.
CREATE TABLE outbox_lanes (
  lane INTEGER PRIMARY KEY,
  owner TEXT,
  lease_until BIGINT NOT NULL DEFAULT 0
);
INSERT INTO outbox_lanes (lane) VALUES
  (0), (1), (2), (3), (4), (5), (6), (7), (8), (9), (10), (11), (12), (13), (14), (15);

-- Messages this service has handled, per consumer group: a duplicate is
-- acknowledged without effect.
CREATE TABLE inbox (
  consumer TEXT NOT NULL,
  message_id TEXT NOT NULL,
  topic TEXT NOT NULL,
  msg_type TEXT NOT NULL,
  outcome TEXT NOT NULL,
  processed_at BIGINT NOT NULL,
  PRIMARY KEY (consumer, message_id)
);
CREATE INDEX inbox_by_age ON inbox (processed_at);

-- Failed attempts at a message not yet handled.
CREATE TABLE inbox_failures (
  consumer TEXT NOT NULL,
  message_id TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  last_error TEXT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (consumer, message_id)
);

-- Messages given up on after too many failures, kept for an operator.
CREATE TABLE dead_letters (
  consumer TEXT NOT NULL,
  message_id TEXT NOT NULL,
  topic TEXT NOT NULL,
  part INTEGER NOT NULL,
  msg_offset BIGINT NOT NULL,
  msg_key TEXT NOT NULL,
  msg_type TEXT NOT NULL,
  headers TEXT NOT NULL,
  payload TEXT NOT NULL,
  error TEXT NOT NULL,
  traceparent TEXT,
  attempts INTEGER NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (consumer, message_id)
);
