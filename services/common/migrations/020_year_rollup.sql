-- 020: a year rollup beside the day and month ones, and period reads that
-- take the fewest buckets.
--
-- With the khu phố as leaf areas a district's year is some 11,000 month rows
-- (about 60 leaves x 20 categories x 12 months) and its summary read two of
-- them (the year and the year before): 46 ms p50, 91 ms p99 over a million
-- incidents, against a target of 50 ms p99. A year row per leaf area and
-- category makes a closed year ~1,100 rows, and a year to date is its year
-- less the days after today (none), so both the summary's periods read a
-- tenth of the rows. The drain writes one row more per change (d, m and y).

ALTER TABLE trend_counts DROP CONSTRAINT trend_counts_grain_check;
ALTER TABLE trend_counts ADD CONSTRAINT trend_counts_grain_check CHECK (grain IN ('d', 'm', 'y'));
ALTER TABLE trend_solved DROP CONSTRAINT trend_solved_grain_check;
ALTER TABLE trend_solved ADD CONSTRAINT trend_solved_grain_check CHECK (grain IN ('d', 'm', 'y'));

INSERT INTO trend_counts
SELECT area_code, 'y', date_trunc('year', bucket)::date, category, sum(n1), sum(n2), sum(n3), sum(n4)
  FROM trend_counts WHERE grain = 'm' GROUP BY 1, 2, 3, 4;
INSERT INTO trend_solved
SELECT area_code, 'y', date_trunc('year', bucket)::date, category, sum(solved), sum(arrested)
  FROM trend_solved WHERE grain = 'm' GROUP BY 1, 2, 3, 4;

-- The bucket of a day at a grain.
CREATE FUNCTION antt_grain_bucket(g "char", d date) RETURNS date LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE g WHEN 'd' THEN d WHEN 'm' THEN date_trunc('month', d)::date ELSE date_trunc('year', d)::date END
$$;

-- ---- reading a period in the fewest buckets -------------------------------

-- A signed range of whole buckets of one grain: the period is the sum of
-- its pieces, each counted sg (+1 or -1) times.
CREATE TYPE antt_trend_piece AS (grain "char", f date, t date, sg integer);

-- How many buckets the pieces read.
CREATE FUNCTION antt_pieces_cost(p antt_trend_piece[]) RETURNS integer LANGUAGE sql IMMUTABLE AS $$
    SELECT COALESCE(sum(CASE x.grain WHEN 'd' THEN x.t - x.f
                                     WHEN 'm' THEN (extract(year FROM age(x.t, x.f)) * 12 + extract(month FROM age(x.t, x.f)))::integer
                                     ELSE extract(year FROM age(x.t, x.f))::integer END), 0)::integer
      FROM unnest(p) x
$$;

CREATE FUNCTION antt_pieces_neg(p antt_trend_piece[]) RETURNS antt_trend_piece[] LANGUAGE sql IMMUTABLE AS $$
    SELECT COALESCE(array_agg(ROW(x.grain, x.f, x.t, -x.sg)::antt_trend_piece), '{}') FROM unnest(p) x
$$;

-- [a, b) at grain g ('m' or 'y') and the grain below it (days below months,
-- months below years): whole buckets of g, and each ragged edge either as
-- the grain below or as its whole bucket less the part outside, whichever
-- reads fewer buckets.
CREATE FUNCTION antt_trend_pieces_at(a date, b date, g "char") RETURNS antt_trend_piece[]
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    step interval := CASE g WHEN 'm' THEN interval '1 month' ELSE interval '1 year' END;
    lo "char" := CASE g WHEN 'm' THEN 'd' ELSE 'm' END;  -- the grain below
    s date;
    e date;
    g0 date;
    g1 date;
    p antt_trend_piece[] := '{}';
    x antt_trend_piece[];
    y antt_trend_piece[];
