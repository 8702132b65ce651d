-- 007: crime-trend statistics. Each incident's contribution to the numbers
-- is recorded, so that applying a change twice, late or out of order
-- changes nothing; the rollups are sums of contributions, kept per leaf area
-- (the incident's own area), day and month; ancestors, groups, periods,
-- predecessor areas and comparisons are summed at query time.

-- Statistic groups (configurable): which categories each group counts, its
-- Vietnamese phrase in the yearly sentence and its place in that sentence.
CREATE TABLE stat_groups (
    code      text PRIMARY KEY CHECK (code ~ '^[a-z0-9_]{1,32}$'),
    name_vi   text NOT NULL,          -- "phạm pháp hình sự": "285 vụ <name_vi>"
    verb_vi   text NOT NULL DEFAULT 'xảy ra',
    position  integer NOT NULL DEFAULT 0
);
CREATE TABLE stat_group_members (
    group_code text NOT NULL REFERENCES stat_groups(code) ON DELETE CASCADE,
    category   text NOT NULL,
    PRIMARY KEY (group_code, category)
);
INSERT INTO stat_groups (code, name_vi, verb_vi, position) VALUES
    ('criminal', 'phạm pháp hình sự', 'ghi nhận', 1),
    ('social_evils', 'tệ nạn xã hội', 'phát hiện', 2),
    ('fire', 'cháy', 'xảy ra', 3),
    ('traffic', 'tai nạn, vi phạm giao thông', 'ghi nhận', 4),
    ('order', 'vi phạm trật tự công cộng', 'ghi nhận', 5);
INSERT INTO stat_group_members (group_code, category) VALUES
    ('criminal', 'theft'), ('criminal', 'robbery'), ('criminal', 'assault'), ('criminal', 'fraud'),
    ('criminal', 'cybercrime'), ('criminal', 'loan_sharking'), ('criminal', 'weapons'),
    ('social_evils', 'drugs'), ('social_evils', 'gambling'),
    ('fire', 'fire'), ('traffic', 'traffic'),
    ('order', 'public_order'), ('order', 'dispute'), ('order', 'domestic_violence'), ('order', 'suspicious');

-- The "An toàn về an ninh trật tự" standard: an area of `level` meets it for
-- a year when every rule of its level holds: at most max_count incidents of
-- the group (NULL: any category) with priority <= max_priority (NULL: any).
CREATE TABLE area_standard_rules (
    id            serial PRIMARY KEY,
    level         text NOT NULL,
    group_code    text REFERENCES stat_groups(code) ON DELETE CASCADE,
    max_priority  smallint CHECK (max_priority BETWEEN 1 AND 4),
    max_count     integer NOT NULL CHECK (max_count >= 0)
);
INSERT INTO area_standard_rules (level, group_code, max_priority, max_count) VALUES
    ('ward', 'criminal', NULL, 40), ('ward', NULL, 1, 10),
    ('commune', 'criminal', NULL, 40), ('commune', NULL, 1, 10),
    ('district', 'criminal', NULL, 400), ('district', NULL, 1, 100);

-- Days are local days of the deployment's time zone.
CREATE FUNCTION antt_trend_day(t timestamptz) RETURNS date
LANGUAGE sql STABLE AS $$ SELECT (t AT TIME ZONE 'Asia/Ho_Chi_Minh')::date $$;
CREATE FUNCTION antt_trend_today() RETURNS date
LANGUAGE sql STABLE AS $$ SELECT antt_trend_day(now()) $$;

-- Response-time histogram buckets: about 2% wide (log base 1.02 of 1 + s).
CREATE FUNCTION antt_rt_bucket(s double precision) RETURNS smallint
LANGUAGE sql IMMUTABLE AS $$ SELECT LEAST(floor(ln(1 + GREATEST(s, 0)) / ln(1.02)), 32000)::smallint $$;
CREATE FUNCTION antt_rt_value(b integer) RETURNS double precision
LANGUAGE sql IMMUTABLE AS $$ SELECT exp((b + 0.5) * ln(1.02)) - 1 $$;

-- What each incident adds to the numbers now. counted: it is one incident
-- (not rejected, not merged into another, i.e. not a duplicate).
CREATE TABLE trend_contributions (
    incident_id  uuid PRIMARY KEY,
    version      bigint NOT NULL,
    area_code    text NOT NULL,
    day          date NOT NULL,
    category     text NOT NULL,
    priority     smallint NOT NULL,
    counted      boolean NOT NULL,
    resolved     boolean NOT NULL,
    escalated    boolean NOT NULL,
    ack_s        double precision,  -- created -> acknowledged
    resolve_s    double precision   -- created -> resolved
);

-- Sums of counted contributions: grain 'd' (bucket = the day) and 'm'
-- (bucket = the first day of the month), per leaf area and category, one
-- counter per priority (n1 .. n4) in the same row: a district's year is
-- then some ten thousand rows of the month rollup, not forty.
CREATE TABLE trend_counts (
    area_code  text NOT NULL,
    grain      "char" NOT NULL CHECK (grain IN ('d', 'm')),
    bucket     date NOT NULL,
    category   text NOT NULL,
    n1         integer NOT NULL,
    n2         integer NOT NULL,
    n3         integer NOT NULL,
    n4         integer NOT NULL,
    PRIMARY KEY (area_code, grain, bucket, category)
);

-- Per leaf area, month and priority: counted incidents, how many of them are
-- resolved and how many were escalated (the response shares).
CREATE TABLE trend_outcomes (
    area_code  text NOT NULL,
    month      date NOT NULL,
    priority   smallint NOT NULL,
    n          integer NOT NULL,
    resolved   integer NOT NULL,
    escalated  integer NOT NULL,
    PRIMARY KEY (area_code, month, priority)
);

-- Response-time histograms per leaf area, month and priority: metric 'a'
-- (to acknowledge) or 'r' (to resolve).
CREATE TABLE trend_response (
    area_code  text NOT NULL,
    month      date NOT NULL,
    priority   smallint NOT NULL,
    metric     "char" NOT NULL CHECK (metric IN ('a', 'r')),
    bucket     smallint NOT NULL,
    n          integer NOT NULL,
    PRIMARY KEY (area_code, month, priority, metric, bucket)
);

-- Incidents whose trend-relevant fields changed and that aggregation has not
-- applied yet (a transactional outbox filled by a trigger). seq, not the
-- incident, is the key: a change committed while aggregation applies an
-- earlier one queues a row of its own.
CREATE TABLE trend_queue (
    seq          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident_id  uuid NOT NULL
);

-- Bumped by rebuilds, so that a running aggregation reloads its state.
CREATE TABLE trend_meta (
    one         boolean PRIMARY KEY DEFAULT true CHECK (one),
    generation  bigint NOT NULL DEFAULT 1,
    rebuilt_at  timestamptz
);
INSERT INTO trend_meta DEFAULT VALUES;

CREATE FUNCTION antt_trend_enqueue() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO trend_queue (incident_id) VALUES (NEW.id);
    RETURN NULL;
END $$;
CREATE TRIGGER incidents_trend_insert AFTER INSERT ON incidents
    FOR EACH ROW EXECUTE FUNCTION antt_trend_enqueue();
-- report_count alone (a duplicate joining) changes no statistic: no row.
CREATE TRIGGER incidents_trend_update AFTER UPDATE ON incidents
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status
                       OR OLD.category IS DISTINCT FROM NEW.category
                       OR OLD.priority IS DISTINCT FROM NEW.priority
                       OR OLD.area_code IS DISTINCT FROM NEW.area_code
                       OR OLD.desk_code IS DISTINCT FROM NEW.desk_code
                       OR OLD.occurred_at IS DISTINCT FROM NEW.occurred_at
                       OR OLD.acknowledged_at IS DISTINCT FROM NEW.acknowledged_at
                       OR OLD.closed_at IS DISTINCT FROM NEW.closed_at
                       OR OLD.escalations IS DISTINCT FROM NEW.escalations)
    EXECUTE FUNCTION antt_trend_enqueue();

