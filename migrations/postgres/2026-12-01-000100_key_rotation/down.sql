DROP INDEX signing_keys_one_active;
DELETE FROM signing_keys WHERE retire_at IS NOT NULL;
ALTER TABLE signing_keys DROP COLUMN signed_until;
ALTER TABLE signing_keys DROP COLUMN retire_at;
