-- 025: a batch that joins open incidents costs in proportion to its size.
--
-- antt_classify_apply's `grown` part (004, 011) found the incidents to grow
-- by `i.id = ANY (ARRAY(<every joined target>)) AND i.id = g.target`, and the
-- planner made the array its index condition: for each joined incident it
-- walked the whole array again, n probes of incidents_pkey for each of n
-- targets (1,225 rows read and thrown away for a batch of 50, 3,744 buffer
-- hits). A batch of 200 reports that join open incidents took 66-71 ms of CPU
-- and takes 29-32 ms with one probe per target. A burst of reports about one
-- event, which is when a desk most needs them, is exactly such a batch. The
-- lookup is now by `i.id = g.target` alone: the function's settings (no
-- sequential scan, no hash or merge join, no material) leave a nested loop
-- over g with one index probe each as the only plan. The rest is 011's
-- function unchanged; the changed line is marked "025".
CREATE OR REPLACE FUNCTION antt_classify_apply(items jsonb, radius_m double precision, window_s integer,
                                    ack_s integer[], unlocated_desk text, leads integer[])
RETURNS TABLE (report_id uuid, incident_id uuid, new_incident boolean, replay boolean,
               report_count integer, version bigint, category text, priority smallint,
               area_code text, desk_code text, location_source text, lat double precision,
               lon double precision, occurred_at timestamptz, created_at timestamptz,
               ack_deadline timestamptz)
