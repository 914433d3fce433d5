-- Bulk Data $export jobs (kick-off by one client, run by any node's worker, served by any node).
-- `access` keeps what the token that started the job may see (scopes, patient, user, client, grant),
-- so the worker runs the job through the same access checks as a request. A node that runs a job
-- holds it by a lease (`lease_owner`, `lease_until`, Unix ms) renewed while it works; a job whose
-- lease ran out (its node died) is taken up again by any node.
CREATE TABLE export_jobs (
    job_id TEXT PRIMARY KEY NOT NULL,
    client_id TEXT NOT NULL,
    access TEXT NOT NULL,
    request TEXT NOT NULL,
    params TEXT NOT NULL,
    status TEXT NOT NULL,
    transaction_time TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT NOT NULL DEFAULT 0,
    progress TEXT NOT NULL DEFAULT '',
    error TEXT,
    expires_at BIGINT NOT NULL
);
CREATE INDEX export_jobs_status ON export_jobs (status, lease_until);
CREATE INDEX export_jobs_expires ON export_jobs (expires_at);

-- The NDJSON files a job has written (one per type and part, plus error files).
CREATE TABLE export_files (
    job_id TEXT NOT NULL REFERENCES export_jobs (job_id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    res_type TEXT NOT NULL,
    is_error BOOLEAN NOT NULL,
    count BIGINT NOT NULL,
    bytes BIGINT NOT NULL,
    PRIMARY KEY (job_id, name)
);
