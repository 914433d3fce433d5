-- String prefix search compares normalised values bytewise (COLLATE "C"), which this index serves.
CREATE INDEX idx_string_prefix ON idx_string (res_type, param, (norm COLLATE "C"));
