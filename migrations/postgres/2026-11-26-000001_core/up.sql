-- Current version of every resource: the JSON bytes exactly as served.
CREATE TABLE resources (
    seq BIGSERIAL PRIMARY KEY,
    res_type TEXT NOT NULL,
    res_id TEXT NOT NULL,
    version_id BIGINT NOT NULL,
    last_updated TEXT NOT NULL,
    deleted BOOLEAN NOT NULL DEFAULT FALSE,
    content BYTEA NOT NULL,
    UNIQUE (res_type, res_id)
);
CREATE INDEX resources_type_seq ON resources (res_type, seq);

-- Every version: creates, updates and deletions (deleted = true, empty content).
CREATE TABLE resource_history (
    hseq BIGSERIAL PRIMARY KEY,
    res_type TEXT NOT NULL,
    res_id TEXT NOT NULL,
    version_id BIGINT NOT NULL,
    last_updated TEXT NOT NULL,
    deleted BOOLEAN NOT NULL DEFAULT FALSE,
    method TEXT NOT NULL,
    content BYTEA NOT NULL,
    UNIQUE (res_type, res_id, version_id)
);
CREATE INDEX resource_history_type ON resource_history (res_type, hseq);

-- Patient compartment membership, maintained at write time.
CREATE TABLE compartment (
    res_seq BIGINT NOT NULL REFERENCES resources (seq) ON DELETE CASCADE,
    patient_id TEXT NOT NULL,
    PRIMARY KEY (res_seq, patient_id)
);
CREATE INDEX compartment_patient ON compartment (patient_id, res_seq);

-- Key material shared by every node.
CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY NOT NULL,
    alg TEXT NOT NULL,
    private_pem TEXT NOT NULL,
    public_jwk TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE server_meta (
    name TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);
