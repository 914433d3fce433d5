-- How long a patient's approval of an app lasts (CMS Blue Button 2.0's app categories):
-- 'one-time' (a few hours, no refresh token) or 'ongoing' (13 months by default). Existing clients keep
-- working as before: ongoing.
ALTER TABLE oauth_clients ADD COLUMN access_term TEXT NOT NULL DEFAULT 'ongoing';