-- What an incident should contribute, from its current row. An incident
-- without an area counts in its desk's area (an unlocated report goes to
-- the district desk, and so counts in the district).
CREATE VIEW trend_targets AS
    SELECT i.id AS incident_id, i.version,
           COALESCE(i.area_code, d.area_code) AS area_code,
           antt_trend_day(COALESCE(i.occurred_at, i.created_at)) AS day,
           i.category, i.priority,
           i.status NOT IN ('rejected', 'merged') AS counted,
           i.status = 'resolved' AS resolved,
           i.escalations > 0 AS escalated,
           CASE WHEN NOT late THEN extract(epoch FROM i.acknowledged_at - i.created_at)::double precision END AS ack_s,
           CASE WHEN i.status = 'resolved' AND NOT late
                THEN extract(epoch FROM i.closed_at - i.created_at)::double precision END AS resolve_s
      FROM incidents i LEFT JOIN desks d ON d.code = i.desk_code
      -- reported more than 7 days after it happened (an imported past year,
      -- a late report): its handling is no sample of response times
      CROSS JOIN LATERAL (SELECT COALESCE(i.created_at - i.occurred_at > interval '7 days', false) AS late) l;

-- antt_trend_apply_ids(ids): brings the contributions of these incidents
-- up to date with their rows and the rollups with them. Returns the changed
-- day counters and, per counter, the oldest commit time (or updated_at) of
-- the incidents that changed it (for the live lag). Serialised with rebuilds by an advisory lock.
CREATE FUNCTION antt_trend_apply_ids(ids uuid[])
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
        SELECT d.area_code, g.grain, CASE g.grain WHEN 'd' THEN d.day ELSE date_trunc('month', d.day)::date END AS bucket,
               d.category,
               COALESCE(sum(d.sign) FILTER (WHERE d.priority = 1), 0)::integer AS n1,
               COALESCE(sum(d.sign) FILTER (WHERE d.priority = 2), 0)::integer AS n2,
               COALESCE(sum(d.sign) FILTER (WHERE d.priority = 3), 0)::integer AS n3,
               COALESCE(sum(d.sign) FILTER (WHERE d.priority >= 4), 0)::integer AS n4
          FROM diff d CROSS JOIN (VALUES ('d'::"char"), ('m'::"char")) g(grain)
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