BEGIN
    IF b <= a THEN
        RETURN p;
    END IF;
    IF g = 'd' THEN
        RETURN ARRAY[ROW('d', a, b, 1)::antt_trend_piece];
    END IF;
    s := antt_grain_bucket(g, a);
    IF antt_grain_bucket(g, b - 1) = s THEN
        -- within one bucket: the grain below, or the bucket less both sides
        e := (s + step)::date;
        x := antt_trend_pieces_at(a, b, lo);
        y := ARRAY[ROW(g, s, e, 1)::antt_trend_piece]
             || antt_pieces_neg(antt_trend_pieces_at(s, a, lo))
             || antt_pieces_neg(antt_trend_pieces_at(b, e, lo));
        RETURN CASE WHEN antt_pieces_cost(y) < antt_pieces_cost(x) THEN y ELSE x END;
    END IF;
    g0 := CASE WHEN s = a THEN a ELSE (s + step)::date END;
    g1 := antt_grain_bucket(g, b);
    IF g0 < g1 THEN
        p := p || ROW(g, g0, g1, 1)::antt_trend_piece;
    END IF;
    IF a < g0 THEN  -- the head [a, g0): one bucket, partly
        p := p || antt_trend_pieces_at(a, g0, g);
    END IF;
    IF g1 < b THEN  -- the tail [g1, b)
        p := p || antt_trend_pieces_at(g1, b, g);
    END IF;
    RETURN p;
END $$;

-- [d0, d1) in the fewest buckets of the day, month and year rollups. A
-- closed year is its year row; a year to date is its year less the days
-- after today, of which the rollups hold none.
CREATE FUNCTION antt_trend_pieces(d0 date, d1 date) RETURNS SETOF antt_trend_piece
LANGUAGE sql IMMUTABLE ROWS 3 AS $$
    SELECT * FROM unnest(antt_trend_pieces_at(d0, d1, 'y'))
$$;

-- The rollup rows of [d0, d1) over the given leaf areas summed per area and
-- category, from the pieces of the period: each is one range of the primary
-- key. (Integer sums: a sum of bigint is numeric, four times slower.)
CREATE FUNCTION antt_trend_sums(areas text[], d0 date, d1 date)
RETURNS TABLE (area_code text, category text, n1 integer, n2 integer, n3 integer, n4 integer)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    SELECT c.area_code, c.category, sum(s.sg * c.n1)::integer, sum(s.sg * c.n2)::integer,
           sum(s.sg * c.n3)::integer, sum(s.sg * c.n4)::integer
      FROM antt_trend_pieces(d0, d1) s
     CROSS JOIN LATERAL (SELECT x.* FROM trend_counts x
                          WHERE x.area_code = ANY (areas) AND x.grain = s.grain
                            AND x.bucket >= s.f AND x.bucket < s.t) c
     GROUP BY 1, 2;
END $$
-- a district is most of the table: without this the planner reads all of it
-- (in parallel) where a few ranges of the key are wanted, or hashes the
-- pieces against all of the district's rows
SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off
SET max_parallel_workers_per_gather = 0 SET jit = off;

-- Counted incidents in [d0, d1) over the given leaf areas, per area,
-- category and priority.
CREATE OR REPLACE FUNCTION antt_trend_cells(areas text[], d0 date, d1 date) RETURNS SETOF antt_trend_cell
LANGUAGE sql STABLE AS $$
    SELECT w.area_code, w.category, p.p::smallint,
           (CASE p.p WHEN 1 THEN w.n1 WHEN 2 THEN w.n2 WHEN 3 THEN w.n3 ELSE w.n4 END)::bigint
      FROM antt_trend_sums(areas, d0, d1) w CROSS JOIN (VALUES (1), (2), (3), (4)) p(p)
     WHERE CASE p.p WHEN 1 THEN w.n1 WHEN 2 THEN w.n2 WHEN 3 THEN w.n3 ELSE w.n4 END <> 0
$$;

-- Solved incidents and suspects arrested in [d0, d1) over the leaf areas,
-- per category, read as the counts are.
CREATE FUNCTION antt_solved_cells(areas text[], d0 date, d1 date)
RETURNS TABLE (category text, solved bigint, arrested bigint)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    SELECT t.category, sum(s.sg * t.solved)::bigint, sum(s.sg * t.arrested)::bigint
      FROM antt_trend_pieces(d0, d1) s
     CROSS JOIN LATERAL (SELECT x.* FROM trend_solved x
                          WHERE x.area_code = ANY (areas) AND x.grain = s.grain
                            AND x.bucket >= s.f AND x.bucket < s.t) t
     GROUP BY 1;
