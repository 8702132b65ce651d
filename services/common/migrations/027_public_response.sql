-- 027: the public's response times, as one function of the staff's figures
-- (it had been an expression in aggregation's query). Besides a priority of
-- 1 .. k-1 incidents and an acknowledge or resolve of 1 .. k-1 samples:
--  - when exactly one priority is hidden, the smallest other priority with
--    incidents is hidden too: "all" less the priorities shown would be it;
--  - a resolved or escalated share is null when the incidents it counts, or
--    those it does not, are 1 .. k-1: share × incidents is that count.
-- 1 when a share of n incidents gives away a count of 1 .. k-1 (those it
-- counts or those it does not).
CREATE FUNCTION antt_public_share_hidden(share text, n bigint, k integer) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT share IS NOT NULL AND (round(share::numeric * n) BETWEEN 1 AND k - 1
                                  OR n - round(share::numeric * n) BETWEEN 1 AND k - 1)
$$;

CREATE FUNCTION antt_public_response(r jsonb, k integer) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    WITH e AS (SELECT x.e, x.o, (x.e->>'incidents')::bigint AS n, x.e->>'priority' AS prio
                 FROM jsonb_array_elements(r) WITH ORDINALITY x(e, o)),
         p AS (SELECT e.*, e.n BETWEEN 1 AND k - 1 AS hid FROM e),
         s AS (SELECT p.*, p.hid OR (p.prio IS NOT NULL
                   AND (SELECT count(*) FROM p q WHERE q.prio IS NOT NULL AND q.hid) = 1
                   AND p.o = (SELECT q.o FROM p q WHERE q.prio IS NOT NULL AND NOT q.hid AND q.n > 0
                               ORDER BY q.n, q.o LIMIT 1)) AS hide FROM p)
    SELECT jsonb_agg(CASE WHEN s.hide
        THEN jsonb_build_object('priority', s.e->'priority', 'incidents', NULL, 'suppressed', true)
        ELSE s.e || jsonb_build_object(
            'resolved_share', CASE WHEN antt_public_share_hidden(s.e->>'resolved_share', s.n, k) THEN NULL
                                   ELSE s.e->'resolved_share' END,
            'escalated_share', CASE WHEN antt_public_share_hidden(s.e->>'escalated_share', s.n, k) THEN NULL
                                    ELSE s.e->'escalated_share' END,
            'acknowledge', CASE WHEN (s.e->'acknowledge'->>'n')::bigint BETWEEN 1 AND k - 1
                                THEN jsonb_build_object('n', NULL, 'suppressed', true) ELSE s.e->'acknowledge' END,
            'resolve', CASE WHEN (s.e->'resolve'->>'n')::bigint BETWEEN 1 AND k - 1
                            THEN jsonb_build_object('n', NULL, 'suppressed', true) ELSE s.e->'resolve' END) END
        ORDER BY s.o) FROM s
$$;
