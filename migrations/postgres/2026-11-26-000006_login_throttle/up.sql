-- Failed sign-ins per user name (known or not), so every node applies the same lockout.
CREATE TABLE login_failures (
    username TEXT PRIMARY KEY NOT NULL,
    failures BIGINT NOT NULL,
    window_start BIGINT NOT NULL,
    locked_until BIGINT NOT NULL
);
