-- 017: numbers a district can publish as its own, honestly.
--  * each statistic group's clause is a template of the database (the
--    district's own wording, reproduced by configuration);
--  * an area has data coverage (from its first import or its live start):
--    a period outside it has no data, which is not zero;
--  * the standard at every level below the area (wards, khu phố), with the
--    cases that could not be placed at a level counted;
--  * outcomes: an incident solved (điều tra làm rõ), when, and the suspects
--    arrested;
--  * small counts: the absolute change with a Poisson significance mark.

-- ---- wording ------------------------------------------------------------

-- The placeholders a clause template may use, each replaced by its value:
-- {verb} {count} {name} {dir} (giảm/tăng) {diff} (the absolute change,
-- zero-padded to pad_width digits) {pct} (the percentage, decimal comma)
-- {compare} (compare_first on the sentence's first clause, compare_next on
-- the others) {mark} (the significance mark, or nothing) {year}
-- {prior_year}; a solved template: {solved} {solved_pct} {arrested}.
CREATE FUNCTION antt_template_ok(t text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT regexp_replace(t, '\{(verb|count|name|dir|diff|pct|compare|mark|year|prior_year|solved|solved_pct|arrested)\}',
                          '', 'g') !~ '[{}]'
$$;

ALTER TABLE stat_groups
    -- the count changed from a prior of at least summary_options.small_count
    ADD COLUMN clause_change text NOT NULL
        DEFAULT '{verb} {count} vụ {name} ({dir} {diff} vụ{compare}, tỉ lệ {dir} {pct}%)'
        CHECK (antt_template_ok(clause_change)),
    -- the count changed from a prior below small_count: no percentage
    ADD COLUMN clause_small text NOT NULL
        DEFAULT '{verb} {count} vụ {name} ({dir} {diff} vụ{mark}{compare})'
        CHECK (antt_template_ok(clause_small)),
    ADD COLUMN clause_same text NOT NULL
        DEFAULT '{verb} {count} vụ {name} (không tăng, không giảm{compare})'
        CHECK (antt_template_ok(clause_same)),
    ADD COLUMN clause_from_zero text NOT NULL
        DEFAULT '{verb} {count} vụ {name} (tăng {diff} vụ{mark}{compare}, cùng kỳ không có vụ nào)'
        CHECK (antt_template_ok(clause_from_zero)),
    -- the prior period is outside the area's coverage
    ADD COLUMN clause_no_prior text NOT NULL
        DEFAULT '{verb} {count} vụ {name} (năm {prior_year} chưa có số liệu để so sánh)'
        CHECK (antt_template_ok(clause_no_prior)),
    ADD COLUMN compare_first text NOT NULL DEFAULT ' so với cùng kỳ năm {prior_year}'
        CHECK (antt_template_ok(compare_first)),
    ADD COLUMN compare_next text NOT NULL DEFAULT '' CHECK (antt_template_ok(compare_next)),
    -- appended to the clause when some of the group's incidents have the
    -- outcome solved (nothing recorded is not "0 solved")
    ADD COLUMN clause_solved text NOT NULL
        DEFAULT ', điều tra làm rõ {solved} vụ, đạt {solved_pct}%, bắt giữ {arrested} đối tượng'
        CHECK (antt_template_ok(clause_solved)),
    ADD COLUMN pad_width smallint NOT NULL DEFAULT 2 CHECK (pad_width BETWEEN 1 AND 6);

-- The options of the sentence that are not per group. small_count: below
-- this prior count a change is told as its absolute difference, with the
-- mark when |z| >= z_critical, z = 2 (sqrt(count) - sqrt(prior)) (the
-- variance-stabilised difference of two Poisson counts).
CREATE TABLE summary_options (
    one          boolean PRIMARY KEY DEFAULT true CHECK (one),
    small_count  integer NOT NULL DEFAULT 10 CHECK (small_count BETWEEN 0 AND 1000000),
    z_critical   numeric NOT NULL DEFAULT 1.96 CHECK (z_critical > 0),
    mark         text NOT NULL DEFAULT '*' CHECK (mark !~ '[{}]'),
    mark_note    text NOT NULL DEFAULT '(*) thay đổi có ý nghĩa thống kê (kiểm định Poisson, |z| ≥ 1,96)'
);
INSERT INTO summary_options DEFAULT VALUES;

-- tpl with every {key} of vars replaced by its value.
CREATE FUNCTION antt_fill(tpl text, vars jsonb) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    k text;
    v text;
    r text := tpl;
BEGIN
    FOR k, v IN SELECT key, value FROM jsonb_each_text(vars) LOOP
        r := replace(r, '{' || k || '}', COALESCE(v, ''));
    END LOOP;
    RETURN r;
END $$;

-- A count zero-padded to pad digits ("06"), else with thousands dots.
CREATE FUNCTION antt_vi_padded(x bigint, pad integer) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN length(abs(x)::text) < pad THEN lpad(abs(x)::text, pad, '0') ELSE antt_vi_int(abs(x)) END
$$;

-- z of two Poisson counts and whether it is significant.
CREATE FUNCTION antt_poisson_z(cur bigint, prior bigint) RETURNS numeric LANGUAGE sql IMMUTABLE AS $$
    SELECT round((2 * (sqrt(GREATEST(cur, 0)) - sqrt(GREATEST(prior, 0))))::numeric, 3)
$$;
CREATE FUNCTION antt_significant(cur bigint, prior bigint) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT abs(antt_poisson_z(cur, prior)) >= (SELECT z_critical FROM summary_options)
$$;

-- ---- coverage -----------------------------------------------------------

-- From when an area's figures are data: recorded by an import (the area its
-- rows have in common, from 1 January of its first row's year), by the
-- first live incident (the root of its area's tree, from that day), or by
-- an operator. An area is covered from the earliest day recorded for it or
-- for any area above it.
CREATE TABLE area_coverage (
    area_code     text PRIMARY KEY REFERENCES areas(code) ON DELETE CASCADE,
    covered_from  date NOT NULL,
    source        text NOT NULL CHECK (source IN ('import', 'live', 'operator')),
    recorded_at   timestamptz NOT NULL DEFAULT now()
);

-- The area and those above it, nearest first (depth 0: the area).
CREATE FUNCTION antt_area_chain(code text) RETURNS TABLE (code text, depth integer)
LANGUAGE sql STABLE AS $$
    WITH RECURSIVE up(code, parent, depth) AS (
        SELECT a.code, a.parent_code, 0 FROM areas a WHERE a.code = antt_area_chain.code
        UNION ALL
        SELECT a.code, a.parent_code, up.depth + 1 FROM areas a JOIN up ON a.code = up.parent WHERE up.depth < 16
    )
    SELECT code, depth FROM up
$$;

CREATE FUNCTION antt_covered_from(code text) RETURNS date LANGUAGE sql STABLE AS $$
    SELECT min(c.covered_from) FROM antt_area_chain(code) a JOIN area_coverage c ON c.area_code = a.code
$$;

-- Records coverage of an area from a day (the earlier of what is recorded
-- and d). Returns the area's coverage start.
CREATE FUNCTION antt_coverage_record(code text, d date, src text) RETURNS date LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM areas a WHERE a.code = antt_coverage_record.code) THEN
        RAISE EXCEPTION 'unknown area %', code USING ERRCODE = 'AT404';
    END IF;
    IF d IS NULL THEN
        RAISE EXCEPTION 'coverage needs a first day' USING ERRCODE = 'AT400';
    END IF;
    INSERT INTO area_coverage AS c (area_code, covered_from, source) VALUES (code, d, src)
    ON CONFLICT (area_code) DO UPDATE SET covered_from = LEAST(c.covered_from, EXCLUDED.covered_from),
        source = CASE WHEN EXCLUDED.covered_from < c.covered_from THEN EXCLUDED.source ELSE c.source END,
        recorded_at = now();
    RETURN antt_covered_from(code);
END $$;

-- An import's coverage: the deepest area above (or at) every incident of
-- these reports, unless `area` is given, from 1 January of the first
-- incident's year unless d0 is given. Returns (area, covered_from).
CREATE FUNCTION antt_coverage_import(report_ids uuid[], area text, d0 date)
RETURNS TABLE (area_code text, covered_from date) LANGUAGE plpgsql AS $$
DECLARE
    a text := area;
    d date := d0;
BEGIN
    WITH inc AS (
        SELECT DISTINCT COALESCE(i.area_code, dk.area_code) AS code,
               antt_trend_day(COALESCE(i.occurred_at, i.created_at)) AS day
          FROM incident_reports l JOIN incidents i ON i.id = l.incident_id
          LEFT JOIN desks dk ON dk.code = i.desk_code
         WHERE l.report_id = ANY (report_ids)
    ), n AS (SELECT count(DISTINCT code) AS k FROM inc WHERE code IS NOT NULL),
    anc AS (
        SELECT c.code, count(DISTINCT inc.code) AS k FROM (SELECT DISTINCT code FROM inc WHERE code IS NOT NULL) inc
         CROSS JOIN LATERAL antt_area_chain(inc.code) c GROUP BY c.code
    )
    SELECT COALESCE(a, (SELECT anc.code FROM anc JOIN areas x ON x.code = anc.code, n WHERE anc.k = n.k
                          ORDER BY antt_level_depth(x.level) DESC, anc.code LIMIT 1)),
           COALESCE(d, (SELECT date_trunc('year', min(day))::date FROM inc))
      INTO a, d;
    IF a IS NULL OR d IS NULL THEN
        RETURN;
    END IF;
    area_code := a;
    covered_from := antt_coverage_record(a, d, CASE WHEN area IS NULL AND d0 IS NULL THEN 'import' ELSE 'operator' END);
    RETURN NEXT;
END $$;

-- The first live incident of a tree starts its coverage: once per tree, a
-- read only afterwards (no row is locked by the inserts that follow).
CREATE FUNCTION antt_coverage_live() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO area_coverage AS c (area_code, covered_from, source)
    SELECT r.code, min(x.day), 'live'
      FROM (SELECT COALESCE(n.area_code, dk.area_code) AS code, min(antt_trend_day(n.created_at)) AS day
              FROM new_incidents n LEFT JOIN desks dk ON dk.code = n.desk_code
             WHERE NOT n.imported GROUP BY 1) x
     CROSS JOIN LATERAL (SELECT ch.code FROM antt_area_chain(x.code) ch ORDER BY ch.depth DESC LIMIT 1) r
     WHERE x.code IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM antt_area_chain(x.code) ch JOIN area_coverage a ON a.area_code = ch.code
                        WHERE a.covered_from <= x.day)
     GROUP BY r.code
    ON CONFLICT (area_code) DO UPDATE SET covered_from = LEAST(c.covered_from, EXCLUDED.covered_from);
    RETURN NULL;
