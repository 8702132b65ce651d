-- 019: active/standby (services/common/antt_leader.c). The active
-- notification or aggregation holds a session advisory lock (keys
-- 1818583396, hashtext(service)) on a connection of its own; every act that
-- must not happen twice (an escalation, a webhook claim, a trend drain)
-- starts with this fence, in its own transaction: it fails unless the lock
-- is held, now, by the session the process names (its backend pid and
-- start, since a pid alone can be reused). A leader that lost its lock a
-- moment ago therefore cannot act, whatever it believes.
CREATE FUNCTION antt_leader_fence(service text, holder_pid integer, holder_start timestamptz)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
         WHERE l.locktype = 'advisory' AND l.granted AND l.pid = holder_pid
           AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
           AND l.classid = 1818583396 AND l.objid = hashtext(service)::oid AND l.objsubid = 2
           AND a.backend_start = holder_start) THEN
        RAISE EXCEPTION 'not the leader of %: its lock is not held by session %', service, holder_pid
            USING ERRCODE = '55000';
    END IF;
END $$;
REVOKE EXECUTE ON FUNCTION antt_leader_fence FROM PUBLIC;
GRANT EXECUTE ON FUNCTION antt_leader_fence TO antt_notification, antt_aggregation;

-- Webhook deliveries are claimed (notify_webhook.c): the sender takes due
-- rows FOR UPDATE SKIP LOCKED and sets claimed_until past the request's
-- whole time and claimed_by to its session (pid@backend_start), so that
-- another sender neither waits for nor takes them; the outcome clears the
-- claim. A claim holds while its session lives and until it runs out: a
-- frozen sender that thaws records what it sent (no second copy); the
-- claims of a sender that died are void at once (what it had in flight is
-- sent again, under the same webhook-id, which receivers keep once).
ALTER TABLE webhook_deliveries ADD COLUMN claimed_until timestamptz;
ALTER TABLE webhook_deliveries ADD COLUMN claimed_by text;
