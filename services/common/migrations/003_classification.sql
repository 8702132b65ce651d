-- 003: what classification records, and the one function that records it.

-- How the incident's area was found: 'area_code' (given by the gateway),
-- 'coordinates' (PostGIS point-in-polygon), 'address' (area name in the
-- text), or 'unknown' (a state the dispatcher sees, not an error).
ALTER TABLE incidents ADD COLUMN location_source text NOT NULL DEFAULT 'unknown'
    CHECK (location_source IN ('area_code', 'coordinates', 'address', 'unknown'));
ALTER TABLE incidents ADD COLUMN reasons jsonb NOT NULL DEFAULT '[]';

-- Each report's own classification (an incident shows its first report's).
ALTER TABLE incident_reports ADD COLUMN category text;
ALTER TABLE incident_reports ADD COLUMN priority smallint;
ALTER TABLE incident_reports ADD COLUMN confidence real;
ALTER TABLE incident_reports ADD COLUMN reasons jsonb NOT NULL DEFAULT '[]';

-- Open incidents near a point, for duplicate search: planar (degrees) for the
-- index and its nearest-first order, the exact distance in metres checked on
-- the few candidates. Incidents are updated often (duplicates, triage): leave
-- room on each page so that updates stay HOT.
CREATE INDEX incidents_open_geo_idx ON incidents
    USING gist ((ST_SetSRID(ST_MakePoint(lon, lat), 4326)))
    WHERE status IN ('new', 'acknowledged', 'assigned') AND lat IS NOT NULL;
ALTER TABLE incidents SET (fillfactor = 80);

-- Depth of an area level: deeper wins when several areas contain a point.
CREATE FUNCTION antt_level_depth(level text) RETURNS integer
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE level WHEN 'country' THEN 0 WHEN 'city' THEN 1 WHEN 'province' THEN 1
                      WHEN 'district' THEN 2 WHEN 'ward' THEN 3 WHEN 'commune' THEN 3
                      ELSE 4 END
$$;

-- The desk owning each area: its own, else the nearest ancestor's (up to five
-- levels up: country > city > district > ward > neighbourhood is four). A
-- view of plain joins, so that the planner inlines it into the queries that
-- use it (a SQL function with a FROM would be planned at every call).
CREATE VIEW area_desks AS
    SELECT a0.code AS area_code, COALESCE(d0.code, d1.code, d2.code, d3.code, d4.code, d5.code) AS desk_code
      FROM areas a0
      LEFT JOIN desks d0 ON d0.area_code = a0.code
      LEFT JOIN areas a1 ON a1.code = a0.parent_code LEFT JOIN desks d1 ON d1.area_code = a1.code
      LEFT JOIN areas a2 ON a2.code = a1.parent_code LEFT JOIN desks d2 ON d2.area_code = a2.code
      LEFT JOIN areas a3 ON a3.code = a2.parent_code LEFT JOIN desks d3 ON d3.area_code = a3.code
      LEFT JOIN areas a4 ON a4.code = a3.parent_code LEFT JOIN desks d4 ON d4.area_code = a4.code
      LEFT JOIN areas a5 ON a5.code = a4.parent_code LEFT JOIN desks d5 ON d5.area_code = a5.code;

-- antt_classify_apply(), the function that records a batch, is defined in 004.