END $$
SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off
SET max_parallel_workers_per_gather = 0 SET jit = off;

-- ---- writing the year rows ------------------------------------------------

-- The drain (antt_trend_apply_ids), the rebuild and the solved rollup's
-- triggers as in 007 and 017, writing the year row with the day and month
-- ones.
CREATE OR REPLACE FUNCTION antt_trend_apply_ids(ids uuid[])
RETURNS TABLE (area_code text, day date, category text, delta bigint, changed_at timestamptz)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    PERFORM pg_advisory_xact_lock(7470001);
    RETURN QUERY
    WITH tgt AS (
        -- changed_at: when the incident's row was committed (with
        -- track_commit_timestamp on), else when its transaction began
        SELECT t.*, COALESCE(CASE WHEN current_setting('track_commit_timestamp') = 'on'
                                  THEN pg_xact_commit_timestamp(i.xmin) END, i.updated_at) AS updated_at
          FROM trend_targets t JOIN incidents i ON i.id = t.incident_id
         WHERE t.incident_id = ANY (ids)
    ), old AS (
        SELECT c.* FROM trend_contributions c WHERE c.incident_id = ANY (ids)
    ), diff AS (
        -- the incidents whose contribution changed: withdraw old, add new
        SELECT -1 AS sign, o.area_code, o.day, o.category, o.priority, o.counted, o.resolved,
               o.escalated, o.ack_s, o.resolve_s, NULL::timestamptz AS changed_at
          FROM old o LEFT JOIN tgt t ON t.incident_id = o.incident_id
         WHERE t.incident_id IS NULL
            OR (o.area_code, o.day, o.category, o.priority, o.counted, o.resolved, o.escalated, o.ack_s, o.resolve_s)
               IS DISTINCT FROM
               (t.area_code, t.day, t.category, t.priority, t.counted, t.resolved, t.escalated, t.ack_s, t.resolve_s)
        UNION ALL
        SELECT 1, t.area_code, t.day, t.category, t.priority, t.counted, t.resolved,
               t.escalated, t.ack_s, t.resolve_s, t.updated_at
          FROM tgt t LEFT JOIN old o ON o.incident_id = t.incident_id
         WHERE t.area_code IS NOT NULL
           AND (o.incident_id IS NULL
            OR (o.area_code, o.day, o.category, o.priority, o.counted, o.resolved, o.escalated, o.ack_s, o.resolve_s)
               IS DISTINCT FROM
               (t.area_code, t.day, t.category, t.priority, t.counted, t.resolved, t.escalated, t.ack_s, t.resolve_s))
    ), saved AS (
        INSERT INTO trend_contributions AS c
        SELECT t.incident_id, t.version, t.area_code, t.day, t.category, t.priority, t.counted,
               t.resolved, t.escalated, t.ack_s, t.resolve_s
          FROM tgt t WHERE t.area_code IS NOT NULL
        ON CONFLICT (incident_id) DO UPDATE SET
            version = EXCLUDED.version, area_code = EXCLUDED.area_code, day = EXCLUDED.day,
            category = EXCLUDED.category, priority = EXCLUDED.priority, counted = EXCLUDED.counted,
            resolved = EXCLUDED.resolved, escalated = EXCLUDED.escalated, ack_s = EXCLUDED.ack_s,
            resolve_s = EXCLUDED.resolve_s
    ), dropped AS (
        -- an incident that no longer has an area (or a row) contributes nothing
        DELETE FROM trend_contributions c
         WHERE c.incident_id = ANY (ids)
           AND NOT EXISTS (SELECT 1 FROM tgt t WHERE t.incident_id = c.incident_id AND t.area_code IS NOT NULL)
    ), counts AS (
        SELECT d.area_code, g.grain, antt_grain_bucket(g.grain, d.day) AS bucket,
               d.category,
               COALESCE(sum(d.sign) FILTER (WHERE d.priority = 1), 0)::integer AS n1,
               COALESCE(sum(d.sign) FILTER (WHERE d.priority = 2), 0)::integer AS n2,
               COALESCE(sum(d.sign) FILTER (WHERE d.priority = 3), 0)::integer AS n3,
               COALESCE(sum(d.sign) FILTER (WHERE d.priority >= 4), 0)::integer AS n4
          FROM diff d CROSS JOIN (VALUES ('d'::"char"), ('m'::"char"), ('y'::"char")) g(grain)
         WHERE d.counted
         GROUP BY 1, 2, 3, 4
    ), up AS (
        -- (data-modifying WITH parts always run, whether read or not; all
        -- parts see the snapshot from before any of them)
        INSERT INTO trend_counts AS c SELECT * FROM counts
        ON CONFLICT (area_code, grain, bucket, category) DO UPDATE SET
            n1 = c.n1 + EXCLUDED.n1, n2 = c.n2 + EXCLUDED.n2, n3 = c.n3 + EXCLUDED.n3, n4 = c.n4 + EXCLUDED.n4
    ), oc AS (
        INSERT INTO trend_outcomes AS o
        SELECT d.area_code, date_trunc('month', d.day)::date, d.priority, sum(d.sign)::integer,
               sum(d.sign * d.resolved::integer)::integer, sum(d.sign * d.escalated::integer)::integer
          FROM diff d WHERE d.counted
         GROUP BY 1, 2, 3
        ON CONFLICT (area_code, month, priority) DO UPDATE SET
            n = o.n + EXCLUDED.n, resolved = o.resolved + EXCLUDED.resolved, escalated = o.escalated + EXCLUDED.escalated
    ), rt AS (
        INSERT INTO trend_response AS r
        SELECT d.area_code, date_trunc('month', d.day)::date, d.priority, m.metric,
               antt_rt_bucket(CASE m.metric WHEN 'a' THEN d.ack_s ELSE d.resolve_s END), sum(d.sign)::integer
          FROM diff d CROSS JOIN (VALUES ('a'::"char"), ('r'::"char")) m(metric)
         WHERE d.counted AND CASE m.metric WHEN 'a' THEN d.ack_s ELSE d.resolve_s END IS NOT NULL
         GROUP BY 1, 2, 3, 4, 5
        ON CONFLICT (area_code, month, priority, metric, bucket) DO UPDATE SET n = r.n + EXCLUDED.n
    )
    SELECT d.area_code, d.day, d.category, sum(d.sign)::bigint, min(d.changed_at)
      FROM diff d
     WHERE d.counted
     GROUP BY 1, 2, 3
    HAVING sum(d.sign) <> 0;