END $$;
CREATE TRIGGER incidents_coverage_live AFTER INSERT ON incidents
    REFERENCING NEW TABLE AS new_incidents FOR EACH STATEMENT EXECUTE FUNCTION antt_coverage_live();

-- The incidents that existed before this migration: their trees are covered
-- from their first day.
INSERT INTO area_coverage (area_code, covered_from, source)
SELECT r.code, min(x.day), 'live'
  FROM (SELECT COALESCE(i.area_code, dk.area_code) AS code, min(antt_trend_day(COALESCE(i.occurred_at, i.created_at))) AS day
          FROM incidents i LEFT JOIN desks dk ON dk.code = i.desk_code GROUP BY 1) x
 CROSS JOIN LATERAL (SELECT ch.code FROM antt_area_chain(x.code) ch ORDER BY ch.depth DESC LIMIT 1) r
 WHERE x.code IS NOT NULL
 GROUP BY r.code;

-- ---- outcomes -----------------------------------------------------------

-- An incident resolved with the outcome 'solved' (điều tra làm rõ): the day
-- it was solved and the suspects arrested.
ALTER TABLE incidents ADD COLUMN solved_on date;
ALTER TABLE incidents ADD COLUMN arrested integer CHECK (arrested >= 0);

-- Solved incidents per leaf area, day or month (grain 'd' or 'm', of the
-- day the incident happened, as the counts) and category, kept by a trigger
-- from the incidents' rows (the rebuild of the trend rollups does not touch
-- it: it is exact at every commit). A year is its months (and the days of a
-- month begun), as for trend_counts.
CREATE TABLE trend_solved (
    area_code  text NOT NULL,
    grain      "char" NOT NULL CHECK (grain IN ('d', 'm')),
    bucket     date NOT NULL,
    category   text NOT NULL,
    solved     integer NOT NULL,
    arrested   integer NOT NULL,
    PRIMARY KEY (area_code, grain, bucket, category)
);