-- Drains up to max_rows rows of the queue and applies their incidents.
CREATE FUNCTION antt_trend_apply_queue(max_rows integer)
RETURNS TABLE (area_code text, day date, category text, delta bigint, changed_at timestamptz)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    ids uuid[];
BEGIN
    WITH q AS (
        DELETE FROM trend_queue WHERE seq = ANY (ARRAY(
            SELECT seq FROM trend_queue ORDER BY seq LIMIT max_rows FOR UPDATE SKIP LOCKED))
        RETURNING incident_id
    )
    SELECT array_agg(DISTINCT incident_id) INTO ids FROM q;
    IF ids IS NULL THEN
        RETURN;
    END IF;
    RETURN QUERY SELECT * FROM antt_trend_apply_ids(ids);
END $$
-- a queue is small but its statistics may say otherwise (a burst, a vacuum
-- not yet run): every read here is by key, whatever the planner believes
-- (the lesson of 004)
SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off SET jit = off;

-- Recomputes every contribution and rollup from the incidents table, in one
-- transaction (readers see the old numbers until it commits). Returns the
-- number of incidents counted.
CREATE FUNCTION antt_trend_rebuild() RETURNS bigint LANGUAGE plpgsql AS $$
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
    SELECT c.area_code, g.grain, CASE g.grain WHEN 'd' THEN c.day ELSE date_trunc('month', c.day)::date END,
           c.category, count(*) FILTER (WHERE c.priority = 1), count(*) FILTER (WHERE c.priority = 2),
           count(*) FILTER (WHERE c.priority = 3), count(*) FILTER (WHERE c.priority >= 4)
      FROM trend_contributions c CROSS JOIN (VALUES ('d'::"char"), ('m'::"char")) g(grain)
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

-- ---- reading ------------------------------------------------------------

