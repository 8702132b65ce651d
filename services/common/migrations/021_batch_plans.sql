-- 021: the desk feed's journal appends look up what is already journaled by
-- key, whatever the statistics said when the plan was cached (the lesson of
-- 004, which antt_desk_feed_append had not learnt).
--
-- antt_desk_feed_append's plan is made once per session. Made while
-- desk_feed was new (never analyzed, estimated at 610 rows), it joined the
-- batch to the journal by a sequential scan and a hash, and kept doing so
-- as the journal grew: in the bench at 1,000 reports/s a call of 200 updates
-- scanned 31,607 rows in 18.5 of its 19.4 ms, the notification session
-- burned 589 ms of CPU per 1,000 reports, and the updates queued behind it.
-- The lookup is now a LATERAL ... LIMIT 1 by the unique key, with
-- sequential scans off (an index scan is the only plan), and a new update's
-- number is a running count over the batch, so that nothing joins the batch
-- back to a part of itself whose size the planner cannot know.
CREATE OR REPLACE FUNCTION antt_desk_feed_append(items jsonb) RETURNS TABLE (ord integer, seq bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    base bigint;
BEGIN
    SELECT m.last_seq INTO base FROM desk_feed_meta m FOR UPDATE;
    RETURN QUERY
    WITH input AS (
        SELECT x.ord, x.incident_id, x.version, x.kind, x.desks, x.body
          FROM jsonb_to_recordset(items) AS x(ord integer, incident_id uuid, version bigint, kind text,
                                              desks text[], body text)
    ), uniq AS (
        SELECT DISTINCT ON (u.incident_id, u.version, u.kind) u.* FROM input u
         ORDER BY u.incident_id, u.version, u.kind, u.ord
    ), known AS (
        -- an update journaled before keeps its number
        SELECT u.*, o.seq AS old_seq FROM uniq u
          LEFT JOIN LATERAL (SELECT f.seq FROM desk_feed f
                              WHERE f.incident_id = u.incident_id AND f.version = u.version AND f.kind = u.kind
                              LIMIT 1) o ON true
    ), numbered AS (
        -- a new one the next number, in the batch's order
        SELECT k.*, COALESCE(k.old_seq,
                             base + count(*) FILTER (WHERE k.old_seq IS NULL) OVER (ORDER BY k.ord)) AS seq
          FROM known k
    ), ins AS (
        INSERT INTO desk_feed (seq, incident_id, version, kind, body)
        SELECT n.seq, n.incident_id, n.version, n.kind, n.body FROM numbered n WHERE n.old_seq IS NULL
    ), fan AS (
        INSERT INTO desk_feed_desks (desk, seq)
        SELECT DISTINCT dk, n.seq FROM numbered n CROSS JOIN LATERAL unnest(n.desks) dk WHERE n.old_seq IS NULL
    ), meta AS (
        UPDATE desk_feed_meta SET last_seq = base + (SELECT count(*) FROM numbered n WHERE n.old_seq IS NULL)
    )
    SELECT i.ord, nb.seq FROM input i
      JOIN numbered nb ON nb.incident_id = i.incident_id AND nb.version = i.version AND nb.kind = i.kind
     ORDER BY nb.seq, i.ord;
END $$
SET enable_seqscan = off SET jit = off;
