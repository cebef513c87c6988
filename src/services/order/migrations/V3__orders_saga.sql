-- Orders, the purchase saga's step per order, and each order's history.

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
                                    'CANCELLED')),
  reason          TEXT,
  payment_id      TEXT,
  trace_id        TEXT,
  created_at      BIGINT NOT NULL,
  updated_at      BIGINT NOT NULL,
  UNIQUE (buyer_id, idempotency_key)
);

CREATE INDEX orders_by_status ON orders (status);

-- The saga's next step. due_at NULL: waiting for a message, not for time.
-- A worker claims due steps by setting the lease; the card number is kept
-- only until the authorization is done.
CREATE TABLE saga_steps (
  order_id    TEXT PRIMARY KEY REFERENCES orders (id),
  step        TEXT NOT NULL CHECK (step IN ('authorize', 'await_seats', 'void', 'done')),
  due_at      BIGINT,
  deadline_at BIGINT,
  attempts    INTEGER NOT NULL DEFAULT 0,
  lease_owner TEXT,
  lease_until BIGINT NOT NULL DEFAULT 0,
  card_number TEXT,
  traceparent TEXT,
  last_error  TEXT
);

CREATE INDEX saga_steps_due ON saga_steps (due_at) WHERE due_at IS NOT NULL;

CREATE TABLE order_history (
  order_id TEXT NOT NULL REFERENCES orders (id),
  seq      INTEGER NOT NULL,
  at       BIGINT NOT NULL,
  status   TEXT NOT NULL,
  detail   TEXT,
  PRIMARY KEY (order_id, seq)
);
