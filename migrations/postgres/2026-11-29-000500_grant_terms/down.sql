ALTER TABLE oauth_clients DROP COLUMN access_term;
