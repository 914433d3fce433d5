-- Search index rows, extracted at write time (one table per search-parameter type).
-- Every row points at resources.seq; searching never parses stored JSON.
CREATE TABLE idx_string (
    res_seq BIGINT NOT NULL REFERENCES resources (seq) ON DELETE CASCADE,
    res_type TEXT NOT NULL,
    param TEXT NOT NULL,
    value TEXT NOT NULL,
    norm TEXT NOT NULL
);
CREATE INDEX idx_string_lookup ON idx_string (res_type, param, norm);
CREATE INDEX idx_string_seq ON idx_string (res_seq);

CREATE TABLE idx_token (
    res_seq BIGINT NOT NULL REFERENCES resources (seq) ON DELETE CASCADE,
    res_type TEXT NOT NULL,
    param TEXT NOT NULL,
    system TEXT,
    code TEXT,
    text TEXT
);
CREATE INDEX idx_token_lookup ON idx_token (res_type, param, code, system);
CREATE INDEX idx_token_seq ON idx_token (res_seq);

CREATE TABLE idx_date (
    res_seq BIGINT NOT NULL REFERENCES resources (seq) ON DELETE CASCADE,
    res_type TEXT NOT NULL,
    param TEXT NOT NULL,
    low BIGINT NOT NULL,
    high BIGINT NOT NULL
);
CREATE INDEX idx_date_lookup ON idx_date (res_type, param, low, high);
CREATE INDEX idx_date_seq ON idx_date (res_seq);

CREATE TABLE idx_reference (
    res_seq BIGINT NOT NULL REFERENCES resources (seq) ON DELETE CASCADE,
    res_type TEXT NOT NULL,
    param TEXT NOT NULL,
    target_type TEXT,
    target_id TEXT,
    url TEXT NOT NULL
);
CREATE INDEX idx_reference_lookup ON idx_reference (res_type, param, target_id, target_type);
CREATE INDEX idx_reference_target ON idx_reference (target_type, target_id);
CREATE INDEX idx_reference_seq ON idx_reference (res_seq);

CREATE TABLE idx_quantity (
    res_seq BIGINT NOT NULL REFERENCES resources (seq) ON DELETE CASCADE,
    res_type TEXT NOT NULL,
    param TEXT NOT NULL,
    value TEXT NOT NULL,
    num DOUBLE PRECISION NOT NULL,
    system TEXT,
    code TEXT,
    unit TEXT
);
CREATE INDEX idx_quantity_lookup ON idx_quantity (res_type, param, num);
CREATE INDEX idx_quantity_seq ON idx_quantity (res_seq);

CREATE TABLE idx_number (
    res_seq BIGINT NOT NULL REFERENCES resources (seq) ON DELETE CASCADE,
    res_type TEXT NOT NULL,
    param TEXT NOT NULL,
    value TEXT NOT NULL,
    num DOUBLE PRECISION NOT NULL
);
CREATE INDEX idx_number_lookup ON idx_number (res_type, param, num);
CREATE INDEX idx_number_seq ON idx_number (res_seq);

CREATE TABLE idx_uri (
    res_seq BIGINT NOT NULL REFERENCES resources (seq) ON DELETE CASCADE,
    res_type TEXT NOT NULL,
    param TEXT NOT NULL,
    value TEXT NOT NULL
);
CREATE INDEX idx_uri_lookup ON idx_uri (res_type, param, value);
CREATE INDEX idx_uri_seq ON idx_uri (res_seq);