LANGUAGE plpgsql
-- The batch query's custom plans cost more to make than to run, so its plan
-- is generic, made once per session. A generic plan made while the tables
-- were small (a fresh database, the first minutes of a stack) chose
-- sequential scans, merge and hash joins over incident_reports and
-- report_queue, and kept them: a worker measured at 77% CPU and 250 ms p99
-- went to 5 ms p50 once reconnected. Every read of a table here is a lookup
-- of a few rows by key, written so that it can only be planned as one:
-- correlated LATERAL ... LIMIT 1 subqueries and = ANY(ARRAY(...)), with
-- sequential scans, merge and hash joins and materialized scans ruled out
-- (the batch's own rows are joined by position, see byn).
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
SET enable_hashjoin = off
SET enable_mergejoin = off
SET enable_material = off
-- (006's jit = off, which CREATE OR REPLACE would otherwise drop)
SET jit = off
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
               (x.e->>'incident_id')::uuid AS new_id,
               -- 011: imported history, and the status it had
               COALESCE((x.e->>'imported')::boolean, false) AS imp, x.e->>'status' AS st
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
        LEFT JOIN LATERAL (SELECT a.code FROM areas a WHERE a.code = it.e->>'area_code' LIMIT 1) ac ON true
        LEFT JOIN LATERAL (
            SELECT a.code FROM areas a
             WHERE a.boundary IS NOT NULL AND a.valid_to IS NULL AND ST_Covers(a.boundary, it.pt)
             ORDER BY antt_level_depth(a.level) DESC, a.code LIMIT 1) pc
          ON ac.code IS NULL AND it.pt IS NOT NULL
        LEFT JOIN LATERAL (SELECT a.code FROM areas a WHERE a.code = it.e->>'address_area' LIMIT 1) aa ON true
        LEFT JOIN LATERAL (SELECT r.incident_id FROM incident_reports r WHERE r.report_id = it.rid LIMIT 1) ir
          ON true),
    owners AS MATERIALIZED (
        SELECT d.area, (SELECT ad.desk_code FROM area_desks ad WHERE ad.area_code = d.area) AS desk
          FROM (SELECT DISTINCT l.area FROM located l WHERE l.area IS NOT NULL) d),
    -- the nearest open incident of the same category within radius and window
    matched AS (
        SELECT l.*, COALESCE(o.desk, (SELECT dd.code FROM desks dd WHERE dd.code = unlocated_desk)) AS desk,
               m.id AS near
        FROM located l
        LEFT JOIN owners o ON o.area = l.area
        LEFT JOIN LATERAL (
            SELECT i.id FROM incidents i
             WHERE i.status NOT IN ('resolved', 'rejected', 'merged') AND i.lat IS NOT NULL
               AND i.category = l.cat AND NOT i.imported -- 011: history is joined by nothing
               AND ST_SetSRID(ST_MakePoint(i.lon, i.lat), 4326)
                   && ST_Expand(l.pt, radius_m / (111320.0 * greatest(cos(radians(ST_Y(l.pt))), 0.01)))
               -- within radius_m: equirectangular distance (error far below
               -- a metre at 150 m; ST_DWithin on geography cost 20 us a probe)
               AND (i.lat - l.plat) ^ 2 + ((i.lon - l.plon) * cos(radians(l.plat))) ^ 2
                   <= (radius_m / 111195.0) ^ 2
               -- (written so that no btree can serve it: the box above, on
               -- the GiST index, is the only way in, whatever the statistics)
               AND abs(extract(epoch FROM i.occurred_at - l.occ)) <= window_s
             ORDER BY ST_SetSRID(ST_MakePoint(i.lon, i.lat), 4326) <-> l.pt, i.created_at
             LIMIT 1) m ON l.pt IS NOT NULL AND l.linked IS NULL AND NOT l.again AND NOT l.imp),
    -- where each fresh report goes: its own match, else its lead's incident
    -- (the lead is looked up by position in arrays: item n is element n)
    byn AS MATERIALIZED (
        SELECT array_agg(m.near ORDER BY m.n) AS near, array_agg(m.linked ORDER BY m.n) AS linked,
               array_agg(m.again ORDER BY m.n) AS again, array_agg(m.new_id ORDER BY m.n) AS new_id,
               array_agg(m.cat ORDER BY m.n) AS cat, array_agg(m.imp ORDER BY m.n) AS imp
        FROM matched m),
    fresh AS (
        SELECT f.*,
               COALESCE(f.near,
                        CASE WHEN f.lead < f.n AND b.cat[f.lead] = f.cat AND NOT f.imp AND NOT b.imp[f.lead]
                             THEN COALESCE(b.linked[f.lead],
                                           CASE WHEN NOT b.again[f.lead]
                                                THEN COALESCE(b.near[f.lead], b.new_id[f.lead]) END) END,
                        f.new_id) AS target
        FROM matched f CROSS JOIN byn b
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
                                    ack_deadline, lat, lon, location_source, reasons, report_count, version,
                                    status, imported, outcome)
        SELECT s.new_id, s.occ, s.cat, s.all_prio, s.conf, s.area, s.desk,
               now() + make_interval(secs => ack_s[s.all_prio]), s.plat, s.plon, s.src, s.reasons, s.k, s.k,
               -- 011: imported history keeps its status; when it was
               -- acknowledged or closed is not known (no invented time)
               CASE WHEN s.imp THEN COALESCE(s.st, 'new') ELSE 'new' END, s.imp,
               CASE WHEN s.imp AND s.st IN ('resolved', 'rejected') THEN 'imported' END
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
         WHERE i.id = g.target -- 025: one probe per target
        RETURNING i.id),
    -- what each report sees: the incident after it was added
    outcome AS (
        SELECT s.n, s.rid, s.target, s.creates, s.cat, s.prio, s.conf, s.reasons, s.src, s.imp, s.st,
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
        FROM seq s
        LEFT JOIN LATERAL (SELECT i.* FROM incidents i WHERE i.id = s.target LIMIT 1) o ON NOT s.creates),
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
               || CASE WHEN o.imp THEN jsonb_build_object('imported', true, 'status', o.st) ELSE '{}' END
        FROM outcome o ORDER BY o.n
        RETURNING 1),
    dequeued AS (
        DELETE FROM report_queue q WHERE q.report_id = ANY (ARRAY(SELECT it.rid FROM it))
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
        FROM located l
        JOIN LATERAL (SELECT i.* FROM incidents i WHERE i.id = l.linked LIMIT 1) i ON true
        UNION ALL
        -- twice in this batch: what the first time did
        SELECT l.n, l.rid, o.target, false, true, o.count_after::integer, o.version_after::bigint, o.cat,
               o.prio_after, o.area, o.desk, o.loc_src, o.olat, o.olon, o.occ_at, o.created, o.deadline
        FROM located l JOIN outcome o ON o.rid = l.rid
        WHERE l.again AND l.linked IS NULL) u
    ORDER BY u.n;
END $$;
