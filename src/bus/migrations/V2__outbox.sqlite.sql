-- The transactional outbox: messages written in the same transaction as the
-- business change, published by the OutboxRelay (bus/outbox.hpp).
CREATE TABLE outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  lane INTEGER NOT NULL,
  topic TEXT NOT NULL,
  msg_key TEXT NOT NULL,
  msg_type TEXT NOT NULL,
  headers TEXT NOT NULL,
  payload TEXT NOT NULL,
  traceparent TEXT,
  created_at BIGINT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  sent_at BIGINT
);
CREATE INDEX outbox_unsent ON outbox (seq) WHERE sent_at IS NULL;
CREATE INDEX outbox_sent ON outbox (sent_at) WHERE sent_at IS NOT NULL;
