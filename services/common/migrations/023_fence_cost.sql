-- 023: the leader fence (019) reads one backend's start, not the whole of
-- pg_stat_activity. Joining the view built every backend's row (its query
-- text and state) at each fence: 0.69 of the fence's 0.95 ms on an idle
-- server, and notification and aggregation fence every webhook claim and
-- every trend drain (some 200 fences a second at 1,000 reports/s, 15% of
-- the pipeline's CPU). pg_stat_get_activity(pid) returns that one backend.
-- The holder's session and the fencing one are the same service's role,
-- which may read its own sessions' start.
CREATE OR REPLACE FUNCTION antt_leader_fence(service text, holder_pid integer, holder_start timestamptz)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_locks l
         WHERE l.locktype = 'advisory' AND l.granted AND l.pid = holder_pid
           AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
           AND l.classid = 1818583396 AND l.objid = hashtext(service)::oid AND l.objsubid = 2)
       OR (SELECT a.backend_start FROM pg_stat_get_activity(holder_pid) a) IS DISTINCT FROM holder_start THEN
        RAISE EXCEPTION 'not the leader of %: its lock is not held by session %', service, holder_pid
            USING ERRCODE = '55000';
    END IF;
END $$;
