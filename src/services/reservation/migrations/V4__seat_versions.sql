-- A seat's version counts its changes of state. Each change announced on
-- seat.changes carries the seat's new version, so that a replica's cached
-- seat map applies a change only if it is newer than what the map shows: a
-- change that reaches it after a fresh read of the database is not undone.
ALTER TABLE seats ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
