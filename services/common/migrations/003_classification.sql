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

-- Records a batch of classified reports in one transaction. Each item
-- (jsonb object): report_id, incident_id (used if a new incident is made),
-- category, priority, confidence, reasons, lat, lon, area_code (given by the
-- gateway), address_area (found in the text by classification), occurred_at,
-- received_at. leads[n] (1-based, 0 = none) is the earliest earlier item of
-- the batch that item n duplicates (same category, within radius_m and
-- window_s; the worker computes it, and a lead has no lead of its own).
-- For each item: find the area and desk; join the nearest open incident of
-- the same category within radius_m and window_s, else the incident of its
-- lead, else make one; link the report; append an event; delete its
-- report_queue row. A report already linked (or seen earlier in the batch)
-- changes nothing (replay = true). Returned rows follow the items' order;
-- report_count and version are the incident's after that report (for a
-- replay: as the incident stood before this batch).
-- The whole batch is one statement (set-based: no per-report statements).
-- Duplicate search is serialized per category by advisory locks taken in a
-- fixed order before the statement takes its snapshot, so concurrent
-- workers cannot both make an incident for two reports of one event.
CREATE FUNCTION antt_classify_apply(items jsonb, radius_m double precision, window_s integer,
                                    ack_s integer[], unlocated_desk text, leads integer[])
RETURNS TABLE (report_id uuid, incident_id uuid, new_incident boolean, replay boolean,
               report_count integer, version bigint, category text, priority smallint,
               area_code text, desk_code text, location_source text, lat double precision,
               lon double precision, occurred_at timestamptz, created_at timestamptz,
               ack_deadline timestamptz)