END $$
SET enable_seqscan = off SET jit = off;
CREATE OR REPLACE FUNCTION antt_trend_rebuild() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    counted bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(7470001);
    TRUNCATE trend_contributions, trend_counts, trend_outcomes, trend_response;
    DELETE FROM trend_queue;
    INSERT INTO trend_contributions
    SELECT t.incident_id, t.version, t.area_code, t.day, t.category, t.priority, t.counted,
           t.resolved, t.escalated, t.ack_s, t.resolve_s
      FROM trend_targets t WHERE t.area_code IS NOT NULL;
    INSERT INTO trend_counts
    SELECT c.area_code, g.grain, antt_grain_bucket(g.grain, c.day),
           c.category, count(*) FILTER (WHERE c.priority = 1), count(*) FILTER (WHERE c.priority = 2),
           count(*) FILTER (WHERE c.priority = 3), count(*) FILTER (WHERE c.priority >= 4)
      FROM trend_contributions c CROSS JOIN (VALUES ('d'::"char"), ('m'::"char"), ('y'::"char")) g(grain)
     WHERE c.counted
     GROUP BY 1, 2, 3, 4;
    INSERT INTO trend_outcomes
    SELECT c.area_code, date_trunc('month', c.day)::date, c.priority, count(*),
           count(*) FILTER (WHERE c.resolved), count(*) FILTER (WHERE c.escalated)
      FROM trend_contributions c WHERE c.counted
     GROUP BY 1, 2, 3;
    INSERT INTO trend_response
    SELECT c.area_code, date_trunc('month', c.day)::date, c.priority, m.metric,
           antt_rt_bucket(CASE m.metric WHEN 'a' THEN c.ack_s ELSE c.resolve_s END), count(*)
      FROM trend_contributions c CROSS JOIN (VALUES ('a'::"char"), ('r'::"char")) m(metric)
     WHERE c.counted AND CASE m.metric WHEN 'a' THEN c.ack_s ELSE c.resolve_s END IS NOT NULL
     GROUP BY 1, 2, 3, 4, 5;
    UPDATE trend_meta SET generation = generation + 1, rebuilt_at = now();
    SELECT count(*) INTO counted FROM trend_contributions WHERE trend_contributions.counted;
    RETURN counted;