CREATE FUNCTION antt_solved_apply(i incidents, sign integer) RETURNS void LANGUAGE sql AS $$
    INSERT INTO trend_solved AS t (area_code, grain, bucket, category, solved, arrested)
    SELECT x.area, g.grain, CASE g.grain WHEN 'd' THEN x.day ELSE date_trunc('month', x.day)::date END,
           i.category, sign, sign * COALESCE(i.arrested, 0)
      FROM (SELECT COALESCE(i.area_code, (SELECT dk.area_code FROM desks dk WHERE dk.code = i.desk_code)) AS area,
                   antt_trend_day(COALESCE(i.occurred_at, i.created_at)) AS day) x
     CROSS JOIN (VALUES ('d'::"char"), ('m'::"char")) g(grain)
     WHERE i.status = 'resolved' AND i.outcome = 'solved' AND x.area IS NOT NULL
    ON CONFLICT (area_code, grain, bucket, category) DO UPDATE SET solved = t.solved + EXCLUDED.solved,
        arrested = t.arrested + EXCLUDED.arrested
$$;
CREATE FUNCTION antt_solved_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM antt_solved_apply(OLD, -1);
    END IF;
    IF TG_OP = 'UPDATE' THEN
        PERFORM antt_solved_apply(NEW, 1);
    END IF;
    RETURN NULL;
