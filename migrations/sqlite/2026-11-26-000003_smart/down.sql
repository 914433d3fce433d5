DROP TABLE client_assertion_jtis;
DROP TABLE launch_contexts;
DROP TABLE refresh_tokens;
DROP TABLE auth_codes;
DROP TABLE auth_grants;
DROP TABLE auth_requests;
DROP TABLE oauth_clients;
DROP TABLE auth_users;
