-- 015: the re-drive sends a report's answers to the service's questions
-- (reports.attributes, 014) with it, as the fast path does: classification
-- reads an answer that someone is hurt, trapped or in danger now as P1.
-- A column added at the end of the view: no data changes.
CREATE OR REPLACE VIEW reports_for_push AS
    SELECT id, received_at, gateway_id, occurred_at, description, service_code, lat, lon, area_code, address,
           media_urls, language, imported_priority, imported_status, contact_sealed IS NOT NULL AS contact_given,
           attributes
      FROM reports;