-- Raises an error with a SQLSTATE from inside an expression.
CREATE FUNCTION antt_raise(code text, msg text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%', msg USING ERRCODE = code;
END $$;

-- The leaf areas whose counts make up `code`: the area, its descendants, and
-- the areas it succeeded (transitively, with their descendants) where it is
-- their only successor (a merger or a rename). A split's predecessor belongs
-- to no single successor; its parent still adds it up.
CREATE FUNCTION antt_area_set(code text) RETURNS text[]
LANGUAGE sql STABLE AS $$
    WITH RECURSIVE roots(code) AS (
        SELECT code
        UNION
        SELECT s.predecessor_code FROM area_successors s JOIN roots r ON r.code = s.successor_code
         WHERE (SELECT count(*) FROM area_successors x WHERE x.predecessor_code = s.predecessor_code) = 1
    ), tree(code) AS (
        SELECT code FROM roots
        UNION
        SELECT a.code FROM areas a JOIN tree t ON a.parent_code = t.code
    )
    SELECT array_agg(DISTINCT code ORDER BY code) FROM tree
$$;

-- The categories of a dimension: 'all', 'group:<code>' or 'category:<code>'
-- (a bare code is tried as a group, then as a category).
CREATE FUNCTION antt_dimension_categories(dim text) RETURNS text[]
LANGUAGE plpgsql STABLE AS $$
DECLARE
    d text := COALESCE(NULLIF(dim, ''), 'all');
    r text[];
BEGIN
    IF d = 'all' THEN
        RETURN NULL;  -- no filter
    ELSIF d LIKE 'group:%' OR (d NOT LIKE 'category:%' AND EXISTS (SELECT 1 FROM stat_groups WHERE code = d)) THEN
        SELECT array_agg(m.category) INTO r FROM stat_group_members m
         WHERE m.group_code = regexp_replace(d, '^group:', '');
        IF r IS NULL THEN
            RAISE EXCEPTION 'unknown statistic group %', regexp_replace(d, '^group:', '') USING ERRCODE = 'AT400';
        END IF;
        RETURN r;
    ELSIF regexp_replace(d, '^category:', '') = ANY (ARRAY['theft', 'robbery', 'assault', 'domestic_violence',
            'drugs', 'gambling', 'fraud', 'cybercrime', 'loan_sharking', 'fire', 'traffic', 'public_order',
            'dispute', 'suspicious', 'weapons', 'other']) THEN
        RETURN ARRAY[regexp_replace(d, '^category:', '')];
    ELSIF d LIKE 'category:%' THEN
        RAISE EXCEPTION 'unknown category %', regexp_replace(d, '^category:', '') USING ERRCODE = 'AT400';
    END IF;
    RAISE EXCEPTION 'bad dimension "%" (all, group:CODE or category:CODE)', d USING ERRCODE = 'AT400';
END $$;

-- Counted incidents in [d0, d1) over the given leaf areas, per area,
-- category and priority. Whole months come from the month rollup; a ragged
-- edge from the day rollup, or, when that is shorter, as its month less the
-- days outside the range (a year to date is then its months less the days
-- after today, of which there are none). Each part is one range of the
-- primary key.
CREATE TYPE antt_trend_cell AS (area_code text, category text, priority smallint, n bigint);

CREATE FUNCTION antt_trend_cells(areas text[], d0 date, d1 date) RETURNS SETOF antt_trend_cell
LANGUAGE plpgsql STABLE AS $$
DECLARE
    g "char"[] := '{}';
    f date[] := '{}';
    t date[] := '{}';
    sg integer[] := '{}';
    ms date;
    me date;
    m0 date;
    m1 date;
BEGIN
    IF d1 <= d0 THEN
        RETURN;
    END IF;
    ms := date_trunc('month', d0)::date;
    IF date_trunc('month', d1 - 1)::date = ms THEN
        -- within one month: its days, or the month less the days outside
        me := (ms + interval '1 month')::date;
        IF (d1 - d0) <= (me - ms) - (d1 - d0) THEN
            g := g || '{d}'::"char"[]; f := f || d0; t := t || d1; sg := sg || 1;
        ELSE
            g := g || '{m,d,d}'::"char"[]; f := f || ARRAY[ms, ms, d1]; t := t || ARRAY[me, d0, me];
            sg := sg || ARRAY[1, -1, -1];
        END IF;
    ELSE
        m0 := CASE WHEN ms = d0 THEN d0 ELSE (ms + interval '1 month')::date END;
        m1 := date_trunc('month', d1)::date;
        IF m0 < m1 THEN
            g := g || '{m}'::"char"[]; f := f || m0; t := t || m1; sg := sg || 1;
        END IF;
        IF d0 < m0 THEN  -- the head [d0, m0)
            IF (m0 - d0) <= (d0 - ms) THEN
                g := g || '{d}'::"char"[]; f := f || d0; t := t || m0; sg := sg || 1;
            ELSE
                g := g || '{m,d}'::"char"[]; f := f || ARRAY[ms, ms]; t := t || ARRAY[m0, d0]; sg := sg || ARRAY[1, -1];
            END IF;
        END IF;
        IF m1 < d1 THEN  -- the tail [m1, d1)
            me := (m1 + interval '1 month')::date;
            IF (d1 - m1) <= (me - d1) THEN
                g := g || '{d}'::"char"[]; f := f || m1; t := t || d1; sg := sg || 1;
            ELSE
                g := g || '{m,d}'::"char"[]; f := f || ARRAY[m1, d1]; t := t || ARRAY[me, me]; sg := sg || ARRAY[1, -1];
            END IF;
        END IF;
    END IF;
    RETURN QUERY
    WITH w AS (
        SELECT c.area_code, c.category, sum(s.sg * c.n1) AS n1, sum(s.sg * c.n2) AS n2,
               sum(s.sg * c.n3) AS n3, sum(s.sg * c.n4) AS n4
          FROM unnest(g, f, t, sg) AS s(grain, f, t, sg)
         CROSS JOIN LATERAL (SELECT x.* FROM trend_counts x
                              WHERE x.area_code = ANY (areas) AND x.grain = s.grain
                                AND x.bucket >= s.f AND x.bucket < s.t) c
         GROUP BY 1, 2
    )
    SELECT w.area_code, w.category, p.p::smallint,
           (CASE p.p WHEN 1 THEN w.n1 WHEN 2 THEN w.n2 WHEN 3 THEN w.n3 ELSE w.n4 END)::bigint
      FROM w CROSS JOIN (VALUES (1), (2), (3), (4)) p(p)
     WHERE CASE p.p WHEN 1 THEN w.n1 WHEN 2 THEN w.n2 WHEN 3 THEN w.n3 ELSE w.n4 END <> 0;
END $$
-- a district is most of the table: without this the planner reads all of it
-- (in parallel) where a few ranges of the key are wanted
SET enable_seqscan = off SET max_parallel_workers_per_gather = 0 SET jit = off;

-- The same summed over categories cats (NULL: all) and priorities up to
-- max_prio (NULL: all).
CREATE FUNCTION antt_trend_count(areas text[], cats text[], d0 date, d1 date, max_prio smallint DEFAULT NULL)
RETURNS bigint LANGUAGE sql STABLE AS $$
    SELECT COALESCE(sum(c.n), 0)::bigint FROM antt_trend_cells(areas, d0, d1) c
     WHERE (cats IS NULL OR c.category = ANY (cats)) AND (max_prio IS NULL OR c.priority <= max_prio)
$$;

-- Percentage change with two decimals; NULL when the prior count is 0
-- (a change from nothing has no percentage: the absolute change says it).
CREATE FUNCTION antt_pct_change(cur bigint, prior bigint) RETURNS numeric
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN prior = 0 THEN NULL ELSE round((cur - prior) * 100.0 / prior, 2) END
$$;

-- A comparison as JSON: {"count", "prior", "change", "change_pct", "from", "to", "prior_from", "prior_to"}.
CREATE FUNCTION antt_trend_compare(areas text[], cats text[], d0 date, d1 date, p0 date, p1 date)
RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('count', c, 'prior', p, 'change', c - p,
                              'change_pct', antt_pct_change(c, p),
                              'from', d0, 'to', d1 - 1, 'prior_from', p0, 'prior_to', p1 - 1)
      FROM (SELECT antt_trend_count(areas, cats, d0, d1) AS c, antt_trend_count(areas, cats, p0, p1) AS p) x
$$;

-- The bucket [start, end) of a period containing day d.
CREATE FUNCTION antt_period_start(period text, d date) RETURNS date
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN CASE period
        WHEN 'day' THEN d
        WHEN 'week' THEN date_trunc('week', d)::date
        WHEN 'month' THEN date_trunc('month', d)::date
        WHEN 'quarter' THEN date_trunc('quarter', d)::date
        WHEN 'year' THEN date_trunc('year', d)::date
    END;
END $$;
CREATE FUNCTION antt_period_next(period text, d date) RETURNS date
LANGUAGE sql IMMUTABLE AS $$
    SELECT (d + CASE period WHEN 'day' THEN interval '1 day' WHEN 'week' THEN interval '7 days'
                            WHEN 'month' THEN interval '1 month' WHEN 'quarter' THEN interval '3 months'
                            ELSE interval '1 year' END)::date
$$;
CREATE FUNCTION antt_period_label(period text, d date) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE period WHEN 'day' THEN to_char(d, 'YYYY-MM-DD') WHEN 'week' THEN to_char(d, 'IYYY-"W"IW')
                       WHEN 'month' THEN to_char(d, 'YYYY-MM') WHEN 'quarter' THEN to_char(d, 'YYYY-"Q"Q')
                       ELSE to_char(d, 'YYYY') END
$$;

-- antt_trends(area, dimension, period, from, to): one row per bucket of
-- `period` from the bucket holding `from` to the one holding `to`
-- (inclusive), each with its count and its comparison with the same bucket a
-- year before ("cùng kỳ"). period 'range' gives one row for [from, to].
CREATE FUNCTION antt_trends(area text, dim text, period text, d_from date, d_to date)
RETURNS TABLE (bucket text, bucket_from date, bucket_to date, n bigint, prior bigint, change bigint,
               change_pct numeric)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
DECLARE
    areas text[];
    cats text[] := antt_dimension_categories(dim);
    v_b date;
    v_e date;
    per integer;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM areas a WHERE a.code = area) THEN
        RAISE EXCEPTION 'unknown area %', area USING ERRCODE = 'AT404';
    END IF;
    IF period IS NULL OR period NOT IN ('day', 'week', 'month', 'quarter', 'year', 'range') THEN
        RAISE EXCEPTION 'bad period "%" (day, week, month, quarter, year or range)', period USING ERRCODE = 'AT400';
    END IF;
    IF d_from IS NULL OR d_to IS NULL OR d_to < d_from THEN
        RAISE EXCEPTION 'bad range % .. %', d_from, d_to USING ERRCODE = 'AT400';
    END IF;
    areas := antt_area_set(area);
    IF period = 'range' THEN
        bucket := to_char(d_from, 'YYYY-MM-DD') || '..' || to_char(d_to, 'YYYY-MM-DD');
        bucket_from := d_from; bucket_to := d_to;
        n := antt_trend_count(areas, cats, d_from, d_to + 1);
        prior := antt_trend_count(areas, cats, (d_from - interval '1 year')::date, (d_to + 1 - interval '1 year')::date);
        change := n - prior; change_pct := antt_pct_change(n, prior);
        RETURN NEXT;
        RETURN;
    END IF;
    -- whole buckets: month, quarter and year from the month rollup, day and
    -- week from the day rollup; one scan for the buckets, one for the year
    -- before (a day d of the year before belongs to the bucket of d + 1 year)
    v_b := antt_period_start(period, d_from);
    v_e := antt_period_next(period, antt_period_start(period, d_to));
    per := CASE period WHEN 'day' THEN 1 WHEN 'week' THEN 7 ELSE 28 END;
    IF (v_e - v_b) / per > 1000 THEN
        RAISE EXCEPTION 'more than 1000 buckets: choose a longer period' USING ERRCODE = 'AT400';
    END IF;
    RETURN QUERY
    WITH g AS (
        SELECT CASE WHEN period IN ('day', 'week') THEN 'd' ELSE 'm' END::"char" AS grain
    ), bk AS (
        SELECT x::date AS b FROM generate_series(v_b, v_e - 1,
            CASE period WHEN 'day' THEN interval '1 day' WHEN 'week' THEN interval '7 days'
                        WHEN 'month' THEN interval '1 month' WHEN 'quarter' THEN interval '3 months'
                        ELSE interval '1 year' END) x
    ), cur AS (
        SELECT antt_period_start(period, c.bucket) AS b, sum(c.n1 + c.n2 + c.n3 + c.n4)::bigint AS n
          FROM g, trend_counts c
         WHERE c.area_code = ANY (areas) AND c.grain = g.grain AND c.bucket >= v_b AND c.bucket < v_e
           AND (cats IS NULL OR c.category = ANY (cats))
         GROUP BY 1
    ), pri AS (
        SELECT antt_period_start(period, (c.bucket + interval '1 year')::date) AS b,
               sum(c.n1 + c.n2 + c.n3 + c.n4)::bigint AS n
          FROM g, trend_counts c
         WHERE c.area_code = ANY (areas) AND c.grain = g.grain
           AND c.bucket >= (v_b - interval '1 year')::date AND c.bucket < (v_e - interval '1 year')::date
           AND (cats IS NULL OR c.category = ANY (cats))
         GROUP BY 1
    )
    SELECT antt_period_label(period, bk.b), bk.b, antt_period_next(period, bk.b) - 1,
           COALESCE(cur.n, 0), COALESCE(pri.n, 0), COALESCE(cur.n, 0) - COALESCE(pri.n, 0),
           antt_pct_change(COALESCE(cur.n, 0), COALESCE(pri.n, 0))
      FROM bk LEFT JOIN cur ON cur.b = bk.b LEFT JOIN pri ON pri.b = bk.b
     ORDER BY bk.b;