END $$;
CREATE OR REPLACE FUNCTION antt_solved_apply(i incidents, sign integer) RETURNS void LANGUAGE sql AS $$
    INSERT INTO trend_solved AS t (area_code, grain, bucket, category, solved, arrested)
    SELECT x.area, g.grain, antt_grain_bucket(g.grain, x.day),
           i.category, sign, sign * COALESCE(i.arrested, 0)
      FROM (SELECT COALESCE(i.area_code, (SELECT dk.area_code FROM desks dk WHERE dk.code = i.desk_code)) AS area,
                   antt_trend_day(COALESCE(i.occurred_at, i.created_at)) AS day) x
     CROSS JOIN (VALUES ('d'::"char"), ('m'::"char"), ('y'::"char")) g(grain)
     WHERE i.status = 'resolved' AND i.outcome = 'solved' AND x.area IS NOT NULL
    ON CONFLICT (area_code, grain, bucket, category) DO UPDATE SET solved = t.solved + EXCLUDED.solved,
        arrested = t.arrested + EXCLUDED.arrested
$$;
CREATE OR REPLACE FUNCTION antt_solved_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO trend_solved AS t (area_code, grain, bucket, category, solved, arrested)
    SELECT x.area, g.grain, antt_grain_bucket(g.grain, x.day),
           x.category, count(*), sum(COALESCE(x.arrested, 0))
      FROM (SELECT COALESCE(n.area_code, dk.area_code) AS area, antt_trend_day(COALESCE(n.occurred_at, n.created_at)) AS day,
                   n.category, n.arrested
              FROM new_incidents n LEFT JOIN desks dk ON dk.code = n.desk_code
             WHERE n.status = 'resolved' AND n.outcome = 'solved') x
     CROSS JOIN (VALUES ('d'::"char"), ('m'::"char"), ('y'::"char")) g(grain)
     WHERE x.area IS NOT NULL
     GROUP BY 1, 2, 3, 4
    ON CONFLICT (area_code, grain, bucket, category) DO UPDATE SET solved = t.solved + EXCLUDED.solved,
        arrested = t.arrested + EXCLUDED.arrested;
    RETURN NULL;
END $$;
-- (CREATE OR REPLACE resets what 017 set on it)
ALTER FUNCTION antt_solved_inserted() SECURITY DEFINER SET search_path = public, pg_temp;

-- A period's counts per leaf area, statistic group and priority, and per
-- leaf area and priority over every category (group_code NULL): what the
-- summary sums (a district's year: some 900 cells, where its categories are
-- 3,400).
CREATE TYPE antt_group_cell AS (area_code text, group_code text, priority smallint, n bigint);

CREATE FUNCTION antt_trend_group_cells(areas text[], d0 date, d1 date) RETURNS SETOF antt_group_cell
LANGUAGE sql STABLE AS $$
    WITH w AS (
        SELECT * FROM antt_trend_sums(areas, d0, d1)
    ), g AS (
        SELECT w.area_code, NULL::text AS group_code, sum(w.n1) AS n1, sum(w.n2) AS n2, sum(w.n3) AS n3,
               sum(w.n4) AS n4
          FROM w GROUP BY 1
        UNION ALL
        SELECT w.area_code, m.group_code, sum(w.n1), sum(w.n2), sum(w.n3), sum(w.n4)
          FROM w JOIN stat_group_members m ON m.category = w.category GROUP BY 1, 2
    )
    SELECT g.area_code, g.group_code, p.p::smallint,
           (CASE p.p WHEN 1 THEN g.n1 WHEN 2 THEN g.n2 WHEN 3 THEN g.n3 ELSE g.n4 END)::bigint
      FROM g CROSS JOIN (VALUES (1), (2), (3), (4)) p(p)
     WHERE CASE p.p WHEN 1 THEN g.n1 WHEN 2 THEN g.n2 WHEN 3 THEN g.n3 ELSE g.n4 END <> 0
