-- 018: the staff export of incidents (aggregation's GET
-- /api/v1/export/incidents): who may export an area, and an index that lets
-- the export page through an area's counted days in order.

-- A staff token may export an area when it is a dispatcher's (active) whose
-- desk's area holds that area. Aggregation may not read dispatchers: it asks
-- this function, which answers yes or no and nothing else. A dashboard token
-- (when there are such) is to be checked here too.
CREATE OR REPLACE FUNCTION antt_export_allowed(token text, area text) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT token IS NOT NULL AND length(token) BETWEEN 1 AND 200 AND EXISTS (
        SELECT 1 FROM dispatchers d JOIN desks k ON k.code = d.desk_code
         WHERE d.active AND d.token_hash = sha256(convert_to(token, 'UTF8'))
           AND area = ANY (antt_area_set(k.area_code)))
$$;
REVOKE ALL ON FUNCTION antt_export_allowed(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION antt_export_allowed(text, text) TO antt_aggregation;

-- The export reads an area's contributions by (day, incident) from a
-- cursor, a page at a time: the same days the trend figures count.
CREATE INDEX IF NOT EXISTS trend_contributions_area_day_idx ON trend_contributions (area_code, day, incident_id);
