-- A hold whose order was refunded ends RETURNED: its seats are on sale again
-- and no longer count toward the buyer's cap. SQLite cannot change a CHECK
-- constraint in place, so the holds table is rebuilt with the new status
-- allowed (no table refers to it), and its indexes made again.

ALTER TABLE holds RENAME TO holds_v4;

CREATE TABLE holds (
  id           TEXT PRIMARY KEY,
  event_id     TEXT NOT NULL REFERENCES events (id),
  buyer_id     TEXT NOT NULL,
  status       TEXT NOT NULL
               CHECK (status IN ('ACTIVE', 'RELEASED', 'EXPIRED', 'SOLD', 'RETURNED')),
  seats        TEXT NOT NULL,  -- seat ids, comma-separated, for reading back after release
  seat_count   INTEGER NOT NULL,
  amount_minor BIGINT NOT NULL,
  currency     TEXT NOT NULL,
  expires_at   BIGINT NOT NULL,
  created_at   BIGINT NOT NULL,
  ended_at     BIGINT,
  end_reason   TEXT,
  order_id     TEXT
);
INSERT INTO holds SELECT id, event_id, buyer_id, status, seats, seat_count, amount_minor,
  currency, expires_at, created_at, ended_at, end_reason, order_id
  FROM holds_v4;

DROP TABLE holds_v4;

CREATE INDEX holds_active_by_expiry ON holds (expires_at) WHERE status = 'ACTIVE';
CREATE INDEX holds_by_buyer ON holds (event_id, buyer_id);
