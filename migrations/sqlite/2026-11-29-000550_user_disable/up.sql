-- An operator can disable a sign-in (`bedside user disable`): it can no longer sign in, and the
-- grants it gave were ended when it was disabled.
ALTER TABLE auth_users ADD COLUMN disabled BOOLEAN NOT NULL DEFAULT FALSE;
