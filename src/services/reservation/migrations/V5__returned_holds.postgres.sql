-- A hold whose order was refunded ends RETURNED: its seats are on sale again
-- and no longer count toward the buyer's cap.
ALTER TABLE holds DROP CONSTRAINT holds_status_check;
ALTER TABLE holds ADD CONSTRAINT holds_status_check
  CHECK (status IN ('ACTIVE', 'RELEASED', 'EXPIRED', 'SOLD', 'RETURNED'));
