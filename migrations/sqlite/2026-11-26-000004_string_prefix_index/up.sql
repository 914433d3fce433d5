-- SQLite compares text bytewise already (BINARY), so idx_string_lookup serves prefix search; this
-- migration exists to keep the two backends' migration lists identical.
SELECT 1;
