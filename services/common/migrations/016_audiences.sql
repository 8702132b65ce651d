-- 016: the two audiences of the figures (issue 16). Staff present a
-- dashboard token scoped to an area and see it, and everything below, live
-- and in full; anonymous viewers see the public figures: no figure of 1 ..
-- k-1 incidents, and a neighbourhood's figures without the incidents filed
-- during the last delay seconds (docs/decisions.md, "Two audiences").

-- A staff dashboard's token: like a dispatcher's (005), only a SHA-256 of it
-- is stored; it is revoked, never deleted, so that a list says who had one.
CREATE TABLE dashboard_tokens (
    id          serial PRIMARY KEY,
    name        text NOT NULL,
    area_code   text NOT NULL REFERENCES areas(code),
    token_hash  bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
GRANT SELECT ON dashboard_tokens TO antt_aggregation;

-- antt_dashboard_scope(token_hash, area): the token's area, and whether
-- area (NULL: the token's own) is that area or below it (an unknown area
-- is allowed: the query answers 404). No row: an unknown or revoked token.
CREATE FUNCTION antt_dashboard_scope(token_hash bytea, area text)
RETURNS TABLE (token_area text, allowed boolean)
LANGUAGE sql STABLE AS $$
    SELECT t.area_code, area IS NULL OR area = ANY (antt_area_set(t.area_code))
                        OR NOT EXISTS (SELECT 1 FROM areas a WHERE a.code = area)
      FROM dashboard_tokens t
     WHERE t.token_hash = antt_dashboard_scope.token_hash AND t.revoked_at IS NULL
$$;

-- A public figure: NULL (suppressed) when 1 .. k-1 incidents.
CREATE FUNCTION antt_public_n(n bigint, k integer) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN n > 0 AND n < k THEN NULL ELSE n END
$$;

-- The days (with repetition, one per incident) of the counted incidents of
-- categories cats (NULL: all) under areas that were filed after `since`:
-- what a neighbourhood's public figures leave out (incidents_created_idx).
CREATE FUNCTION antt_public_recent(areas text[], cats text[], since timestamptz)
RETURNS TABLE (day date)
LANGUAGE sql STABLE AS $$
    SELECT c.day FROM incidents i JOIN trend_contributions c ON c.incident_id = i.id
     WHERE i.created_at > since AND c.counted AND c.area_code = ANY (areas)
       AND (cats IS NULL OR c.category = ANY (cats))
$$;

-- 1 when the area is below the ward level (its public figures are delayed).
CREATE FUNCTION antt_area_fine(area text) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT COALESCE((SELECT level = 'neighbourhood' FROM areas WHERE code = area), false)
$$;

-- antt_trends as an anonymous viewer sees it: a neighbourhood's buckets
-- without the incidents filed in the last delay_s seconds, then every
-- count and prior of 1 .. k-1 suppressed (NULL, and so their change).
CREATE FUNCTION antt_public_trends(area text, dim text, period text, d_from date, d_to date, k integer,
                                   delay_s integer)
RETURNS TABLE (bucket text, bucket_from date, bucket_to date, n bigint, prior bigint, change bigint,
               change_pct numeric)
LANGUAGE sql STABLE AS $$
    WITH t AS (
        SELECT * FROM antt_trends(area, dim, period, d_from, d_to)
    ), r AS (
        SELECT x.day FROM antt_public_recent(antt_area_set(area), antt_dimension_categories(dim),
                                             now() - make_interval(secs => delay_s)) x
         WHERE antt_area_fine(area)
    ), a AS (
        SELECT t.bucket, t.bucket_from, t.bucket_to,
               t.n - (SELECT count(*) FROM r WHERE r.day BETWEEN t.bucket_from AND t.bucket_to) AS n,
               t.prior - (SELECT count(*) FROM r WHERE (r.day + interval '1 year')::date
                                                        BETWEEN t.bucket_from AND t.bucket_to) AS prior
          FROM t
    )
    SELECT a.bucket, a.bucket_from, a.bucket_to, antt_public_n(a.n, k), antt_public_n(a.prior, k),
           antt_public_n(a.n, k) - antt_public_n(a.prior, k),
           antt_pct_change(antt_public_n(a.n, k), antt_public_n(a.prior, k))
      FROM a ORDER BY a.bucket_from
$$;

-- antt_trend_compare as an anonymous viewer sees it (the same rules).
CREATE FUNCTION antt_public_compare(area text, cats text[], d0 date, d1 date, p0 date, p1 date, k integer,
                                    delay_s integer)
RETURNS jsonb LANGUAGE sql STABLE AS $$
    WITH r AS (
        SELECT x.day FROM antt_public_recent(antt_area_set(area), cats, now() - make_interval(secs => delay_s)) x
         WHERE antt_area_fine(area)
    ), v AS (
        SELECT antt_public_n(antt_trend_count(antt_area_set(area), cats, d0, d1)
                             - (SELECT count(*) FROM r WHERE r.day >= d0 AND r.day < d1), k) AS c,
               antt_public_n(antt_trend_count(antt_area_set(area), cats, p0, p1)
                             - (SELECT count(*) FROM r WHERE r.day >= p0 AND r.day < p1), k) AS p
    )
    SELECT jsonb_build_object('count', c, 'prior', p, 'change', c - p, 'change_pct', antt_pct_change(c, p),
                              'suppressed', c IS NULL OR p IS NULL,
                              'from', d0, 'to', d1 - 1, 'prior_from', p0, 'prior_to', p1 - 1)
      FROM v
$$;

-- antt_trend_hotspots (007) of the incidents filed before `before` only:
-- the public's hotspots are those of the incidents filed before the delay,
-- of at least k (a cluster's centroid is finer than a neighbourhood). The
-- four-argument form is this one with before = now().
CREATE FUNCTION antt_trend_hotspots(area text, days integer, eps_m double precision, minpoints integer,
                                    before timestamptz)
RETURNS TABLE (cluster integer, lat double precision, lon double precision, n bigint, top_category text)
LANGUAGE sql STABLE AS $$
    WITH pts AS (
        SELECT i.category, ST_SetSRID(ST_MakePoint(i.lon, i.lat), 4326) AS g
          FROM trend_contributions c JOIN incidents i ON i.id = c.incident_id
         WHERE c.area_code = ANY (antt_area_set(area)) AND c.counted
           AND c.day > antt_trend_today() - days AND i.lat IS NOT NULL AND i.created_at <= before
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
CREATE OR REPLACE FUNCTION antt_trend_hotspots(area text, days integer, eps_m double precision, minpoints integer)
RETURNS TABLE (cluster integer, lat double precision, lon double precision, n bigint, top_category text)
LANGUAGE sql STABLE AS $$
    SELECT * FROM antt_trend_hotspots(area, days, eps_m, minpoints, now())
$$;

-- Spikes as an anonymous viewer sees them: a cell of at least k, and a
-- neighbourhood's only for a day that ended delay_s seconds ago.
CREATE FUNCTION antt_public_spikes(area text, d date, k integer, delay_s integer)
RETURNS TABLE (area_code text, category text, day date, n bigint, baseline double precision, p double precision)
LANGUAGE sql STABLE AS $$
    SELECT s.* FROM antt_trend_spikes(area, d) s
     WHERE s.n >= k
       AND (NOT antt_area_fine(s.area_code)
            OR (s.day + 1)::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh' <= now() - make_interval(secs => delay_s))
$$;
