-- An admin may cancel an event: sales stop, its active holds are released and
-- every order of its seats is refunded. NULL: not cancelled.
ALTER TABLE events ADD COLUMN cancelled_at BIGINT;
