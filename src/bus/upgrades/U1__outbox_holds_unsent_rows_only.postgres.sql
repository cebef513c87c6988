-- The outbox holds only what is still to be published: the relay deletes a
-- row once the bus has acknowledged its message (the bus keeps the message
-- itself). With no sent rows to keep apart, the table needs no index but its
-- primary key: rows are published in `seq` order, and message ids are unique
-- as made (UUIDv7), without a UNIQUE index to keep.
DELETE FROM outbox WHERE sent_at IS NOT NULL;
DROP INDEX outbox_unsent;
DROP INDEX outbox_sent;
ALTER TABLE outbox DROP CONSTRAINT outbox_id_key;
ALTER TABLE outbox DROP COLUMN sent_at;