END $$;

-- Median and p90 (seconds) of one response histogram selection.
CREATE FUNCTION antt_rt_quantiles(areas text[], m0 date, m1 date, prio smallint, metric "char")
RETURNS jsonb LANGUAGE sql STABLE AS $$
    WITH h AS (
        SELECT r.bucket, sum(r.n) AS n FROM trend_response r
         WHERE r.area_code = ANY (areas) AND r.month >= m0 AND r.month < m1
           AND (prio IS NULL OR r.priority = prio) AND r.metric = antt_rt_quantiles.metric
         GROUP BY 1
    ), c AS (
        SELECT bucket, n, sum(n) OVER (ORDER BY bucket) AS cum, sum(n) OVER () AS total FROM h
    )
    SELECT jsonb_build_object(
        'n', COALESCE(max(total), 0),
        'median_s', round(antt_rt_value(min(bucket) FILTER (WHERE cum >= 0.5 * total))::numeric, 0),
        'p90_s', round(antt_rt_value(min(bucket) FILTER (WHERE cum >= 0.9 * total))::numeric, 0))
      FROM c
$$;

-- Response figures of an area for [d0, d1) (whole months): per priority and
-- in all, median and p90 to acknowledge and to resolve, share resolved and
-- share escalated.
CREATE FUNCTION antt_trend_response(area text, d0 date, d1 date) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    WITH a AS (SELECT antt_area_set(area) AS areas,
                      date_trunc('month', d0)::date AS m0,
                      (date_trunc('month', d1 - 1) + interval '1 month')::date AS m1)
    SELECT jsonb_agg(jsonb_build_object(
               'priority', p.prio,
               'incidents', x.n, 'resolved_share', CASE WHEN x.n > 0 THEN round(x.resolved * 1.0 / x.n, 4) END,
               'escalated_share', CASE WHEN x.n > 0 THEN round(x.escalated * 1.0 / x.n, 4) END,
               'acknowledge', antt_rt_quantiles(a.areas, a.m0, a.m1, p.prio, 'a'),
               'resolve', antt_rt_quantiles(a.areas, a.m0, a.m1, p.prio, 'r')) ORDER BY p.prio NULLS FIRST)
      FROM a CROSS JOIN (VALUES (NULL::smallint), (1::smallint), (2::smallint), (3::smallint), (4::smallint)) p(prio)
      CROSS JOIN LATERAL (
          SELECT COALESCE(sum(c.n), 0) AS n, COALESCE(sum(c.resolved), 0) AS resolved,
                 COALESCE(sum(c.escalated), 0) AS escalated
            FROM trend_outcomes c
           WHERE c.area_code = ANY (a.areas) AND c.month >= a.m0 AND c.month < a.m1
             AND (p.prio IS NULL OR c.priority = p.prio)) x
