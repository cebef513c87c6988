-- Payment authorizations against the card gateway, one per idempotency key.
-- A PENDING row holds the mock gateway's answer and when it is due, so an
-- answer lost in a crash is given when the caller asks again.
-- A void that arrives before its authorization leaves a VOIDED row with an
-- empty request_hash, so the late authorization is refused.

CREATE TABLE payments (
  id              TEXT PRIMARY KEY,
  idempotency_key TEXT NOT NULL UNIQUE,
  request_hash    TEXT NOT NULL,
  order_id        TEXT NOT NULL,
  amount_minor    BIGINT NOT NULL,
  currency        TEXT NOT NULL,
  card_last4      TEXT NOT NULL,
  status          TEXT NOT NULL
                  CHECK (status IN ('PENDING', 'AUTHORIZED', 'DECLINED', 'VOIDED', 'REFUNDED')),
  decline_code    TEXT,
  gateway_outcome TEXT,
  decide_at       BIGINT,
  created_at      BIGINT NOT NULL,
  updated_at      BIGINT NOT NULL
);

CREATE INDEX payments_by_order ON payments (order_id);