END $$;
-- inserted rows (a COPY of history) in one grouped statement
CREATE FUNCTION antt_solved_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO trend_solved AS t (area_code, grain, bucket, category, solved, arrested)
    SELECT x.area, g.grain, CASE g.grain WHEN 'd' THEN x.day ELSE date_trunc('month', x.day)::date END,
           x.category, count(*), sum(COALESCE(x.arrested, 0))
      FROM (SELECT COALESCE(n.area_code, dk.area_code) AS area, antt_trend_day(COALESCE(n.occurred_at, n.created_at)) AS day,
                   n.category, n.arrested
              FROM new_incidents n LEFT JOIN desks dk ON dk.code = n.desk_code
             WHERE n.status = 'resolved' AND n.outcome = 'solved') x
     CROSS JOIN (VALUES ('d'::"char"), ('m'::"char")) g(grain)
     WHERE x.area IS NOT NULL
     GROUP BY 1, 2, 3, 4
    ON CONFLICT (area_code, grain, bucket, category) DO UPDATE SET solved = t.solved + EXCLUDED.solved,
        arrested = t.arrested + EXCLUDED.arrested;
    RETURN NULL;
END $$;
CREATE TRIGGER incidents_solved_insert AFTER INSERT ON incidents
    REFERENCING NEW TABLE AS new_incidents FOR EACH STATEMENT EXECUTE FUNCTION antt_solved_inserted();
CREATE TRIGGER incidents_solved_update AFTER UPDATE ON incidents
    FOR EACH ROW WHEN ((OLD.outcome = 'solved' OR NEW.outcome = 'solved')
                       AND (OLD.status, OLD.outcome, OLD.category, OLD.area_code, OLD.desk_code, OLD.occurred_at,
                            OLD.arrested)
                           IS DISTINCT FROM
                           (NEW.status, NEW.outcome, NEW.category, NEW.area_code, NEW.desk_code, NEW.occurred_at,
                            NEW.arrested))
    EXECUTE FUNCTION antt_solved_trigger();
CREATE TRIGGER incidents_solved_delete AFTER DELETE ON incidents
    FOR EACH ROW WHEN (OLD.outcome = 'solved') EXECUTE FUNCTION antt_solved_trigger();