$$;

-- Vietnamese number formats: 1.234 (thousands), 34,33 (decimal comma,
-- trailing zeros dropped), and the press's two-digit small changes ("06").
CREATE FUNCTION antt_vi_int(x bigint) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT replace(to_char(x, 'FM999,999,999,990'), ',', '.')
$$;
CREATE FUNCTION antt_vi_pct(x numeric) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT regexp_replace(regexp_replace(replace(to_char(abs(x), 'FM999999990.00'), '.', ','), '0+$', ''), ',$', '')
$$;
CREATE FUNCTION antt_vi_change(x bigint) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN abs(x) < 10 THEN lpad(abs(x)::text, 2, '0') ELSE antt_vi_int(abs(x)) END
$$;

-- The level word of "8/10 phường đạt chuẩn".
CREATE FUNCTION antt_level_vi(level text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE level WHEN 'ward' THEN 'phường' WHEN 'commune' THEN 'xã' WHEN 'district' THEN 'quận, huyện'
                      WHEN 'neighbourhood' THEN 'khu phố' WHEN 'city' THEN 'thành phố' ELSE 'tỉnh' END
$$;

-- antt_summary(area, year): the year's figures per statistic group against
-- the same period of the year before (the whole year, or 1 January to today
-- while the year runs), the areas one level below that met the standard,
-- and the sentence districts publish. The period's counts are read once (per
-- leaf area, category and priority) and every figure is summed from them.
CREATE FUNCTION antt_summary(area text, yr integer) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    a areas;
    areas text[];
    d0 date;
    d1 date;
    p0 date;
    p1 date;
    cur antt_trend_cell[];
    pri antt_trend_cell[];
    g record;
    groups jsonb := '[]';
    parts text[] := '{}';
    first boolean := true;
    n_cur bigint;
    n_pri bigint;
    clause text;
    child_level text;
    met integer;
    total integer;
    children jsonb;
    standard jsonb := NULL;
    sentence text;
