-- 005: dispatchers, triage and escalation (the notification service).

-- A dispatcher acts for one desk, and sees that desk's incidents and those of
-- every desk below it. Only a SHA-256 of the token is stored.
CREATE TABLE dispatchers (
    id          serial PRIMARY KEY,
    name        text NOT NULL,
    desk_code   text NOT NULL REFERENCES desks(code),
    token_hash  bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- What triage records on the incident itself (the full story is in
-- incident_events).
ALTER TABLE incidents ADD COLUMN assignee text;
ALTER TABLE incidents ADD COLUMN outcome text;
ALTER TABLE incidents ADD COLUMN status_note text;
ALTER TABLE incidents ADD COLUMN escalations integer NOT NULL DEFAULT 0;
ALTER TABLE incidents ADD COLUMN acknowledged_at timestamptz;
ALTER TABLE incidents ADD COLUMN closed_at timestamptz;
-- the escalation timer's question: which unacknowledged deadline is next
CREATE INDEX incidents_new_deadline_idx ON incidents (ack_deadline) WHERE status = 'new';

-- Extra routes: an incident of this category (and at least this urgent,
-- when max_priority is set) is also shown on this desk's feed.
CREATE TABLE routes (
    id            serial PRIMARY KEY,
    category      text NOT NULL,
    max_priority  smallint CHECK (max_priority BETWEEN 1 AND 4),
    desk_code     text NOT NULL REFERENCES desks(code),
    UNIQUE (category, desk_code)
);

-- The desk a desk escalates to: the desk of its area's parent (or of the
-- nearest ancestor with one). NULL at the top.
CREATE FUNCTION antt_parent_desk(desk text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT ad.desk_code FROM desks d JOIN areas a ON a.code = d.area_code
      JOIN area_desks ad ON ad.area_code = a.parent_code
     WHERE d.code = desk
$$;

-- The desks from a desk up to the top, nearest first (the desks that see its
-- incidents).
CREATE FUNCTION antt_desk_chain(desk text) RETURNS TABLE (desk_code text, depth integer)
LANGUAGE sql STABLE AS $$
    WITH RECURSIVE up(code, parent, depth) AS (
        SELECT a.code, a.parent_code, 0 FROM desks d JOIN areas a ON a.code = d.area_code
         WHERE d.code = desk
        UNION ALL
        SELECT a.code, a.parent_code, up.depth + 1 FROM areas a JOIN up ON a.code = up.parent
         WHERE up.depth < 16)
    SELECT o.code, up.depth FROM up JOIN desks o ON o.area_code = up.code ORDER BY up.depth
$$;

-- One incident as triage and the feeds show it.
CREATE TYPE antt_incident_state AS (
    kind text, incident_id uuid, version bigint, status text, category text, priority smallint,
    area_code text, desk_code text, report_count integer, actor text, note text, at timestamptz,
    occurred_at timestamptz, merged_into uuid, outcome text, ack_deadline timestamptz,
    assignee text, contacts bytea[]);

CREATE FUNCTION antt_incident_state(i incidents, kind text, actor text, note text)
RETURNS antt_incident_state LANGUAGE sql STABLE AS $$
    SELECT ROW(kind, i.id, i.version, i.status, i.category, i.priority, i.area_code, i.desk_code,
               i.report_count, actor, note, now(), i.occurred_at, i.merged_into, i.outcome,
               i.ack_deadline, i.assignee, NULL::bytea[])::antt_incident_state
$$;

-- Errors of triage, as SQLSTATEs the service maps to replies:
-- AT400 bad request, AT403 forbidden, AT404 not found, AT409 conflict.
--
-- antt_triage(token_hash, action, incident, args): one dispatcher command,
-- checked against the dispatcher's desk (its incidents and those below) and
-- the incident's state, recorded on the incident (version + 1) and as an
-- event, in the caller's transaction. Returns the changed incidents, the one
-- acted on first. args (jsonb): assignee, note, outcome, target (merge),
-- report_id (split), expected_version.
CREATE FUNCTION antt_triage(token_hash bytea, action text, incident uuid, args jsonb)
RETURNS SETOF antt_incident_state
LANGUAGE plpgsql AS $$
DECLARE
    d dispatchers;
    i incidents;
    t incidents;
    n incidents;
    who text;
    note text := NULLIF(args->>'note', '');
    open_states text[] := ARRAY['new', 'acknowledged', 'assigned'];
    ack_s integer[] := COALESCE((SELECT array_agg(x::integer) FROM jsonb_array_elements_text(args->'ack_s') x),
                                ARRAY[60, 300, 3600, 86400]);
    st antt_incident_state;
    parent text;
    rid uuid;
BEGIN
    SELECT * INTO d FROM dispatchers x WHERE x.token_hash = antt_triage.token_hash AND x.active;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown or revoked dispatcher token' USING ERRCODE = 'AT403';
    END IF;
    who := 'dispatcher:' || d.id;
    IF action = 'list' THEN
        RETURN QUERY
        SELECT (antt_incident_state(x, 'state', who, NULL)).* FROM incidents x
         WHERE x.status = ANY (open_states)
           AND x.desk_code IN (SELECT c.code FROM desks c WHERE d.desk_code IN
                               (SELECT ch.desk_code FROM antt_desk_chain(c.code) ch))
         ORDER BY x.priority, x.ack_deadline NULLS LAST, x.created_at
         LIMIT 500;
        RETURN;
    END IF;
    SELECT * INTO i FROM incidents x WHERE x.id = incident FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no incident %', incident USING ERRCODE = 'AT404';
    END IF;
    -- out of scope looks the same as absent: a dispatcher learns nothing of
    -- other desks' incidents
    IF NOT EXISTS (SELECT 1 FROM antt_desk_chain(i.desk_code) ch WHERE ch.desk_code = d.desk_code) THEN
        RAISE EXCEPTION 'no incident %', incident USING ERRCODE = 'AT404';
    END IF;
    IF args ? 'expected_version' AND (args->>'expected_version')::bigint <> i.version THEN
        RAISE EXCEPTION 'incident % is at version %, not %', incident, i.version, args->>'expected_version'
            USING ERRCODE = 'AT409';
    END IF;

    IF action = 'get' THEN
        RETURN NEXT antt_incident_state(i, 'state', who, NULL);
        RETURN;
    ELSIF action = 'unseal_contact' THEN
        st := antt_incident_state(i, 'contact_unsealed', who, NULL);
        SELECT array_agg(r.contact_sealed ORDER BY r.received_at) INTO st.contacts
          FROM incident_reports l JOIN reports r ON r.id = l.report_id
         WHERE l.incident_id = i.id AND r.contact_sealed IS NOT NULL;
        -- the event says who looked, never what they saw
        INSERT INTO incident_events (incident_id, kind, actor, data)
        VALUES (i.id, 'contact_unsealed', who, jsonb_build_object('contacts', COALESCE(cardinality(st.contacts), 0)));
        RETURN NEXT st;
        RETURN;
    ELSIF action = 'note' THEN
        IF note IS NULL THEN
            RAISE EXCEPTION 'note needs a text' USING ERRCODE = 'AT400';
        END IF;
        UPDATE incidents x SET version = x.version + 1, updated_at = now() WHERE x.id = i.id RETURNING * INTO i;
    ELSIF action = 'reopen' THEN
        IF i.status NOT IN ('resolved', 'rejected') THEN
            RAISE EXCEPTION 'cannot reopen an incident that is %', i.status USING ERRCODE = 'AT409';
        END IF;
        UPDATE incidents x SET status = 'acknowledged', outcome = NULL, closed_at = NULL, status_note = note,
               version = x.version + 1, updated_at = now()
         WHERE x.id = i.id RETURNING * INTO i;
    ELSE
        IF NOT i.status = ANY (open_states) THEN
            RAISE EXCEPTION 'cannot % an incident that is %', action, i.status USING ERRCODE = 'AT409';
        END IF;
        IF action = 'acknowledge' THEN
            IF i.status <> 'new' THEN
                RAISE EXCEPTION 'incident is already %', i.status USING ERRCODE = 'AT409';
            END IF;
            UPDATE incidents x SET status = 'acknowledged', acknowledged_at = now(),
                   version = x.version + 1, updated_at = now()
             WHERE x.id = i.id RETURNING * INTO i;
        ELSIF action = 'assign' THEN
            IF NULLIF(args->>'assignee', '') IS NULL THEN
                RAISE EXCEPTION 'assign needs an assignee' USING ERRCODE = 'AT400';
            END IF;
            UPDATE incidents x SET status = 'assigned', assignee = args->>'assignee',
                   acknowledged_at = COALESCE(x.acknowledged_at, now()),
                   version = x.version + 1, updated_at = now()
             WHERE x.id = i.id RETURNING * INTO i;
        ELSIF action = 'escalate' THEN
            parent := antt_parent_desk(i.desk_code);
            IF parent IS NULL THEN
                RAISE EXCEPTION 'desk % has no desk above it', i.desk_code USING ERRCODE = 'AT409';
            END IF;
            UPDATE incidents x SET desk_code = parent, escalations = x.escalations + 1,
                   ack_deadline = CASE WHEN x.status = 'new' THEN now() + make_interval(secs => ack_s[x.priority])
                                       ELSE x.ack_deadline END,
                   version = x.version + 1, updated_at = now()
             WHERE x.id = i.id RETURNING * INTO i;
        ELSIF action = 'resolve' THEN
            IF NULLIF(args->>'outcome', '') IS NULL THEN
                RAISE EXCEPTION 'resolve needs an outcome' USING ERRCODE = 'AT400';
            END IF;
            UPDATE incidents x SET status = 'resolved', outcome = args->>'outcome', status_note = note,
                   closed_at = now(), version = x.version + 1, updated_at = now()
             WHERE x.id = i.id RETURNING * INTO i;
        ELSIF action = 'reject' THEN
            IF COALESCE(args->>'outcome', 'unfounded') NOT IN ('unfounded', 'false_report') THEN
                RAISE EXCEPTION 'reject outcome must be unfounded or false_report' USING ERRCODE = 'AT400';
            END IF;
            UPDATE incidents x SET status = 'rejected', outcome = COALESCE(args->>'outcome', 'unfounded'),
                   status_note = note, closed_at = now(), version = x.version + 1, updated_at = now()
             WHERE x.id = i.id RETURNING * INTO i;
        ELSIF action = 'merge' THEN
            IF NOT (args->>'target') ~* '^[0-9a-f-]{36}$' THEN
                RAISE EXCEPTION 'merge needs a target incident id' USING ERRCODE = 'AT400';
            END IF;
            SELECT * INTO t FROM incidents x WHERE x.id = (args->>'target')::uuid FOR UPDATE;
            IF NOT FOUND OR NOT EXISTS (SELECT 1 FROM antt_desk_chain(t.desk_code) ch
                                         WHERE ch.desk_code = d.desk_code) THEN
                RAISE EXCEPTION 'no incident %', args->>'target' USING ERRCODE = 'AT404';
            END IF;
            IF t.id = i.id OR NOT t.status = ANY (open_states) THEN
                RAISE EXCEPTION 'cannot merge into an incident that is % (or itself)', t.status
                    USING ERRCODE = 'AT409';
            END IF;
            UPDATE incident_reports l SET incident_id = t.id WHERE l.incident_id = i.id;
            UPDATE incidents x SET report_count = x.report_count + i.report_count,
                   priority = LEAST(x.priority, i.priority), version = x.version + 1, updated_at = now()
             WHERE x.id = t.id RETURNING * INTO t;
            UPDATE incidents x SET status = 'merged', merged_into = t.id, closed_at = now(),
                   version = x.version + 1, updated_at = now()
             WHERE x.id = i.id RETURNING * INTO i;
            INSERT INTO incident_events (incident_id, kind, actor, data)
            VALUES (t.id, 'merged_in', who, jsonb_build_object('from', i.id, 'report_count', t.report_count,
                                                                 'version', t.version));
        ELSIF action = 'split' THEN
            rid := CASE WHEN (args->>'report_id') ~* '^[0-9a-f-]{36}$' THEN (args->>'report_id')::uuid END;
            IF rid IS NULL OR NOT EXISTS (SELECT 1 FROM incident_reports l
                                           WHERE l.report_id = rid AND l.incident_id = i.id) THEN
                RAISE EXCEPTION 'split needs a report of this incident' USING ERRCODE = 'AT400';
            END IF;
            IF i.report_count < 2 THEN
                RAISE EXCEPTION 'an incident of one report cannot be split' USING ERRCODE = 'AT409';
            END IF;
            INSERT INTO incidents (id, occurred_at, category, priority, confidence, area_code, desk_code,
                                   status, ack_deadline, report_count, lat, lon, location_source, reasons,
                                   acknowledged_at)
            SELECT gen_random_uuid(), COALESCE(r.occurred_at, r.received_at), COALESCE(l.category, i.category),
                   COALESCE(l.priority, i.priority), l.confidence, i.area_code, i.desk_code,
                   'acknowledged', i.ack_deadline, 1, r.lat, r.lon, i.location_source, l.reasons, now()
              FROM incident_reports l JOIN reports r ON r.id = l.report_id
             WHERE l.report_id = rid
            RETURNING * INTO n;
            UPDATE incident_reports l SET incident_id = n.id WHERE l.report_id = rid;
            UPDATE incidents x SET report_count = x.report_count - 1, version = x.version + 1, updated_at = now()
             WHERE x.id = i.id RETURNING * INTO i;
            INSERT INTO incident_events (incident_id, kind, actor, data)
            VALUES (n.id, 'split_out', who, jsonb_build_object('from', i.id, 'report_id', rid, 'version', n.version));
        ELSE
            RAISE EXCEPTION 'unknown action %', action USING ERRCODE = 'AT400';
        END IF;
    END IF;

    INSERT INTO incident_events (incident_id, kind, actor, data)
    VALUES (i.id, action, who, jsonb_strip_nulls(jsonb_build_object(
                'status', i.status, 'version', i.version, 'note', note, 'assignee', args->>'assignee',
                'outcome', args->>'outcome', 'desk_code', i.desk_code, 'merged_into', i.merged_into,
                'report_id', rid)));
    RETURN NEXT antt_incident_state(i, action, who, note);
    IF t.id IS NOT NULL THEN
        RETURN NEXT antt_incident_state(t, 'merged_in', who, NULL);
    END IF;
    IF n.id IS NOT NULL THEN
        RETURN NEXT antt_incident_state(n, 'split_out', who, NULL);
    END IF;
END $$;

-- Escalates every incident whose acknowledgement deadline has passed
-- unacknowledged: to the desk above, with a new deadline of its priority
-- (ack_s[priority] seconds); at the top desk the deadline is renewed and the
-- miss recorded. Each step is an event. Returns the escalated incidents.
CREATE FUNCTION antt_escalate_due(ack_s integer[], max_rows integer)
RETURNS SETOF antt_incident_state
LANGUAGE plpgsql AS $$
DECLARE
    i incidents;
    parent text;
BEGIN
    FOR i IN SELECT * FROM incidents x WHERE x.status = 'new' AND x.ack_deadline <= now()
              ORDER BY x.ack_deadline LIMIT max_rows FOR UPDATE SKIP LOCKED LOOP
        parent := antt_parent_desk(i.desk_code);
        INSERT INTO incident_events (incident_id, kind, actor, data)
        VALUES (i.id, 'escalated', 'system',
                jsonb_build_object('from_desk', i.desk_code, 'to_desk', COALESCE(parent, i.desk_code),
                                   'deadline', i.ack_deadline, 'version', i.version + 1,
                                   'top', parent IS NULL));
        UPDATE incidents x SET desk_code = COALESCE(parent, x.desk_code), escalations = x.escalations + 1,
               ack_deadline = now() + make_interval(secs => ack_s[x.priority]),
               version = x.version + 1, updated_at = now()
         WHERE x.id = i.id RETURNING * INTO i;
        RETURN NEXT antt_incident_state(i, 'escalated', 'system', NULL);
    END LOOP;
END $$;
