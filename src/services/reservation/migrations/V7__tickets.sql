-- A sold hold's seats are its tickets; their codes are signed, not stored
-- (see the session secret). At the door each ticket admits once: its
-- check-in is a row here. A refund first voids the hold's tickets, in the
-- same lock of the hold as a check-in takes, so a ticket is either used or
-- refunded, never both.
ALTER TABLE holds ADD COLUMN tickets_voided_at BIGINT;

CREATE TABLE check_ins (
  hold_id       TEXT NOT NULL REFERENCES holds (id),
  seat_id       TEXT NOT NULL,
  event_id      TEXT NOT NULL REFERENCES events (id),
  checked_in_at BIGINT NOT NULL,
  PRIMARY KEY (hold_id, seat_id)
);

-- The door counts an event's admissions after every check-in.
CREATE INDEX check_ins_by_event ON check_ins (event_id);