BEGIN
    SELECT * INTO a FROM areas x WHERE x.code = area;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown area %', area USING ERRCODE = 'AT404';
    END IF;
    IF yr IS NULL OR yr < 1900 OR yr > 9999 THEN
        RAISE EXCEPTION 'bad year %', yr USING ERRCODE = 'AT400';
    END IF;
    areas := antt_area_set(area);
    d0 := make_date(yr, 1, 1);
    d1 := LEAST(make_date(yr + 1, 1, 1), antt_trend_today() + 1);
    IF d1 <= d0 THEN
        RAISE EXCEPTION 'year % has not begun', yr USING ERRCODE = 'AT400';
    END IF;
    p0 := (d0 - interval '1 year')::date;
    p1 := (d1 - interval '1 year')::date;
    cur := ARRAY(SELECT c FROM antt_trend_cells(areas, d0, d1) c);
    pri := ARRAY(SELECT c FROM antt_trend_cells(areas, p0, p1) c);
    FOR g IN WITH c AS (SELECT m.group_code, sum(x.n) AS n FROM unnest(cur) x
                          JOIN stat_group_members m ON m.category = x.category GROUP BY 1),
                  p AS (SELECT m.group_code, sum(x.n) AS n FROM unnest(pri) x
                          JOIN stat_group_members m ON m.category = x.category GROUP BY 1)
             SELECT s.code, s.name_vi, s.verb_vi, COALESCE(c.n, 0) AS n_cur, COALESCE(p.n, 0) AS n_pri
               FROM stat_groups s LEFT JOIN c ON c.group_code = s.code LEFT JOIN p ON p.group_code = s.code
              WHERE EXISTS (SELECT 1 FROM stat_group_members m WHERE m.group_code = s.code)
              ORDER BY s.position, s.code LOOP
        n_cur := g.n_cur;
        n_pri := g.n_pri;
        groups := groups || jsonb_build_object('group', g.code, 'name', g.name_vi, 'count', n_cur, 'prior', n_pri,
                                               'change', n_cur - n_pri, 'change_pct', antt_pct_change(n_cur, n_pri));
        IF n_cur = 0 AND n_pri = 0 THEN
            CONTINUE;
        END IF;
        clause := g.verb_vi || ' ' || antt_vi_int(n_cur) || ' vụ ' || g.name_vi || ' (';
        IF n_cur = n_pri THEN
            clause := clause || 'bằng';
        ELSE
            clause := clause || CASE WHEN n_cur < n_pri THEN 'giảm ' ELSE 'tăng ' END || antt_vi_change(n_cur - n_pri) || ' vụ';
        END IF;
        IF first THEN
            clause := clause || ' so với cùng kỳ năm ' || (yr - 1);
        END IF;
        IF n_pri = 0 THEN
            clause := clause || CASE WHEN first THEN '' ELSE ' so với cùng kỳ' END || ', cùng kỳ không có vụ nào';
        ELSIF n_cur <> n_pri THEN
            clause := clause || ', tỉ lệ ' || CASE WHEN n_cur < n_pri THEN 'giảm ' ELSE 'tăng ' END
                      || antt_vi_pct(antt_pct_change(n_cur, n_pri)) || '%';
        ELSIF NOT first THEN
            clause := clause || ' cùng kỳ';
        END IF;
        parts := parts || (clause || ')');
        first := false;
    END LOOP;

    -- the areas one level below that existed at the end of the period, each
    -- against every rule of its level (an area of a level without rules
    -- does not take part)
    SELECT min(c.level) INTO child_level FROM areas c
     WHERE c.parent_code = area AND EXISTS (SELECT 1 FROM area_standard_rules r WHERE r.level = c.level);
    IF child_level IS NOT NULL THEN
        WITH ch AS (
            SELECT c.code, c.name FROM areas c
             WHERE c.parent_code = area AND c.level = child_level
               AND c.valid_from < d1 AND (c.valid_to IS NULL OR c.valid_to >= d1 - 1)
        ), leaf AS (
            SELECT ch.code AS child, unnest(antt_area_set(ch.code)) AS area_code FROM ch
        ), rc AS (
            SELECT r.id, r.max_count, r.max_priority, r.group_code FROM area_standard_rules r
             WHERE r.level = child_level
        ), rx AS (
            -- each rule's categories (NULL: any)
            SELECT rc.id, m.category FROM rc LEFT JOIN stat_group_members m ON m.group_code = rc.group_code
        ), per AS (
            SELECT l.child, rc.id, sum(x.n) AS n
              FROM unnest(cur) x JOIN leaf l ON l.area_code = x.area_code
              JOIN rx ON rx.category IS NULL OR rx.category = x.category
              JOIN rc ON rc.id = rx.id AND (rc.max_priority IS NULL OR x.priority <= rc.max_priority)
             GROUP BY 1, 2
        ), counts AS (
            -- every child against every rule, zero when nothing matched
            SELECT ch.code, ch.name, rc.id, rc.max_count, COALESCE(per.n, 0) AS n
              FROM ch CROSS JOIN rc LEFT JOIN per ON per.child = ch.code AND per.id = rc.id
        ), ok AS (
            SELECT code, name, bool_and(n <= max_count) AS met FROM counts GROUP BY code, name
        )
        SELECT count(*) FILTER (WHERE ok.met), count(*),
               jsonb_agg(jsonb_build_object('area', code, 'name', name, 'met', ok.met) ORDER BY code)
          INTO met, total, children FROM ok;
        standard := jsonb_build_object('level', child_level, 'met', met, 'total', total,
                                       'areas', COALESCE(children, '[]'));
        IF total > 0 THEN
            parts := parts || (met || '/' || total || ' ' || antt_level_vi(child_level)
                               || ' đạt chuẩn “An toàn về an ninh trật tự”');
        END IF;
    END IF;

    sentence := 'Năm ' || yr || ' ' || CASE WHEN cardinality(parts) = 0 THEN 'không ghi nhận vụ việc nào'
                                             ELSE array_to_string(parts, '; ') END || '.';
    RETURN jsonb_build_object(
        'area', a.code, 'name', a.name, 'year', yr, 'from', d0, 'to', d1 - 1, 'prior_from', p0, 'prior_to', p1 - 1,
        'total', (SELECT COALESCE(sum(c.n), 0) FROM unnest(cur) c),
        'prior_total', (SELECT COALESCE(sum(c.n), 0) FROM unnest(pri) c),
        'groups', groups, 'standard', standard, 'sentence', sentence);
