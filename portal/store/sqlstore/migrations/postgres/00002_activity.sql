-- +goose Up
-- The activity log of each agreement (issue 11): one row per change, numbered per agreement.
CREATE TABLE activity (agreement_id TEXT NOT NULL, seq BIGINT NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (agreement_id, seq));

-- +goose Down
DROP TABLE activity;
