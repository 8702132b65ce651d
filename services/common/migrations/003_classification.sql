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

-- The desk owning an area: its own, else the nearest ancestor's.
CREATE FUNCTION antt_area_desk(area text) RETURNS text
LANGUAGE sql STABLE AS $$
    WITH RECURSIVE up(code, parent_code, n) AS (
        SELECT code, parent_code, 0 FROM areas WHERE code = area
        UNION ALL
        SELECT a.code, a.parent_code, up.n + 1 FROM areas a JOIN up ON a.code = up.parent_code
        WHERE up.n < 16)
    SELECT d.code FROM up JOIN desks d ON d.area_code = up.code ORDER BY up.n LIMIT 1
$$;

-- Records a batch of classified reports in one transaction, in order. Each
-- item (jsonb object): report_id, incident_id (used if a new incident is
-- made), category, priority, confidence, reasons, lat, lon, area_code (given
-- by the gateway), address_area (found in the text by classification),
-- occurred_at, received_at. For each item: find the area and desk; join an
-- open incident of the same category within radius_m and window_s, else make
-- one; link the report; append an event; delete its report_queue row. A
-- report already linked changes nothing (replay = true).
-- Duplicate search is serialized per category by advisory locks taken in
-- a fixed order, so concurrent workers cannot both make an incident for two
-- reports of one event.
CREATE FUNCTION antt_classify_apply(items jsonb, radius_m double precision, window_s integer,
                                    ack_s integer[], unlocated_desk text)
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
DECLARE
    r record;
    inc incidents%ROWTYPE;
    dup uuid;
    k integer;
    nl integer := 0;
    occ timestamptz;
    -- links and events of this batch, written with one statement each at the end
    l_report uuid[] := '{}';
    l_incident uuid[] := '{}';
    l_cat text[] := '{}';
    l_prio smallint[] := '{}';
    l_conf real[] := '{}';
    l_reasons jsonb[] := '{}';
    e_kind text[] := '{}';
    e_data jsonb[] := '{}';
