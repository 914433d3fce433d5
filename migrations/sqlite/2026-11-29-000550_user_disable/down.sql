ALTER TABLE auth_users DROP COLUMN disabled;