LANGUAGE plpgsql
-- the batch query's custom plans cost more to make than to run
SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
BEGIN
    PERFORM pg_advisory_xact_lock(1635020917, hashtext(c))
       FROM (SELECT DISTINCT e->>'category' AS c FROM jsonb_array_elements(items) e ORDER BY 1) s;

    RETURN QUERY
    WITH it AS (
        SELECT x.n::integer AS n, x.e, (x.e->>'report_id')::uuid AS rid, x.e->>'category' AS cat,
               (x.e->>'priority')::smallint AS prio, (x.e->>'confidence')::real AS conf,
               COALESCE(x.e->'reasons', '[]') AS reasons,
               (x.e->>'lat')::float8 AS plat, (x.e->>'lon')::float8 AS plon,
               CASE WHEN x.e->>'lat' IS NOT NULL AND x.e->>'lon' IS NOT NULL
                    THEN ST_SetSRID(ST_MakePoint((x.e->>'lon')::float8, (x.e->>'lat')::float8), 4326)
               END AS pt,
               COALESCE((x.e->>'occurred_at')::timestamptz, (x.e->>'received_at')::timestamptz, now()) AS occ,
               NULLIF(COALESCE(leads[x.n::integer], 0), 0) AS lead,
               (x.e->>'incident_id')::uuid AS new_id
        FROM jsonb_array_elements(items) WITH ORDINALITY AS x(e, n)),
    -- jurisdiction: area code, else the deepest valid area whose boundary
    -- covers the point, else the area named in the text; then the desk of the
    -- area or of its nearest ancestor
    located AS (
        SELECT it.*, COALESCE(ac.code, pc.code, aa.code) AS area,
               CASE WHEN ac.code IS NOT NULL THEN 'area_code' WHEN pc.code IS NOT NULL THEN 'coordinates'
                    WHEN aa.code IS NOT NULL THEN 'address' ELSE 'unknown' END AS src,
               ir.incident_id AS linked,
               it.n > min(it.n) OVER (PARTITION BY it.rid) AS again
        FROM it
        LEFT JOIN areas ac ON ac.code = it.e->>'area_code'
        LEFT JOIN LATERAL (
            SELECT a.code FROM areas a
             WHERE a.boundary IS NOT NULL AND a.valid_to IS NULL AND ST_Covers(a.boundary, it.pt)
             ORDER BY antt_level_depth(a.level) DESC, a.code LIMIT 1) pc
          ON ac.code IS NULL AND it.pt IS NOT NULL
        LEFT JOIN areas aa ON aa.code = it.e->>'address_area'
        LEFT JOIN incident_reports ir ON ir.report_id = it.rid),
    owners AS (
        SELECT ad.area_code AS area, ad.desk_code AS desk
          FROM (SELECT DISTINCT l.area FROM located l WHERE l.area IS NOT NULL) d
          JOIN area_desks ad ON ad.area_code = d.area),
    -- the nearest open incident of the same category within radius and window
    matched AS (
        SELECT l.*, COALESCE(o.desk, (SELECT dd.code FROM desks dd WHERE dd.code = unlocated_desk)) AS desk,
               m.id AS near
        FROM located l
        LEFT JOIN owners o ON o.area = l.area
        LEFT JOIN LATERAL (
            SELECT i.id FROM incidents i
             WHERE i.status IN ('new', 'acknowledged', 'assigned') AND i.lat IS NOT NULL
               AND i.category = l.cat
               AND ST_SetSRID(ST_MakePoint(i.lon, i.lat), 4326)
                   && ST_Expand(l.pt, radius_m / (111320.0 * greatest(cos(radians(ST_Y(l.pt))), 0.01)))
               AND ST_DWithin(ST_SetSRID(ST_MakePoint(i.lon, i.lat), 4326)::geography, l.pt::geography, radius_m)
               AND i.occurred_at BETWEEN l.occ - make_interval(secs => window_s)
                                     AND l.occ + make_interval(secs => window_s)
             ORDER BY ST_SetSRID(ST_MakePoint(i.lon, i.lat), 4326) <-> l.pt, i.created_at
             LIMIT 1) m ON l.pt IS NOT NULL AND l.linked IS NULL AND NOT l.again),
    -- where each fresh report goes: its own match, else its lead's incident
    fresh AS (
        SELECT f.*, COALESCE(f.near, ld.linked, CASE WHEN NOT ld.again THEN COALESCE(ld.near, ld.new_id) END,
                             f.new_id) AS target
        FROM matched f
        LEFT JOIN matched ld ON ld.n = f.lead AND ld.n < f.n AND ld.cat = f.cat
        WHERE f.linked IS NULL AND NOT f.again),
    seq AS (
        SELECT f.*, f.target = f.new_id AS creates,
               row_number() OVER w AS rn,
               min(f.prio) OVER w AS run_prio,
               min(now() + make_interval(secs => ack_s[f.prio])) OVER w AS run_deadline,
               count(*) OVER (PARTITION BY f.target) AS k,
               min(f.prio) OVER (PARTITION BY f.target) AS all_prio
        FROM fresh f
        WINDOW w AS (PARTITION BY f.target ORDER BY f.n)),
    made AS (
        INSERT INTO incidents AS i (id, occurred_at, category, priority, confidence, area_code, desk_code,
                                    ack_deadline, lat, lon, location_source, reasons, report_count, version)
        SELECT s.new_id, s.occ, s.cat, s.all_prio, s.conf, s.area, s.desk,
               now() + make_interval(secs => ack_s[s.all_prio]), s.plat, s.plon, s.src, s.reasons, s.k, s.k
        FROM seq s WHERE s.creates
        RETURNING i.id),
    grown AS (
        -- a more urgent report raises the incident's priority and deadline
        UPDATE incidents i SET report_count = i.report_count + g.k, version = i.version + g.k,
               updated_at = now(), priority = LEAST(i.priority, g.p),
               ack_deadline = CASE WHEN g.p < i.priority
                                   THEN LEAST(i.ack_deadline, now() + make_interval(secs => ack_s[g.p]))
                                   ELSE i.ack_deadline END
          FROM (SELECT s.target, max(s.k) AS k, min(s.prio)::smallint AS p
                  FROM seq s WHERE NOT s.creates GROUP BY s.target) g
         WHERE i.id = g.target
        RETURNING i.id),
    -- what each report sees: the incident after it was added
    outcome AS (
        SELECT s.n, s.rid, s.target, s.creates, s.cat, s.prio, s.conf, s.reasons, s.src,
               COALESCE(o.report_count, 0) + s.rn AS count_after,
               COALESCE(o.version, 0) + s.rn AS version_after,
               LEAST(COALESCE(o.priority, s.run_prio), s.run_prio)::smallint AS prio_after,
               COALESCE(o.area_code, s.area) AS area, COALESCE(o.desk_code, s.desk) AS desk,
               COALESCE(o.location_source, s.src) AS loc_src,
               CASE WHEN o.id IS NULL THEN s.plat ELSE o.lat END AS olat,
               CASE WHEN o.id IS NULL THEN s.plon ELSE o.lon END AS olon,
               COALESCE(o.occurred_at, first_value(s.occ) OVER (PARTITION BY s.target ORDER BY s.n)) AS occ_at,
               COALESCE(o.created_at, now()) AS created,
               CASE WHEN o.id IS NULL THEN s.run_deadline
                    WHEN s.run_prio < o.priority THEN LEAST(o.ack_deadline, s.run_deadline)
                    ELSE o.ack_deadline END AS deadline
        FROM seq s LEFT JOIN incidents o ON o.id = s.target AND NOT s.creates),
    links AS (
        INSERT INTO incident_reports (report_id, incident_id, category, priority, confidence, reasons)
        SELECT o.rid, o.target, o.cat, o.prio, o.conf, o.reasons FROM outcome o
        RETURNING 1),
    logged AS (
        INSERT INTO incident_events (incident_id, kind, actor, data)
        SELECT o.target, CASE WHEN o.creates THEN 'created' ELSE 'report_joined' END, 'classification',
               jsonb_build_object('report_id', o.rid, 'category', o.cat, 'priority', o.prio,
                                  'confidence', o.conf, 'reasons', o.reasons, 'area_code', o.area,
                                  'desk_code', o.desk, 'location_source', o.loc_src,
                                  'report_count', o.count_after, 'version', o.version_after)
        FROM outcome o ORDER BY o.n
        RETURNING 1),
    dequeued AS (
        DELETE FROM report_queue q USING it WHERE q.report_id = it.rid
        RETURNING 1)
    -- data-modifying CTEs run once, to completion, whether read or not
    SELECT u.rid, u.target, u.creates, u.replay, u.count_after, u.version_after, u.cat, u.prio_after,
           u.area, u.desk, u.loc_src, u.olat, u.olon, u.occ_at, u.created, u.deadline
    FROM (
        SELECT o.n, o.rid, o.target, o.creates, false AS replay, o.count_after::integer AS count_after,
               o.version_after::bigint AS version_after, o.cat, o.prio_after, o.area, o.desk, o.loc_src,
               o.olat, o.olon, o.occ_at, o.created, o.deadline
        FROM outcome o
        UNION ALL
        -- classified before: the incident as it stands
        SELECT l.n, l.rid, i.id, false, true, i.report_count, i.version, i.category, i.priority, i.area_code,
               i.desk_code, i.location_source, i.lat, i.lon, i.occurred_at, i.created_at, i.ack_deadline
        FROM located l JOIN incidents i ON i.id = l.linked
        UNION ALL
        -- twice in this batch: what the first time did
        SELECT l.n, l.rid, o.target, false, true, o.count_after::integer, o.version_after::bigint, o.cat,
               o.prio_after, o.area, o.desk, o.loc_src, o.olat, o.olon, o.occ_at, o.created, o.deadline
        FROM located l JOIN outcome o ON o.rid = l.rid
        WHERE l.again AND l.linked IS NULL) u
    ORDER BY u.n;
END $$;
