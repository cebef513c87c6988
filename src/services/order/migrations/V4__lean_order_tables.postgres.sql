-- No query reads orders by status, and the index on it cost a write on every
-- status change (and kept PostgreSQL from updating orders in place, HOT).
DROP INDEX orders_by_status;
