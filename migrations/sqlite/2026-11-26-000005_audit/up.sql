-- The access log: one row per FHIR interaction made with an access token (SMART grant or operator
-- token), written in batches by a background writer, off the request path. Served as AuditEvent
-- resources generated from these rows (never stored as resources, so apps cannot change them).
-- `recorded` is Unix milliseconds; `refs` the space-separated references returned or touched
-- (at most 100), `ref_total` how many there were. No tokens, no bodies. Identical on PostgreSQL.
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    recorded BIGINT NOT NULL,
    client_id TEXT NOT NULL,
    grant_id TEXT,
    fhir_user TEXT,
    patient_id TEXT,
    action TEXT NOT NULL,
    interaction TEXT NOT NULL,
    res_type TEXT,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    status INTEGER NOT NULL,
    refs TEXT NOT NULL,
    ref_total BIGINT NOT NULL
);
CREATE INDEX audit_log_patient ON audit_log (patient_id, recorded);
CREATE INDEX audit_log_grant ON audit_log (grant_id);
-- The connected-apps page: one app's accesses to one patient's record, newest first.
CREATE INDEX audit_log_patient_client ON audit_log (patient_id, client_id, recorded);
-- Operators' searches over all patients (system tokens), newest first or by date.
CREATE INDEX audit_log_recorded ON audit_log (recorded);
