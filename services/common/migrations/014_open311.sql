-- 014: what an Open311 POST gives besides the spec's address_string: the
-- gateway's own address_id (FixMyStreet sends #NOTPINPOINTED# when the
-- resident set no pin) and the zipcode, kept as given and returned by
-- GET requests.
ALTER TABLE reports ADD COLUMN IF NOT EXISTS address_id text;
ALTER TABLE reports ADD COLUMN IF NOT EXISTS zipcode text;
-- the answers to the service definition's attributes, {code: value or [values]}
ALTER TABLE reports ADD COLUMN IF NOT EXISTS attributes jsonb;
-- intake reads reports by column (013): these three are its to read
GRANT SELECT (address_id, zipcode, attributes) ON reports TO antt_intake;

-- A resident's follow-up to their request (POST servicerequestupdates):
-- appended to the report for the dispatcher, never changing its status.
-- At most 50 per report (intake refuses more).
CREATE TABLE report_updates (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    report_id    uuid NOT NULL,
    at           timestamptz NOT NULL DEFAULT now(),
    description  text NOT NULL,
    media_url    text
);
CREATE INDEX report_updates_report_idx ON report_updates (report_id, id);
GRANT SELECT, INSERT ON report_updates TO antt_intake;
GRANT SELECT ON report_updates TO antt_notification;
