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

-- Open incidents near a point, for duplicate search.
CREATE INDEX incidents_open_geo_idx ON incidents
    USING gist ((ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geography))
    WHERE status IN ('new', 'acknowledged', 'assigned') AND lat IS NOT NULL;

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
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    it jsonb;
    cat text;
    rid uuid;
    iid uuid;
    prio smallint;
    pt geometry;
    ar text;
    src text;
    dk text;
    occ timestamptz;
    dup uuid;
    inc incidents%ROWTYPE;
BEGIN
    PERFORM pg_advisory_xact_lock(1635020917, hashtext(c))
       FROM (SELECT DISTINCT e->>'category' AS c FROM jsonb_array_elements(items) e ORDER BY 1) s;

    FOR it IN SELECT * FROM jsonb_array_elements(items) LOOP
        rid := (it->>'report_id')::uuid;
        cat := it->>'category';
        prio := (it->>'priority')::smallint;
        DELETE FROM report_queue q WHERE q.report_id = rid;

        SELECT ir.incident_id INTO iid FROM incident_reports ir WHERE ir.report_id = rid;
        IF FOUND THEN
            SELECT * INTO inc FROM incidents i WHERE i.id = iid;
            RETURN QUERY SELECT rid, inc.id, false, true, inc.report_count, inc.version, inc.category,
                inc.priority, inc.area_code, inc.desk_code, inc.location_source, inc.lat, inc.lon,
                inc.occurred_at, inc.created_at, inc.ack_deadline;
            CONTINUE;
        END IF;

        occ := COALESCE((it->>'occurred_at')::timestamptz, (it->>'received_at')::timestamptz, now());
        pt := NULL;
        IF it->>'lat' IS NOT NULL AND it->>'lon' IS NOT NULL THEN
            pt := ST_SetSRID(ST_MakePoint((it->>'lon')::float8, (it->>'lat')::float8), 4326);
        END IF;

        -- jurisdiction: area code, else coordinates, else the text
        ar := NULL;
        src := 'unknown';
        IF it->>'area_code' IS NOT NULL THEN
            SELECT a.code INTO ar FROM areas a WHERE a.code = it->>'area_code';
            IF FOUND THEN src := 'area_code'; END IF;
        END IF;
        IF ar IS NULL AND pt IS NOT NULL THEN
            SELECT a.code INTO ar FROM areas a
             WHERE a.boundary IS NOT NULL AND a.valid_to IS NULL AND ST_Covers(a.boundary, pt)
             ORDER BY antt_level_depth(a.level) DESC, a.code LIMIT 1;
            IF FOUND THEN src := 'coordinates'; END IF;
        END IF;
        IF ar IS NULL AND it->>'address_area' IS NOT NULL THEN
            SELECT a.code INTO ar FROM areas a WHERE a.code = it->>'address_area';
            IF FOUND THEN src := 'address'; END IF;
        END IF;
        dk := CASE WHEN ar IS NOT NULL THEN antt_area_desk(ar) END;
        IF dk IS NULL THEN
            SELECT d.code INTO dk FROM desks d WHERE d.code = unlocated_desk;
        END IF;

        -- duplicates: same category, open, within radius and time window
        dup := NULL;
        IF pt IS NOT NULL THEN
            SELECT i.id INTO dup FROM incidents i
             WHERE i.status IN ('new', 'acknowledged', 'assigned') AND i.lat IS NOT NULL
               AND i.category = cat
               AND ST_DWithin(ST_SetSRID(ST_MakePoint(i.lon, i.lat), 4326)::geography, pt::geography, radius_m)
               AND i.occurred_at BETWEEN occ - make_interval(secs => window_s)
                                     AND occ + make_interval(secs => window_s)
             ORDER BY ST_SetSRID(ST_MakePoint(i.lon, i.lat), 4326)::geography <-> pt::geography, i.created_at
             LIMIT 1;
        END IF;

        IF dup IS NULL THEN
            INSERT INTO incidents AS i (id, occurred_at, category, priority, confidence, area_code, desk_code,
                                        ack_deadline, lat, lon, location_source, reasons)
            VALUES ((it->>'incident_id')::uuid, occ, cat, prio, (it->>'confidence')::real, ar, dk,
                    now() + make_interval(secs => ack_s[prio]),
                    (it->>'lat')::float8, (it->>'lon')::float8, src, COALESCE(it->'reasons', '[]'))
            RETURNING i.* INTO inc;
        ELSE
            -- a more urgent report raises the incident's priority and deadline
            UPDATE incidents i SET report_count = i.report_count + 1, version = i.version + 1,
                   updated_at = now(),
                   priority = LEAST(i.priority, prio),
                   ack_deadline = CASE WHEN prio < i.priority
                                       THEN LEAST(i.ack_deadline, now() + make_interval(secs => ack_s[prio]))
                                       ELSE i.ack_deadline END
             WHERE i.id = dup
            RETURNING i.* INTO inc;
        END IF;

        INSERT INTO incident_reports (report_id, incident_id, category, priority, confidence, reasons)
        VALUES (rid, inc.id, cat, prio, (it->>'confidence')::real, COALESCE(it->'reasons', '[]'));
        INSERT INTO incident_events (incident_id, kind, actor, data)
        VALUES (inc.id, CASE WHEN dup IS NULL THEN 'created' ELSE 'report_joined' END, 'classification',
                jsonb_build_object('report_id', rid, 'category', cat, 'priority', prio,
                                   'confidence', (it->>'confidence')::real,
                                   'reasons', COALESCE(it->'reasons', '[]'),
                                   'area_code', ar, 'desk_code', dk, 'location_source', src,
                                   'report_count', inc.report_count, 'version', inc.version));

        RETURN QUERY SELECT rid, inc.id, dup IS NULL, false, inc.report_count, inc.version, inc.category,
            inc.priority, inc.area_code, inc.desk_code, inc.location_source, inc.lat, inc.lon,
            inc.occurred_at, inc.created_at, inc.ack_deadline;
    END LOOP;
END $$;
