-- Events, their seat maps and the holds on their seats.

CREATE TABLE events (
  id         TEXT PRIMARY KEY,
  name       TEXT NOT NULL,
  venue      TEXT NOT NULL,
  starts_at  BIGINT NOT NULL,
  currency   TEXT NOT NULL,
  seat_count INTEGER NOT NULL,
  created_at BIGINT NOT NULL
);

CREATE TABLE price_tiers (
  event_id    TEXT NOT NULL REFERENCES events (id),
  name        TEXT NOT NULL,
  price_minor BIGINT NOT NULL CHECK (price_minor >= 0),
  PRIMARY KEY (event_id, name)
);

-- One row per seat. `pos` is the seat's place in the seat map's order
-- (sections, then rows, then numbers), which the compact seat map relies on.
CREATE TABLE seats (
  event_id  TEXT NOT NULL REFERENCES events (id),
  seat_id   TEXT NOT NULL,
  pos       INTEGER NOT NULL,
  section   TEXT NOT NULL,
  row_label TEXT NOT NULL,
  number    INTEGER NOT NULL,
  tier      TEXT NOT NULL,
  state     TEXT NOT NULL DEFAULT 'AVAILABLE' CHECK (state IN ('AVAILABLE', 'HELD', 'SOLD')),
  hold_id   TEXT,
  order_id  TEXT,
  PRIMARY KEY (event_id, seat_id),
  UNIQUE (event_id, pos)
);

CREATE INDEX seats_by_hold ON seats (hold_id) WHERE hold_id IS NOT NULL;

CREATE TABLE holds (
  id           TEXT PRIMARY KEY,
  event_id     TEXT NOT NULL REFERENCES events (id),
  buyer_id     TEXT NOT NULL,
  status       TEXT NOT NULL CHECK (status IN ('ACTIVE', 'RELEASED', 'EXPIRED', 'SOLD')),
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

CREATE INDEX holds_active_by_expiry ON holds (expires_at) WHERE status = 'ACTIVE';
CREATE INDEX holds_by_buyer ON holds (event_id, buyer_id);
