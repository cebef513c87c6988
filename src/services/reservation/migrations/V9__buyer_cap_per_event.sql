-- An event may allow fewer seats per buyer than the service's setting
-- (reservation.max_seats_per_buyer), as a promoter limits a sought-after
-- show. NULL: the setting.
ALTER TABLE events ADD COLUMN max_seats_per_buyer BIGINT;
