-- An event may go on sale at a set time (a flash sale opens at a moment),
-- before which holds are refused. NULL: on sale from its creation.
ALTER TABLE events ADD COLUMN sales_open_at BIGINT;
