-- 022: what a classification batch's inserts fire costs per batch, not per
-- incident.
--
-- incidents_trend_insert queued each new incident from a row trigger: a
-- PL/pgSQL call and an INSERT per incident (15 us a report at 1,000/s in
-- the bench). It is now one INSERT ... SELECT over the statement's new rows.
CREATE FUNCTION antt_trend_enqueue_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO trend_queue (incident_id) SELECT n.id FROM new_incidents n;
    RETURN NULL;
END $$;
ALTER FUNCTION antt_trend_enqueue_inserted() SECURITY DEFINER SET search_path = public, pg_temp;
DROP TRIGGER incidents_trend_insert ON incidents;
CREATE TRIGGER incidents_trend_insert AFTER INSERT ON incidents
    REFERENCING NEW TABLE AS new_incidents FOR EACH STATEMENT EXECUTE FUNCTION antt_trend_enqueue_inserted();

-- antt_coverage_live (017) walked each new incident's area chain twice, to
-- find its tree's root and to see whether the tree was covered already; it
-- now finds the uncovered areas first (almost always none: coverage starts
-- once per tree) and walks to the root only for those.
CREATE OR REPLACE FUNCTION antt_coverage_live() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH x AS MATERIALIZED (
        SELECT COALESCE(n.area_code, dk.area_code) AS code, min(antt_trend_day(n.created_at)) AS day
          FROM new_incidents n LEFT JOIN desks dk ON dk.code = n.desk_code
         WHERE NOT n.imported GROUP BY 1
    ), uncovered AS MATERIALIZED (
        SELECT x.code, x.day FROM x
         WHERE x.code IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM antt_area_chain(x.code) ch JOIN area_coverage a ON a.area_code = ch.code
                            WHERE a.covered_from <= x.day)
    )
    INSERT INTO area_coverage AS c (area_code, covered_from, source)
    SELECT r.code, min(u.day), 'live'
      FROM uncovered u
     CROSS JOIN LATERAL (SELECT ch.code FROM antt_area_chain(u.code) ch ORDER BY ch.depth DESC LIMIT 1) r
     GROUP BY r.code
    ON CONFLICT (area_code) DO UPDATE SET covered_from = LEAST(c.covered_from, EXCLUDED.covered_from);
    RETURN NULL;
END $$;
-- (CREATE OR REPLACE resets what 017 set on it)
ALTER FUNCTION antt_coverage_live() SECURITY DEFINER SET search_path = public, pg_temp;
