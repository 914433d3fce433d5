-- SMART-on-FHIR authorization server state. Every row here is shared by all nodes; secrets (codes,
-- refresh tokens, launch values, login sessions) are stored only as SHA-256 hashes, passwords and
-- client secrets as argon2 hashes. Times are Unix seconds. Identical on SQLite and PostgreSQL.

-- People who log in (patients, practitioners), each linked to a FHIR resource (fhirUser).
CREATE TABLE auth_users (
    username TEXT PRIMARY KEY NOT NULL,
    password_hash TEXT NOT NULL,
    fhir_user TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Registered apps. client_type: public | confidential-secret | confidential-jwks.
CREATE TABLE oauth_clients (
    client_id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    client_type TEXT NOT NULL,
    secret_hash TEXT,
    jwks TEXT,
    jwks_uri TEXT,
    redirect_uris TEXT NOT NULL,
    scope TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Authorization requests in progress (login, patient picker, consent), bound to a browser cookie.
CREATE TABLE auth_requests (
    request_hash TEXT PRIMARY KEY NOT NULL,
    session_hash TEXT NOT NULL,
    csrf TEXT NOT NULL,
    client_id TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    scope TEXT NOT NULL,
    state TEXT NOT NULL,
    nonce TEXT,
    code_challenge TEXT,
    launch_hash TEXT,
    username TEXT,
    fhir_user TEXT,
    patient TEXT,
    encounter TEXT,
    expires_at BIGINT NOT NULL
);

-- What a user (or a backend client) granted an app. Revoking a grant kills its access and refresh
-- tokens on every node (access tokens carry the grant id and are checked on each request).
CREATE TABLE auth_grants (
    grant_id TEXT PRIMARY KEY NOT NULL,
    client_id TEXT NOT NULL,
    username TEXT,
    fhir_user TEXT,
    scope TEXT NOT NULL,
    patient TEXT,
    encounter TEXT,
    context TEXT NOT NULL,
    nonce TEXT,
    revoked BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX auth_grants_client ON auth_grants (client_id);

CREATE TABLE auth_codes (
    code_hash TEXT PRIMARY KEY NOT NULL,
    grant_id TEXT NOT NULL REFERENCES auth_grants (grant_id) ON DELETE CASCADE,
    client_id TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    code_challenge TEXT,
    used BOOLEAN NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    grant_id TEXT NOT NULL REFERENCES auth_grants (grant_id) ON DELETE CASCADE,
    client_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    used BOOLEAN NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX refresh_tokens_grant ON refresh_tokens (grant_id);

-- EHR launch contexts, found by the hash of the opaque `launch` value.
CREATE TABLE launch_contexts (
    launch_hash TEXT PRIMARY KEY NOT NULL,
    patient TEXT,
    encounter TEXT,
    fhir_user TEXT,
    intent TEXT,
    need_patient_banner BOOLEAN NOT NULL,
    smart_style_url TEXT,
    created_by TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);

-- Client assertion ids already used (private_key_jwt replay protection), kept until they expire.
CREATE TABLE client_assertion_jtis (
    client_id TEXT NOT NULL,
    jti TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (client_id, jti)
);

-- Sign-in sessions of the "connected apps" page (manage), bound to a browser cookie.
CREATE TABLE user_sessions (
    session_hash TEXT PRIMARY KEY NOT NULL,
    csrf TEXT NOT NULL,
    username TEXT,
    expires_at BIGINT NOT NULL
);
