-- Key rotation (`bedside keys rotate`). Per algorithm exactly one key is active (retire_at NULL): it
-- signs. A rotation adds a new active key and gives the previous one a retire_at (Unix seconds):
-- until then it stays in the JWKS and still verifies the tokens it signed; afterwards it is refused
-- and the row may be deleted. signed_until (Unix seconds) is the latest expiry of any token the key
-- may have signed: the signers (every node, and `bedside token`) raise it before they sign, and a
-- rotation retires the key no earlier than that.
ALTER TABLE signing_keys ADD COLUMN retire_at BIGINT;
ALTER TABLE signing_keys ADD COLUMN signed_until BIGINT NOT NULL DEFAULT 0;
-- Existing keys stay active. Two nodes starting at once could store two keys of one algorithm
-- (every node signed with the oldest): the newer ones are retired, kept a day to be safe.
UPDATE signing_keys SET retire_at = CAST(EXTRACT(EPOCH FROM now()) AS BIGINT) + 86400
WHERE EXISTS (
    SELECT 1 FROM signing_keys o
    WHERE o.alg = signing_keys.alg
      AND (o.created_at < signing_keys.created_at OR (o.created_at = signing_keys.created_at AND o.kid < signing_keys.kid))
);
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (alg) WHERE retire_at IS NULL;
