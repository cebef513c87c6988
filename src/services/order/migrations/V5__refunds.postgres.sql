-- A completed order can be refunded: the order goes REFUNDING, the saga's
-- refund step refunds the payment, and the order ends REFUNDED.
ALTER TABLE orders DROP CONSTRAINT orders_status_check;
ALTER TABLE orders ADD CONSTRAINT orders_status_check
  CHECK (status IN ('AUTHORIZING', 'CONFIRMING', 'CANCELLING', 'COMPLETED', 'CANCELLED',
                    'REFUNDING', 'REFUNDED'));

ALTER TABLE saga_steps DROP CONSTRAINT saga_steps_step_check;
ALTER TABLE saga_steps ADD CONSTRAINT saga_steps_step_check
  CHECK (step IN ('authorize', 'await_seats', 'void', 'refund', 'done'));
