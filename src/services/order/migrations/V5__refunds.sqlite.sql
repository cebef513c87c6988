-- A completed order can be refunded: the order goes REFUNDING, the saga's
-- refund step refunds the payment, and the order ends REFUNDED. SQLite cannot
-- change a CHECK constraint in place, so the order tables are rebuilt as V4
-- built them, with the new status and step allowed: the old tables renamed
-- first (SQLite rewrites the children's foreign keys to follow), the new ones
-- filled from them, and the old ones dropped children first.

ALTER TABLE order_history RENAME TO order_history_v4;
ALTER TABLE saga_steps RENAME TO saga_steps_v4;
ALTER TABLE orders RENAME TO orders_v4;

CREATE TABLE orders (
  id              TEXT PRIMARY KEY,
  buyer_id        TEXT NOT NULL,
  idempotency_key TEXT NOT NULL,
  request_hash    TEXT NOT NULL,
  event_id        TEXT NOT NULL,
  hold_id         TEXT NOT NULL UNIQUE,  -- one order per hold
  seats           TEXT NOT NULL,         -- seat ids, comma-separated
  amount_minor    BIGINT NOT NULL,
  currency        TEXT NOT NULL,
  status          TEXT NOT NULL
                  CHECK (status IN ('AUTHORIZING', 'CONFIRMING', 'CANCELLING', 'COMPLETED',
                                    'CANCELLED', 'REFUNDING', 'REFUNDED')),
  reason          TEXT,
  payment_id      TEXT,
  trace_id        TEXT,
  created_at      BIGINT NOT NULL,
  updated_at      BIGINT NOT NULL,
  UNIQUE (buyer_id, idempotency_key)
) WITHOUT ROWID;
INSERT INTO orders SELECT id, buyer_id, idempotency_key, request_hash, event_id, hold_id, seats,
  amount_minor, currency, status, reason, payment_id, trace_id, created_at, updated_at
  FROM orders_v4;

CREATE TABLE saga_steps (
  order_id    TEXT PRIMARY KEY REFERENCES orders (id),
  step        TEXT NOT NULL CHECK (step IN ('authorize', 'await_seats', 'void', 'refund', 'done')),
  due_at      BIGINT,
  deadline_at BIGINT,
  attempts    INTEGER NOT NULL DEFAULT 0,
  lease_owner TEXT,
  lease_until BIGINT NOT NULL DEFAULT 0,
  card_number TEXT,
  traceparent TEXT,
  last_error  TEXT
) WITHOUT ROWID;
INSERT INTO saga_steps SELECT order_id, step, due_at, deadline_at, attempts, lease_owner,
  lease_until, card_number, traceparent, last_error
  FROM saga_steps_v4;

CREATE TABLE order_history (
  order_id TEXT NOT NULL REFERENCES orders (id),
  seq      INTEGER NOT NULL,
  at       BIGINT NOT NULL,
  status   TEXT NOT NULL,
  detail   TEXT,
  PRIMARY KEY (order_id, seq)
) WITHOUT ROWID;
INSERT INTO order_history SELECT order_id, seq, at, status, detail FROM order_history_v4;

DROP TABLE order_history_v4;
DROP TABLE saga_steps_v4;
DROP TABLE orders_v4;

CREATE INDEX saga_steps_due ON saga_steps (due_at) WHERE due_at IS NOT NULL;
