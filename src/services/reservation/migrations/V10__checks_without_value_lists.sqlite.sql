-- The same constraints, written so that SQLite checks them cheaply. SQLite
-- checks `x IN ('a', 'b', 'c')` (a list of more than two values) by building
-- a temporary b-tree of the values, every time a statement writes the
-- column: about 3 µs, many times per purchase. `x = 'a' OR x = 'b' ...`
-- allows the same values and compares in place. SQLite cannot change a
-- CHECK constraint in place, so the tables are rebuilt as V5 rebuilt holds:
-- the old tables renamed first (SQLite rewrites the children's foreign keys
-- to follow), the new ones filled from them, and the old ones dropped
-- children first. Columns keep their order, so `SELECT *` copies them.

ALTER TABLE check_ins RENAME TO check_ins_v9;
ALTER TABLE holds RENAME TO holds_v9;
ALTER TABLE seats RENAME TO seats_v9;

CREATE TABLE seats (
  event_id  TEXT NOT NULL REFERENCES events (id),
  seat_id   TEXT NOT NULL,
  pos       INTEGER NOT NULL,
  section   TEXT NOT NULL,
  row_label TEXT NOT NULL,
  number    INTEGER NOT NULL,
  tier      TEXT NOT NULL,
  state     TEXT NOT NULL DEFAULT 'AVAILABLE'
            CHECK (state = 'AVAILABLE' OR state = 'HELD' OR state = 'SOLD'),
  hold_id   TEXT,
  order_id  TEXT,
  version   BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (event_id, seat_id),
  UNIQUE (event_id, pos)
);
INSERT INTO seats SELECT event_id, seat_id, pos, section, row_label, number, tier, state, hold_id,
  order_id, version
  FROM seats_v9;

CREATE TABLE holds (
  id                TEXT PRIMARY KEY,
  event_id          TEXT NOT NULL REFERENCES events (id),
  buyer_id          TEXT NOT NULL,
  status            TEXT NOT NULL
                    CHECK (status = 'ACTIVE' OR status = 'RELEASED' OR status = 'EXPIRED' OR
                           status = 'SOLD' OR status = 'RETURNED'),
  seats             TEXT NOT NULL,  -- seat ids, comma-separated, for reading back after release
  seat_count        INTEGER NOT NULL,
  amount_minor      BIGINT NOT NULL,
  currency          TEXT NOT NULL,
  expires_at        BIGINT NOT NULL,
  created_at        BIGINT NOT NULL,
  ended_at          BIGINT,
  end_reason        TEXT,
  order_id          TEXT,
  tickets_voided_at BIGINT
);
INSERT INTO holds SELECT id, event_id, buyer_id, status, seats, seat_count, amount_minor,
  currency, expires_at, created_at, ended_at, end_reason, order_id, tickets_voided_at
  FROM holds_v9;

CREATE TABLE check_ins (
  hold_id       TEXT NOT NULL REFERENCES holds (id),
  seat_id       TEXT NOT NULL,
  event_id      TEXT NOT NULL REFERENCES events (id),
  checked_in_at BIGINT NOT NULL,
  PRIMARY KEY (hold_id, seat_id)
);
INSERT INTO check_ins SELECT hold_id, seat_id, event_id, checked_in_at FROM check_ins_v9;

DROP TABLE check_ins_v9;
DROP TABLE holds_v9;
DROP TABLE seats_v9;

CREATE INDEX seats_by_hold ON seats (hold_id) WHERE hold_id IS NOT NULL;
CREATE INDEX holds_active_by_expiry ON holds (expires_at) WHERE status = 'ACTIVE';
CREATE INDEX holds_by_buyer ON holds (event_id, buyer_id);
CREATE INDEX check_ins_by_event ON check_ins (event_id);