END $$;

-- Days whose count in an area (the given one and the wards, communes and
-- neighbourhoods below it) and category is far above its trailing baseline:
-- with lambda = (count over the 28 days before + 1) / 28, the day is a
-- spike when P(X >= k | Poisson(lambda)) < 0.001 and k >= 3.
CREATE FUNCTION antt_poisson_tail(k integer, lambda double precision) RETURNS double precision
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    term double precision := exp(-lambda);
    cdf double precision := 0;
BEGIN
    FOR i IN 0 .. k - 1 LOOP
        cdf := cdf + term;
        term := term * lambda / (i + 1);
    END LOOP;
    RETURN GREATEST(1 - cdf, 0);
END $$;

CREATE FUNCTION antt_trend_spikes(area text, d date)
RETURNS TABLE (area_code text, category text, day date, n bigint, baseline double precision, p double precision)
LANGUAGE sql STABLE AS $$
    WITH sub AS (
        SELECT x.code, antt_area_set(x.code) AS areas FROM areas x
         WHERE x.code = area OR x.code = ANY (antt_area_set(area)) AND x.level IN ('ward', 'commune', 'neighbourhood')
    ), counts AS (
        SELECT s.code, c.category,
               sum(c.n1 + c.n2 + c.n3 + c.n4) FILTER (WHERE c.bucket = d) AS k,
               sum(c.n1 + c.n2 + c.n3 + c.n4) FILTER (WHERE c.bucket < d) AS before
          FROM sub s JOIN trend_counts c ON c.area_code = ANY (s.areas) AND c.grain = 'd'
                                         AND c.bucket >= d - 28 AND c.bucket <= d
         GROUP BY 1, 2
    )
    SELECT code, category, d, k, (COALESCE(before, 0) + 1) / 28.0,
           antt_poisson_tail(k::integer, (COALESCE(before, 0) + 1) / 28.0)
      FROM counts
     WHERE k >= 3 AND antt_poisson_tail(k::integer, (COALESCE(before, 0) + 1) / 28.0) < 0.001
     ORDER BY 6, 1, 2
$$;

-- Clusters of the last `days` days' counted incidents with coordinates under
-- an area (DBSCAN, eps metres, at least minpoints), each with a centroid
-- snapped to a grid of about 200 m and its count, so that no point leads
-- back to a house. Clusters smaller than minpoints are not shown.
CREATE FUNCTION antt_trend_hotspots(area text, days integer, eps_m double precision, minpoints integer)
RETURNS TABLE (cluster integer, lat double precision, lon double precision, n bigint, top_category text)
LANGUAGE sql STABLE AS $$
    WITH pts AS (
        SELECT i.category, ST_SetSRID(ST_MakePoint(i.lon, i.lat), 4326) AS g
          FROM trend_contributions c JOIN incidents i ON i.id = c.incident_id
         WHERE c.area_code = ANY (antt_area_set(area)) AND c.counted
           AND c.day > antt_trend_today() - days AND i.lat IS NOT NULL
    ), cl AS (
        SELECT category, g, ST_ClusterDBSCAN(g, eps := eps_m / 111320.0, minpoints := minpoints) OVER () AS cid
          FROM pts
    )
    SELECT cid, round(ST_Y(ST_Centroid(ST_Collect(g))) / 0.002) * 0.002,
           round(ST_X(ST_Centroid(ST_Collect(g))) / 0.002) * 0.002, count(*),
           mode() WITHIN GROUP (ORDER BY category)
      FROM cl WHERE cid IS NOT NULL
     GROUP BY cid HAVING count(*) >= minpoints
     ORDER BY 4 DESC, 1
$$;

-- The incidents that existed before this migration.
INSERT INTO trend_queue (incident_id) SELECT id FROM incidents;