$$;

DROP FUNCTION antt_summary_standard(text, text[], boolean, text, antt_trend_cell[], date);

-- The standard at one level below an area for [d0, d1) from the period's
-- group cells (as 017's, which read every category's cells): every area of that level under `area` (areas: antt_area_set(area)) that existed at the end of
-- the period, against every rule of the level. An area outside coverage
-- meets nothing. unplaced: the cases counted above that level (an incident
-- with only a ward code cannot be placed in a khu phố).
CREATE FUNCTION antt_summary_standard(area text, areas text[], covered boolean, lvl text, cur antt_group_cell[],
                                      d1 date) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    WITH RECURSIVE ch AS (
        -- covered: the area is (then so is all below it), or the child is
        SELECT c.code, c.name, covered OR COALESCE(antt_covered_from(c.code) < d1, false) AS covered FROM areas c
         WHERE c.code = ANY (areas) AND c.code <> area AND c.level = lvl
           AND c.valid_from < d1 AND (c.valid_to IS NULL OR c.valid_to >= d1 - 1)
    ), down(child, area_code) AS (
        -- each child's tree in one walk; with successions, antt_area_set per child
        SELECT ch.code, ch.code FROM ch WHERE NOT EXISTS (SELECT 1 FROM area_successors)
        UNION ALL
        SELECT d.child, a.code FROM areas a JOIN down d ON a.parent_code = d.area_code
    ), leaf AS (
        SELECT child, area_code FROM down
        UNION ALL
        SELECT ch.code, unnest(antt_area_set(ch.code)) FROM ch WHERE EXISTS (SELECT 1 FROM area_successors)
    ), rc AS (
        SELECT r.id, r.max_count, r.max_priority, r.group_code FROM area_standard_rules r WHERE r.level = lvl
    ), per AS (
        -- a rule of a group reads the group's cells, a rule of every
        -- category the cells of all (group_code NULL)
        SELECT l.child, rc.id, sum(x.n) AS n
          FROM unnest(cur) x JOIN leaf l ON l.area_code = x.area_code
          JOIN rc ON rc.group_code IS NOT DISTINCT FROM x.group_code
                 AND (rc.max_priority IS NULL OR x.priority <= rc.max_priority)
         GROUP BY 1, 2
    ), counts AS (
        SELECT ch.code, ch.name, ch.covered, rc.id, rc.max_count, COALESCE(per.n, 0) AS n
          FROM ch CROSS JOIN rc LEFT JOIN per ON per.child = ch.code AND per.id = rc.id
    ), ok AS (
        SELECT code, name, covered, covered AND bool_and(n <= max_count) AS met FROM counts GROUP BY code, name, covered
    )
    SELECT jsonb_build_object(
        'level', lvl, 'level_name', antt_level_vi(lvl),
        'met', (SELECT count(*) FILTER (WHERE met) FROM ok), 'total', (SELECT count(*) FROM ok),
        'covered', (SELECT count(*) FILTER (WHERE covered) FROM ok),
        'unplaced', (SELECT COALESCE(sum(x.n), 0) FROM unnest(cur) x
                      WHERE x.group_code IS NULL AND NOT EXISTS (SELECT 1 FROM leaf l WHERE l.area_code = x.area_code)),
        'areas', COALESCE((SELECT jsonb_agg(jsonb_build_object('area', code, 'name', name, 'met', met,
                                                                'coverage', covered) ORDER BY code) FROM ok), '[]'))
$$;

-- ---- the summary -----------------------------------------------------------

-- antt_summary as in 017, from the group cells; the solved figures read as
-- the counts are (antt_solved_cells).
CREATE OR REPLACE FUNCTION antt_summary(area text, yr integer) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    a areas;
    o summary_options;
    areas text[];
    d0 date;
    d1 date;
    p0 date;
    p1 date;
    cf date;
    covered boolean;
    prior_covered boolean;
    cur antt_group_cell[];
    pri antt_group_cell[];
    g record;
    groups jsonb := '[]';
    parts text[] := '{}';
    first boolean := true;
    marked boolean := false;
    n_cur bigint;
    n_pri bigint;
    small boolean;
    sig boolean;
    tpl text;
    vars jsonb;
    clause text;
    lv record;
    lvl text;
    kind text;
    std jsonb;
    standards jsonb := '[]';
    line text;
    sentence text;
    head text;
