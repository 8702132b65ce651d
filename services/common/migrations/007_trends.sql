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
-- (bucket = the first day of the month), per leaf area.
CREATE TABLE trend_counts (
    area_code  text NOT NULL,
    grain      "char" NOT NULL CHECK (grain IN ('d', 'm')),
    bucket     date NOT NULL,
    category   text NOT NULL,
    priority   smallint NOT NULL,
    n          integer NOT NULL,
    resolved   integer NOT NULL,
    escalated  integer NOT NULL,
    PRIMARY KEY (area_code, grain, bucket, category, priority)
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
-- day counters and, per counter, the oldest updated_at of the incidents that
-- changed it (for the live lag). Serialised with rebuilds by an advisory lock.
CREATE FUNCTION antt_trend_apply_ids(ids uuid[])
RETURNS TABLE (area_code text, day date, category text, delta bigint, changed_at timestamptz)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    PERFORM pg_advisory_xact_lock(7470001);
    RETURN QUERY
    WITH tgt AS (
        SELECT t.*, i.updated_at FROM trend_targets t JOIN incidents i ON i.id = t.incident_id
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
               d.category, d.priority, sum(d.sign)::integer AS n,
               sum(d.sign * d.resolved::integer)::integer AS resolved,
               sum(d.sign * d.escalated::integer)::integer AS escalated
          FROM diff d CROSS JOIN (VALUES ('d'::"char"), ('m'::"char")) g(grain)
         WHERE d.counted
         GROUP BY 1, 2, 3, 4, 5
    ), up AS (
        -- (data-modifying WITH parts always run, whether read or not; all
        -- parts see the snapshot from before any of them)
        INSERT INTO trend_counts AS c SELECT * FROM counts
        ON CONFLICT (area_code, grain, bucket, category, priority) DO UPDATE SET
            n = c.n + EXCLUDED.n, resolved = c.resolved + EXCLUDED.resolved,
            escalated = c.escalated + EXCLUDED.escalated
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
END $$;

-- Drains up to max_rows rows of the queue and applies their incidents.
CREATE FUNCTION antt_trend_apply_queue(max_rows integer)
RETURNS TABLE (area_code text, day date, category text, delta bigint, changed_at timestamptz)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    ids uuid[];
BEGIN
    WITH q AS (
        DELETE FROM trend_queue WHERE seq IN
            (SELECT seq FROM trend_queue ORDER BY seq LIMIT max_rows FOR UPDATE SKIP LOCKED)
        RETURNING incident_id
    )
    SELECT array_agg(DISTINCT incident_id) INTO ids FROM q;
    IF ids IS NULL THEN
        RETURN;
    END IF;
    RETURN QUERY SELECT * FROM antt_trend_apply_ids(ids);
END $$;

-- Recomputes every contribution and rollup from the incidents table, in one
-- transaction (readers see the old numbers until it commits). Returns the
-- number of incidents counted.
CREATE FUNCTION antt_trend_rebuild() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    counted bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(7470001);
    TRUNCATE trend_contributions, trend_counts, trend_response;
    DELETE FROM trend_queue;
    INSERT INTO trend_contributions
    SELECT t.incident_id, t.version, t.area_code, t.day, t.category, t.priority, t.counted,
           t.resolved, t.escalated, t.ack_s, t.resolve_s
      FROM trend_targets t WHERE t.area_code IS NOT NULL;
    INSERT INTO trend_counts
    SELECT c.area_code, g.grain, CASE g.grain WHEN 'd' THEN c.day ELSE date_trunc('month', c.day)::date END,
           c.category, c.priority, count(*), count(*) FILTER (WHERE c.resolved),
           count(*) FILTER (WHERE c.escalated)
      FROM trend_contributions c CROSS JOIN (VALUES ('d'::"char"), ('m'::"char")) g(grain)
     WHERE c.counted
     GROUP BY 1, 2, 3, 4, 5;
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

-- Counted incidents in [d0, d1) over the given leaf areas and categories
-- (NULL: all) and priorities up to max_prio (NULL: all): whole months from
-- the month rollup, the ragged edges from the day rollup.
CREATE FUNCTION antt_trend_count(areas text[], cats text[], d0 date, d1 date, max_prio smallint DEFAULT NULL)
RETURNS bigint LANGUAGE sql STABLE AS $$
    WITH b AS (
        SELECT CASE WHEN date_trunc('month', d0)::date = d0 THEN d0
                    ELSE (date_trunc('month', d0) + interval '1 month')::date END AS m0,
               date_trunc('month', d1)::date AS m1
    )
    SELECT COALESCE(sum(c.n), 0)::bigint FROM b, trend_counts c
     WHERE c.area_code = ANY (areas)
       AND (cats IS NULL OR c.category = ANY (cats))
       AND (max_prio IS NULL OR c.priority <= max_prio)
       AND ((b.m0 < b.m1 AND c.grain = 'm' AND c.bucket >= b.m0 AND c.bucket < b.m1)
         OR (c.grain = 'd' AND c.bucket >= d0 AND c.bucket < d1
             AND (b.m0 >= b.m1 OR c.bucket < b.m0 OR c.bucket >= b.m1)))
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
    b date;
    e date;
    k integer := 0;
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
    b := antt_period_start(period, d_from);
    WHILE b <= d_to LOOP
        k := k + 1;
        IF k > 1000 THEN
            RAISE EXCEPTION 'more than 1000 buckets: choose a longer period' USING ERRCODE = 'AT400';
        END IF;
        e := antt_period_next(period, b);
        bucket := antt_period_label(period, b);
        bucket_from := b; bucket_to := e - 1;
        n := antt_trend_count(areas, cats, b, e);
        prior := antt_trend_count(areas, cats, (b - interval '1 year')::date, (e - interval '1 year')::date);
        change := n - prior; change_pct := antt_pct_change(n, prior);
        RETURN NEXT;
        b := e;
    END LOOP;
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
            FROM trend_counts c
           WHERE c.area_code = ANY (a.areas) AND c.grain = 'm' AND c.bucket >= a.m0 AND c.bucket < a.m1
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

-- Whether an area meets the standard over [d0, d1): NULL when its level has
-- no rules.
CREATE FUNCTION antt_area_meets_standard(area text, d0 date, d1 date) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT bool_and(antt_trend_count(antt_area_set(area),
                                     CASE WHEN r.group_code IS NULL THEN NULL
                                          ELSE (SELECT array_agg(m.category) FROM stat_group_members m
                                                 WHERE m.group_code = r.group_code) END,
                                     d0, d1, r.max_priority) <= r.max_count)
      FROM area_standard_rules r JOIN areas a ON a.code = area AND a.level = r.level
$$;

-- antt_summary(area, year): the year's figures per statistic group against
-- the same period of the year before (the whole year, or 1 January to today
-- while the year runs), the areas below that met the standard, response
-- figures, and the sentence districts publish.
CREATE FUNCTION antt_summary(area text, yr integer) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    a areas;
    areas text[];
    d0 date;
    d1 date;
    p0 date;
    p1 date;
    g record;
    groups jsonb := '[]';
    parts text[] := '{}';
    first boolean := true;
    cur bigint;
    prior bigint;
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
    FOR g IN SELECT s.code, s.name_vi, s.verb_vi, array_agg(m.category) AS cats
               FROM stat_groups s JOIN stat_group_members m ON m.group_code = s.code
              GROUP BY s.code, s.name_vi, s.verb_vi, s.position ORDER BY s.position, s.code LOOP
        cur := antt_trend_count(areas, g.cats, d0, d1);
        prior := antt_trend_count(areas, g.cats, p0, p1);
        groups := groups || jsonb_build_object('group', g.code, 'name', g.name_vi, 'count', cur, 'prior', prior,
                                               'change', cur - prior, 'change_pct', antt_pct_change(cur, prior));
        IF cur = 0 AND prior = 0 THEN
            CONTINUE;
        END IF;
        clause := g.verb_vi || ' ' || antt_vi_int(cur) || ' vụ ' || g.name_vi || ' (';
        IF cur = prior THEN
            clause := clause || 'bằng';
        ELSE
            clause := clause || CASE WHEN cur < prior THEN 'giảm ' ELSE 'tăng ' END || antt_vi_change(cur - prior) || ' vụ';
        END IF;
        IF first THEN
            clause := clause || ' so với cùng kỳ năm ' || (yr - 1);
        END IF;
        IF prior = 0 THEN
            clause := clause || CASE WHEN first THEN '' ELSE ' so với cùng kỳ' END || ', cùng kỳ không có vụ nào';
        ELSIF cur <> prior THEN
            clause := clause || ', tỉ lệ ' || CASE WHEN cur < prior THEN 'giảm ' ELSE 'tăng ' END
                      || antt_vi_pct(antt_pct_change(cur, prior)) || '%';
        ELSIF NOT first THEN
            clause := clause || ' cùng kỳ';
        END IF;
        parts := parts || (clause || ')');
        first := false;
    END LOOP;

    -- the areas one level below that existed at the end of the period
    SELECT min(c.level) INTO child_level FROM areas c
     WHERE c.parent_code = area AND EXISTS (SELECT 1 FROM area_standard_rules r WHERE r.level = c.level);
    IF child_level IS NOT NULL THEN
        SELECT count(*) FILTER (WHERE ok), count(*),
               jsonb_agg(jsonb_build_object('area', code, 'name', name, 'met', ok) ORDER BY code)
          INTO met, total, children
          FROM (SELECT c.code, c.name, COALESCE(antt_area_meets_standard(c.code, d0, d1), false) AS ok
                  FROM areas c
                 WHERE c.parent_code = area AND c.level = child_level
                   AND c.valid_from < d1 AND (c.valid_to IS NULL OR c.valid_to >= d1 - 1)) x;
        standard := jsonb_build_object('level', child_level, 'met', met, 'total', total, 'areas', children);
        IF total > 0 THEN
            parts := parts || (met || '/' || total || ' ' || antt_level_vi(child_level)
                               || ' đạt chuẩn “An toàn về an ninh trật tự”');
        END IF;
    END IF;

    sentence := 'Năm ' || yr || ' ' || CASE WHEN cardinality(parts) = 0 THEN 'không ghi nhận vụ việc nào'
                                             ELSE array_to_string(parts, '; ') END || '.';
    RETURN jsonb_build_object(
        'area', a.code, 'name', a.name, 'year', yr, 'from', d0, 'to', d1 - 1, 'prior_from', p0, 'prior_to', p1 - 1,
        'total', antt_trend_count(areas, NULL, d0, d1), 'prior_total', antt_trend_count(areas, NULL, p0, p1),
        'groups', groups, 'standard', standard,
        'response', antt_trend_response(area, d0, d1),
        'sentence', sentence);
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
               sum(c.n) FILTER (WHERE c.bucket = d) AS k,
               sum(c.n) FILTER (WHERE c.bucket < d) AS before
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