-- An imported incident's outcome, from its row: only history, only a
-- resolved incident. Returns 1 when recorded.
CREATE FUNCTION antt_import_outcome(report uuid, outcome text, solved_on date, arrested integer)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    n integer;
BEGIN
    IF outcome IS DISTINCT FROM 'solved' THEN
        RAISE EXCEPTION 'outcome must be solved' USING ERRCODE = 'AT400';
    END IF;
    IF arrested IS NOT NULL AND arrested < 0 THEN
        RAISE EXCEPTION 'arrested must be 0 or more' USING ERRCODE = 'AT400';
    END IF;
    UPDATE incidents i SET outcome = 'solved', solved_on = antt_import_outcome.solved_on,
           arrested = COALESCE(antt_import_outcome.arrested, 0), version = i.version + 1, updated_at = now()
      FROM incident_reports l
     WHERE l.report_id = report AND i.id = l.incident_id AND i.imported AND i.status = 'resolved'
       AND (i.outcome, i.solved_on, i.arrested) IS DISTINCT FROM
           ('solved', antt_import_outcome.solved_on, COALESCE(antt_import_outcome.arrested, 0));
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;

-- antt_triage_run: one dispatcher command, as notification runs them: solve
-- here, every other by antt_triage (010). solve records the outcome solved
-- with its day (default today) and the suspects arrested (default 0), on an
-- open incident (which it resolves) or a resolved one; the token, the
-- desk's scope and the version are checked by antt_triage itself.
CREATE FUNCTION antt_triage_run(token_hash bytea, action text, incident uuid, args jsonb)
RETURNS SETOF antt_incident_state
LANGUAGE plpgsql AS $$
DECLARE
    d dispatchers;
    i incidents;
    who text;
    day date;
    n_arrested integer;
    st antt_incident_state;
