-- 013: intake writes a reporter's sealed contact but cannot read it back
-- (issue 14). The box is sealed to the dispatchers' key, so intake could
-- not open it anyway; still, a service that reads no contact holds none.
--
-- * antt_intake reads every column of reports but contact_sealed (column
--   privileges; a column added later is granted by its own migration).
-- * The re-drive needs only whether a contact was given (AcceptedReport's
--   contact_given): reports_for_push has that, and the columns the re-drive
--   sends, and acts for its owner.
-- No data changes: runs at once on a database with reports.

REVOKE SELECT ON reports FROM antt_intake;
DO $$
DECLARE
    cols text;
BEGIN
    SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) INTO cols
      FROM pg_attribute
     WHERE attrelid = 'reports'::regclass AND attnum > 0 AND NOT attisdropped AND attname <> 'contact_sealed';
    EXECUTE format('GRANT SELECT (%s) ON reports TO antt_intake', cols);
END $$;

CREATE VIEW reports_for_push AS
    SELECT id, received_at, gateway_id, occurred_at, description, service_code, lat, lon, area_code, address,
           media_urls, language, imported_priority, imported_status, contact_sealed IS NOT NULL AS contact_given
      FROM reports;
GRANT SELECT ON reports_for_push TO antt_intake;
