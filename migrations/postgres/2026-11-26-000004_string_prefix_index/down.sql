DROP INDEX idx_string_prefix;