BEGIN
    IF action IS DISTINCT FROM 'solve' THEN
        RETURN QUERY SELECT * FROM antt_triage(token_hash, action, incident, args);
        RETURN;
    END IF;
    -- the token, the desk's scope and the expected version, checked as for
    -- every command (and the incident's row locked)
    PERFORM antt_triage(token_hash, 'get', incident, args);
    SELECT * INTO d FROM dispatchers x WHERE x.token_hash = antt_triage_run.token_hash AND x.active;
    who := 'dispatcher:' || d.id;
    SELECT * INTO i FROM incidents x WHERE x.id = incident;
    IF i.status NOT IN ('new', 'acknowledged', 'assigned', 'resolved') THEN
        RAISE EXCEPTION 'cannot solve an incident that is %', i.status USING ERRCODE = 'AT409';
    END IF;
    IF NULLIF(args->>'solved_on', '') IS NOT NULL THEN
        IF NOT (args->>'solved_on') ~ '^\d{4}-\d{2}-\d{2}$' THEN
            RAISE EXCEPTION 'solved_on must be a date YYYY-MM-DD' USING ERRCODE = 'AT400';
        END IF;
        day := (args->>'solved_on')::date;
    ELSE
        day := antt_trend_today();
    END IF;
    IF day > antt_trend_today() OR day < antt_trend_day(COALESCE(i.occurred_at, i.created_at)) THEN
        RAISE EXCEPTION 'solved_on must be between the day it happened and today' USING ERRCODE = 'AT400';
    END IF;
    IF args ? 'arrested' AND jsonb_typeof(args->'arrested') <> 'null' THEN
        IF NOT (args->>'arrested') ~ '^\d{1,5}$' THEN
            RAISE EXCEPTION 'arrested must be a number from 0 to 99999' USING ERRCODE = 'AT400';
        END IF;
        n_arrested := (args->>'arrested')::integer;
    END IF;
    UPDATE incidents x SET status = 'resolved', outcome = 'solved', solved_on = day,
           arrested = COALESCE(n_arrested, 0), status_note = COALESCE(NULLIF(args->>'note', ''), x.status_note),
           closed_at = COALESCE(x.closed_at, now()), version = x.version + 1, updated_at = now()
     WHERE x.id = i.id RETURNING * INTO i;
    INSERT INTO incident_events (incident_id, kind, actor, data)
    VALUES (i.id, 'solved', who, jsonb_strip_nulls(jsonb_build_object(
                'status', i.status, 'version', i.version, 'note', NULLIF(args->>'note', ''), 'outcome', 'solved',
                'solved_on', day, 'arrested', i.arrested, 'desk_code', i.desk_code)));
    st := antt_incident_listing(i, who);
    st.kind := 'solved';
    st.note := NULLIF(args->>'note', '');
    RETURN NEXT st;
END $$;
REVOKE EXECUTE ON FUNCTION antt_triage_run(bytea, text, uuid, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION antt_triage_run(bytea, text, uuid, jsonb) TO antt_notification;

-- The triggers act for the owner: a service that records an incident needs
-- no right on the coverage or the solved rollup.
ALTER FUNCTION antt_coverage_live() SECURITY DEFINER SET search_path = public, pg_temp;
ALTER FUNCTION antt_solved_trigger() SECURITY DEFINER SET search_path = public, pg_temp;
ALTER FUNCTION antt_solved_inserted() SECURITY DEFINER SET search_path = public, pg_temp;
GRANT SELECT ON area_coverage, trend_solved, summary_options TO antt_aggregation;

-- ---- the summary ----------------------------------------------------------

-- The standard at one level below an area for [d0, d1) from the period's
-- cells: every area of that level under `area` (areas: antt_area_set(area)) that existed at the end of
-- the period, against every rule of the level. An area outside coverage
-- meets nothing. unplaced: the cases counted above that level (an incident
-- with only a ward code cannot be placed in a khu phố).
CREATE FUNCTION antt_summary_standard(area text, areas text[], covered boolean, lvl text, cur antt_trend_cell[],
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
    ), rx AS (
        SELECT rc.id, m.category FROM rc LEFT JOIN stat_group_members m ON m.group_code = rc.group_code
    ), per AS (
        SELECT l.child, rc.id, sum(x.n) AS n
          FROM unnest(cur) x JOIN leaf l ON l.area_code = x.area_code
          JOIN rx ON rx.category IS NULL OR rx.category = x.category
          JOIN rc ON rc.id = rx.id AND (rc.max_priority IS NULL OR x.priority <= rc.max_priority)
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
                      WHERE NOT EXISTS (SELECT 1 FROM leaf l WHERE l.area_code = x.area_code)),
        'areas', COALESCE((SELECT jsonb_agg(jsonb_build_object('area', code, 'name', name, 'met', met,
                                                                'coverage', covered) ORDER BY code) FROM ok), '[]'))
$$;

-- antt_summary(area, year): the year's figures per statistic group against
-- the same period of the year before (the whole year, or 1 January to today
-- while the year runs), the standard at every level below the area that has
-- rules, and the sentence districts publish, worded by each group's
-- templates (stat_groups.clause_*). Outside the area's coverage a period
-- has no data: the sentence says "chưa có số liệu", "coverage" is false,
-- no standard is met and no change is computed against it.
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
    cur antt_trend_cell[];
    pri antt_trend_cell[];
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
    cur := ARRAY(SELECT c FROM antt_trend_cells(areas, d0, d1) c);
    pri := ARRAY(SELECT c FROM antt_trend_cells(areas, p0, p1) c);
    FOR g IN WITH c AS (SELECT m.group_code, sum(x.n) AS n FROM unnest(cur) x
                          JOIN stat_group_members m ON m.category = x.category GROUP BY 1),
                  p AS (SELECT m.group_code, sum(x.n) AS n FROM unnest(pri) x
                          JOIN stat_group_members m ON m.category = x.category GROUP BY 1),
                  -- whole months from the month rows, a month begun from its days
                  sv AS (SELECT m.group_code, sum(t.solved) AS solved, sum(t.arrested) AS arrested
                           FROM (SELECT * FROM trend_solved t WHERE t.area_code = ANY (areas) AND t.grain = 'm'
                                    AND t.bucket >= d0 AND t.bucket < date_trunc('month', d1)::date
                                 UNION ALL
                                 SELECT * FROM trend_solved t WHERE t.area_code = ANY (areas) AND t.grain = 'd'
                                    AND t.bucket >= GREATEST(d0, date_trunc('month', d1)::date) AND t.bucket < d1) t
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
        'total', (SELECT COALESCE(sum(c.n), 0) FROM unnest(cur) c),
        'prior_total', CASE WHEN prior_covered THEN (SELECT COALESCE(sum(c.n), 0) FROM unnest(pri) c) END,
        'groups', groups, 'standard', standards->0, 'standards', standards, 'sentence', sentence);
END $$;
