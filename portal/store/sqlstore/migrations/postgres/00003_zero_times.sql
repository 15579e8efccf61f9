-- +goose Up
-- The zero time was stored as 0, which is also the Unix epoch, a time a test kit's clock
-- may start at: it is now the smallest integer, and the epoch is 0. What was stored as 0
-- read back as the zero time, and still does.
UPDATE seats SET last_assigned = -9223372036854775808 WHERE last_assigned = 0;
UPDATE seat_usage SET at = -9223372036854775808 WHERE at = 0;
UPDATE bulks SET created = -9223372036854775808 WHERE created = 0;

-- +goose Down
UPDATE seats SET last_assigned = 0 WHERE last_assigned = -9223372036854775808;
UPDATE seat_usage SET at = 0 WHERE at = -9223372036854775808;
UPDATE bulks SET created = 0 WHERE created = -9223372036854775808;