BEGIN
    SELECT * INTO a FROM areas x WHERE x.code = area;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown area %', area USING ERRCODE = 'AT404';
    END IF;
    IF yr IS NULL OR yr < 1900 OR yr > 9999 THEN
        RAISE EXCEPTION 'bad year %', yr USING ERRCODE = 'AT400';
    END IF;
    SELECT * INTO o FROM summary_options;
    areas := antt_area_set(area);
    d0 := make_date(yr, 1, 1);
    d1 := LEAST(make_date(yr + 1, 1, 1), antt_trend_today() + 1);
    IF d1 <= d0 THEN
        RAISE EXCEPTION 'year % has not begun', yr USING ERRCODE = 'AT400';
    END IF;
    p0 := (d0 - interval '1 year')::date;
    p1 := (d1 - interval '1 year')::date;
    cf := antt_covered_from(area);
    covered := cf IS NOT NULL AND cf < d1;
    prior_covered := cf IS NOT NULL AND cf <= p0;
    cur := ARRAY(SELECT c FROM antt_trend_group_cells(areas, d0, d1) c);
    pri := ARRAY(SELECT c FROM antt_trend_group_cells(areas, p0, p1) c);
    FOR g IN WITH c AS (SELECT x.group_code, sum(x.n) AS n FROM unnest(cur) x
                          WHERE x.group_code IS NOT NULL GROUP BY 1),
                  p AS (SELECT x.group_code, sum(x.n) AS n FROM unnest(pri) x
                          WHERE x.group_code IS NOT NULL GROUP BY 1),
                  sv AS (SELECT m.group_code, sum(t.solved)::bigint AS solved, sum(t.arrested)::bigint AS arrested
                           FROM antt_solved_cells(areas, d0, d1) t
                           JOIN stat_group_members m ON m.category = t.category GROUP BY 1)
             SELECT s.*, COALESCE(c.n, 0) AS n_cur, COALESCE(p.n, 0) AS n_pri,
                    COALESCE(sv.solved, 0) AS solved, COALESCE(sv.arrested, 0) AS arrested
               FROM stat_groups s LEFT JOIN c ON c.group_code = s.code LEFT JOIN p ON p.group_code = s.code
               LEFT JOIN sv ON sv.group_code = s.code
              WHERE EXISTS (SELECT 1 FROM stat_group_members m WHERE m.group_code = s.code)
              ORDER BY s.position, s.code LOOP
        n_cur := g.n_cur;
        n_pri := g.n_pri;
        small := n_pri < o.small_count;
        sig := CASE WHEN covered AND prior_covered THEN antt_significant(n_cur, n_pri) END;
        groups := groups || jsonb_build_object(
            'group', g.code, 'name', g.name_vi, 'coverage', covered, 'count', n_cur,
            'prior', CASE WHEN prior_covered THEN n_pri END,
            'change', CASE WHEN prior_covered THEN n_cur - n_pri END,
            'change_pct', CASE WHEN prior_covered THEN antt_pct_change(n_cur, n_pri) END,
            'small', CASE WHEN prior_covered THEN small END,
            'z', CASE WHEN covered AND prior_covered THEN antt_poisson_z(n_cur, n_pri) END,
            'significant', sig,
            'solved', g.solved, 'solved_pct', CASE WHEN n_cur > 0 THEN round(g.solved * 100.0 / n_cur, 2) END,
            'arrested', g.arrested);
        IF NOT covered OR (n_cur = 0 AND (n_pri = 0 OR NOT prior_covered)) THEN
            CONTINUE;
        END IF;
        kind := CASE WHEN NOT prior_covered THEN 'no_prior' WHEN n_cur = n_pri THEN 'same'
                     WHEN n_pri = 0 THEN 'from_zero' WHEN small THEN 'small' ELSE 'change' END;
        tpl := CASE kind WHEN 'no_prior' THEN g.clause_no_prior WHEN 'same' THEN g.clause_same
                         WHEN 'from_zero' THEN g.clause_from_zero WHEN 'small' THEN g.clause_small
                         ELSE g.clause_change END;
        vars := jsonb_build_object('year', yr::text, 'prior_year', (yr - 1)::text);
        vars := jsonb_build_object(
            'compare', antt_fill(CASE WHEN first THEN g.compare_first ELSE g.compare_next END, vars),
            'mark', CASE WHEN sig AND kind IN ('small', 'from_zero') THEN o.mark ELSE '' END,
            'verb', g.verb_vi, 'count', antt_vi_int(n_cur), 'name', g.name_vi,
            'dir', CASE WHEN n_cur < n_pri THEN 'giảm' ELSE 'tăng' END,
            'diff', antt_vi_padded(n_cur - n_pri, g.pad_width),
            'pct', COALESCE(antt_vi_pct(antt_pct_change(n_cur, n_pri)), ''),
            'solved', antt_vi_int(g.solved),
            'solved_pct', COALESCE(antt_vi_pct(CASE WHEN n_cur > 0 THEN round(g.solved * 100.0 / n_cur, 2) END), ''),
            'arrested', antt_vi_int(g.arrested)) || vars;
        marked := marked OR vars->>'mark' <> '';
        clause := antt_fill(tpl, vars);
        IF g.solved > 0 THEN
            clause := clause || antt_fill(g.clause_solved, vars);
        END IF;
        parts := parts || clause;
        first := false;
    END LOOP;

    -- the standard at each level below the area that has rules, shallowest first
    FOR lv IN SELECT DISTINCT c.level, antt_level_depth(c.level) AS depth FROM areas c
                WHERE c.code = ANY (areas) AND c.code <> area AND antt_level_depth(c.level) > antt_level_depth(a.level)
                  AND EXISTS (SELECT 1 FROM area_standard_rules r WHERE r.level = c.level)
                ORDER BY 2, 1 LOOP
        lvl := lv.level;
        std := antt_summary_standard(area, areas, covered, lvl, cur, d1);
        standards := standards || std;
        IF covered AND (std->>'total')::int > 0 THEN
            line := (std->>'met') || '/' || (std->>'total') || ' ' || antt_level_vi(lvl)
                    || ' đạt chuẩn “An toàn về an ninh trật tự”';
            IF (std->>'unplaced')::bigint > 0 THEN
                line := line || ' (' || antt_vi_int((std->>'unplaced')::bigint) || ' vụ chưa xác định được '
                        || antt_level_vi(lvl) || ')';
            END IF;
            parts := parts || line;
        END IF;
    END LOOP;

    head := 'Năm ' || yr;
    IF covered AND cf > d0 THEN
        head := head || ' (số liệu từ ngày ' || to_char(cf, 'DD/MM/YYYY') || ')';
    END IF;
    IF NOT covered THEN
        sentence := head || ' chưa có số liệu' || CASE WHEN jsonb_array_length(standards) > 0
            THEN ' (không ' || antt_level_vi(standards->0->>'level')
                 || ' nào được đánh giá đạt chuẩn “An toàn về an ninh trật tự”)' ELSE '' END || '.';
    ELSE
        sentence := head || ' ' || CASE WHEN cardinality(parts) = 0 THEN 'không ghi nhận vụ việc nào'
                                        ELSE array_to_string(parts, '; ') END || '.';
        IF marked THEN
            sentence := sentence || ' ' || o.mark_note || '.';
        END IF;
    END IF;
    RETURN jsonb_build_object(
        'area', a.code, 'name', a.name, 'year', yr, 'from', d0, 'to', d1 - 1, 'prior_from', p0, 'prior_to', p1 - 1,
        'coverage', covered, 'prior_coverage', prior_covered, 'covered_from', cf,
        'total', (SELECT COALESCE(sum(c.n), 0) FROM unnest(cur) c WHERE c.group_code IS NULL),
        'prior_total', CASE WHEN prior_covered THEN (SELECT COALESCE(sum(c.n), 0) FROM unnest(pri) c WHERE c.group_code IS NULL) END,
        'groups', groups, 'standard', standards->0, 'standards', standards, 'sentence', sentence);
END $$;
