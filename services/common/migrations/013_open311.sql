-- 013: what an Open311 POST gives besides the spec's address_string: the
-- gateway's own address_id (FixMyStreet sends #NOTPINPOINTED# when the
-- resident set no pin) and the zipcode, kept as given and returned by
-- GET requests.
ALTER TABLE reports ADD COLUMN IF NOT EXISTS address_id text;
ALTER TABLE reports ADD COLUMN IF NOT EXISTS zipcode text;
-- the answers to the service definition's attributes, {code: value or [values]}
ALTER TABLE reports ADD COLUMN IF NOT EXISTS attributes jsonb;