BEGIN
    PERFORM pg_advisory_xact_lock(1635020917, hashtext(c))
       FROM (SELECT DISTINCT e->>'category' AS c FROM jsonb_array_elements(items) e ORDER BY 1) s;

    -- every item leaves the queue, whether classified now or before
    DELETE FROM report_queue q USING jsonb_array_elements(items) e WHERE q.report_id = (e->>'report_id')::uuid;

    -- jurisdiction of the whole batch at once: area code, else the deepest
    -- valid area whose boundary covers the point, else the area named in the
    -- text; then the desk of the area or of its nearest ancestor
    FOR r IN
        WITH it AS (
            SELECT x.n, x.e, (x.e->>'report_id')::uuid AS rid,
                   CASE WHEN x.e->>'lat' IS NOT NULL AND x.e->>'lon' IS NOT NULL
                        THEN ST_SetSRID(ST_MakePoint((x.e->>'lon')::float8, (x.e->>'lat')::float8), 4326)
                   END AS pt
            FROM jsonb_array_elements(items) WITH ORDINALITY AS x(e, n)),
        located AS (
            SELECT it.*, COALESCE(ac.code, pc.code, aa.code) AS area,
                   CASE WHEN ac.code IS NOT NULL THEN 'area_code' WHEN pc.code IS NOT NULL THEN 'coordinates'
                        WHEN aa.code IS NOT NULL THEN 'address' ELSE 'unknown' END AS src
            FROM it
            LEFT JOIN areas ac ON ac.code = it.e->>'area_code'
            LEFT JOIN LATERAL (
                SELECT a.code FROM areas a
                 WHERE a.boundary IS NOT NULL AND a.valid_to IS NULL AND ST_Covers(a.boundary, it.pt)
                 ORDER BY antt_level_depth(a.level) DESC, a.code LIMIT 1) pc
              ON ac.code IS NULL AND it.pt IS NOT NULL
            LEFT JOIN areas aa ON aa.code = it.e->>'address_area'),
        owners AS (
            SELECT d.area, antt_area_desk(d.area) AS desk
            FROM (SELECT DISTINCT area FROM located WHERE area IS NOT NULL) d)
        SELECT l.n, l.e, l.rid, l.pt, l.area, l.src,
               COALESCE(o.desk, (SELECT dd.code FROM desks dd WHERE dd.code = unlocated_desk)) AS desk,
               ir.incident_id AS linked
        FROM located l
        LEFT JOIN owners o ON o.area = l.area
        LEFT JOIN incident_reports ir ON ir.report_id = l.rid
        ORDER BY l.n
    LOOP
        -- classified before (or earlier in this batch): change nothing
        k := array_position(l_report, r.rid);
        IF r.linked IS NOT NULL OR k IS NOT NULL THEN
            SELECT * INTO inc FROM incidents i WHERE i.id = COALESCE(r.linked, l_incident[k]);
            report_id := r.rid; incident_id := inc.id; new_incident := false; replay := true;
            report_count := inc.report_count; version := inc.version; category := inc.category;
            priority := inc.priority; area_code := inc.area_code; desk_code := inc.desk_code;
            location_source := inc.location_source; lat := inc.lat; lon := inc.lon;
            occurred_at := inc.occurred_at; created_at := inc.created_at; ack_deadline := inc.ack_deadline;
            RETURN NEXT;
            CONTINUE;
        END IF;

        occ := COALESCE((r.e->>'occurred_at')::timestamptz, (r.e->>'received_at')::timestamptz, now());

        -- duplicates: same category, open, within radius and time window
        dup := NULL;
        IF r.pt IS NOT NULL THEN
            SELECT i.id INTO dup FROM incidents i
             WHERE i.status IN ('new', 'acknowledged', 'assigned') AND i.lat IS NOT NULL
               AND i.category = r.e->>'category'
               AND ST_SetSRID(ST_MakePoint(i.lon, i.lat), 4326)
                   && ST_Expand(r.pt, radius_m / (111320.0 * greatest(cos(radians(ST_Y(r.pt))), 0.01)))
               AND ST_DWithin(ST_SetSRID(ST_MakePoint(i.lon, i.lat), 4326)::geography, r.pt::geography, radius_m)
               AND i.occurred_at BETWEEN occ - make_interval(secs => window_s)
                                     AND occ + make_interval(secs => window_s)
             ORDER BY ST_SetSRID(ST_MakePoint(i.lon, i.lat), 4326) <-> r.pt, i.created_at
             LIMIT 1;
        END IF;

        IF dup IS NULL THEN
            INSERT INTO incidents AS i (id, occurred_at, category, priority, confidence, area_code, desk_code,
                                        ack_deadline, lat, lon, location_source, reasons)
            VALUES ((r.e->>'incident_id')::uuid, occ, r.e->>'category', (r.e->>'priority')::smallint,
                    (r.e->>'confidence')::real, r.area, r.desk,
                    now() + make_interval(secs => ack_s[(r.e->>'priority')::integer]),
                    (r.e->>'lat')::float8, (r.e->>'lon')::float8, r.src, COALESCE(r.e->'reasons', '[]'))
            RETURNING i.* INTO inc;
        ELSE
            -- a more urgent report raises the incident's priority and deadline
            UPDATE incidents i SET report_count = i.report_count + 1, version = i.version + 1,
                   updated_at = now(),
                   priority = LEAST(i.priority, (r.e->>'priority')::smallint),
                   ack_deadline = CASE WHEN (r.e->>'priority')::smallint < i.priority
                                       THEN LEAST(i.ack_deadline,
                                                  now() + make_interval(secs => ack_s[(r.e->>'priority')::integer]))
                                       ELSE i.ack_deadline END
             WHERE i.id = dup
            RETURNING i.* INTO inc;
        END IF;

        -- element assignment extends plpgsql's expanded arrays in place
        -- (appending with || would copy them for every report)
        nl := nl + 1;
        l_report[nl] := r.rid;
        l_incident[nl] := inc.id;
        l_cat[nl] := r.e->>'category';
        l_prio[nl] := (r.e->>'priority')::smallint;
        l_conf[nl] := (r.e->>'confidence')::real;
        l_reasons[nl] := COALESCE(r.e->'reasons', '[]');
        e_kind[nl] := CASE WHEN dup IS NULL THEN 'created' ELSE 'report_joined' END;
        e_data[nl] := jsonb_build_object('report_id', r.rid, 'category', r.e->>'category',
                                         'priority', (r.e->>'priority')::smallint,
                                         'confidence', (r.e->>'confidence')::real,
                                         'reasons', COALESCE(r.e->'reasons', '[]'),
                                         'area_code', r.area, 'desk_code', r.desk, 'location_source', r.src,
                                         'report_count', inc.report_count, 'version', inc.version);

        report_id := r.rid; incident_id := inc.id; new_incident := dup IS NULL; replay := false;
        report_count := inc.report_count; version := inc.version; category := inc.category;
        priority := inc.priority; area_code := inc.area_code; desk_code := inc.desk_code;
        location_source := inc.location_source; lat := inc.lat; lon := inc.lon;
        occurred_at := inc.occurred_at; created_at := inc.created_at; ack_deadline := inc.ack_deadline;
        RETURN NEXT;
    END LOOP;

    INSERT INTO incident_reports (report_id, incident_id, category, priority, confidence, reasons)
    SELECT * FROM unnest(l_report, l_incident, l_cat, l_prio, l_conf, l_reasons);
    INSERT INTO incident_events (incident_id, kind, actor, data)
    SELECT u.i, u.k, 'classification', u.d FROM unnest(l_incident, e_kind, e_data) AS u(i, k, d);
END $$;
