-- 010: triage you can trust. Escalation adds a desk instead of moving the
-- incident; a parent desk may claim an incident; incidents the classifier
-- doubts are marked for review; a dispatcher may reclassify (recorded for
-- training); the desk feeds are journaled so that a Server-Sent Events
-- client resumes from its Last-Event-ID.

-- ---- escalation adds, claim, review ---------------------------------------

-- desk_code stays the nearest desk forever. escalated_to is the highest desk
-- told so far (every desk between desk_code and it was told on the way);
-- overdue_since is when the first deadline was missed (the incident is
-- overdue while it is still new); claimed_desk is the desk that took the
-- incident over (the one acting), claimed_by who did it.
ALTER TABLE incidents ADD COLUMN escalated_to text REFERENCES desks(code);
ALTER TABLE incidents ADD COLUMN overdue_since timestamptz;
ALTER TABLE incidents ADD COLUMN claimed_desk text REFERENCES desks(code);
ALTER TABLE incidents ADD COLUMN claimed_by text;
ALTER TABLE incidents ADD COLUMN claimed_at timestamptz;
-- set by classification when it doubts its decision (read by triage)
ALTER TABLE incidents ADD COLUMN needs_review boolean NOT NULL DEFAULT false;
ALTER TABLE incidents ADD COLUMN review_reasons text[];

CREATE INDEX incidents_escalated_open_idx ON incidents (escalated_to)
    WHERE escalated_to IS NOT NULL AND status IN ('new', 'acknowledged', 'assigned');
CREATE INDEX incidents_claimed_open_idx ON incidents (claimed_desk)
    WHERE claimed_desk IS NOT NULL AND status IN ('new', 'acknowledged', 'assigned');

-- Incidents escalated under 005 had their desk moved up. Each goes back to
-- the nearest desk of its area, and the desk it was moved to is the desk
-- told; a missed deadline is dated by its first 'escalated' event. (The
-- version is not bumped: nothing happened to the incident, its record is
-- corrected.)
UPDATE incidents i SET escalated_to = i.desk_code, desk_code = ad.desk_code
  FROM area_desks ad
 WHERE ad.area_code = i.area_code AND i.escalations > 0 AND ad.desk_code <> i.desk_code
   AND EXISTS (SELECT 1 FROM antt_desk_chain(ad.desk_code) ch WHERE ch.desk_code = i.desk_code AND ch.depth > 0);
UPDATE incidents i SET overdue_since = e.first_miss
  FROM (SELECT incident_id, min(at) AS first_miss FROM incident_events
         WHERE kind = 'escalated' AND actor = 'system' GROUP BY incident_id) e
 WHERE e.incident_id = i.id AND i.escalations > 0;

-- The 16 category codes (services/common/antt_categories.c has the same
-- list; the notification test checks that they agree).
CREATE FUNCTION antt_category_codes() RETURNS text[] LANGUAGE sql IMMUTABLE AS $$
    SELECT ARRAY['theft', 'robbery', 'assault', 'domestic_violence', 'drugs', 'gambling', 'fraud',
                 'cybercrime', 'loan_sharking', 'fire', 'traffic', 'public_order', 'dispute',
                 'suspicious', 'weapons', 'other']
$$;

-- The desks at and below a desk: the desks whose incidents it sees.
CREATE FUNCTION antt_desk_subtree(desk text) RETURNS TABLE (desk_code text)
LANGUAGE sql STABLE AS $$
    WITH RECURSIVE down(code, depth) AS (
        SELECT d.area_code, 0 FROM desks d WHERE d.code = desk
        UNION ALL
        SELECT a.code, down.depth + 1 FROM areas a JOIN down ON a.parent_code = down.code
         WHERE down.depth < 16)
    SELECT o.code FROM down JOIN desks o ON o.area_code = down.code
$$;

-- Whether a dispatcher of `desk` sees the incident: its desk, the desk it
-- was escalated to or the desk that claimed it is `desk` or below it. In
-- an unchanged tree the last two add nothing (they are above the incident's
-- desk); they keep an incident in view of the desks that were told, or that
-- took it, when the area tree is edited meanwhile.
CREATE FUNCTION antt_desk_sees(desk text, i incidents) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM antt_desk_chain(i.desk_code) ch WHERE ch.desk_code = desk)
        OR (i.escalated_to IS NOT NULL
            AND EXISTS (SELECT 1 FROM antt_desk_chain(i.escalated_to) ch WHERE ch.desk_code = desk))
        OR (i.claimed_desk IS NOT NULL
            AND EXISTS (SELECT 1 FROM antt_desk_chain(i.claimed_desk) ch WHERE ch.desk_code = desk))
$$;

-- ---- the state triage and the feeds show -----------------------------------

ALTER TYPE antt_incident_state
    ADD ATTRIBUTE needs_review boolean,
    ADD ATTRIBUTE review_reasons text[],
    ADD ATTRIBUTE overdue boolean,
    ADD ATTRIBUTE escalated_to text,
    ADD ATTRIBUTE claimed_desk text,
    ADD ATTRIBUTE claimed_by text,
    ADD ATTRIBUTE created_at timestamptz,
    ADD ATTRIBUTE ward_name text,
    ADD ATTRIBUTE first_text text,
    ADD ATTRIBUTE detail jsonb;

-- overdue: a deadline was missed and nobody has acknowledged it yet.
CREATE OR REPLACE FUNCTION antt_incident_state(i incidents, kind text, actor text, note text)
RETURNS antt_incident_state LANGUAGE sql STABLE AS $$
    SELECT ROW(kind, i.id, i.version, i.status, i.category, i.priority, i.area_code, i.desk_code,
               i.report_count, actor, note, now(), i.occurred_at, i.merged_into, i.outcome,
               i.ack_deadline, i.assignee, NULL::bytea[],
               i.needs_review, i.review_reasons, i.status = 'new' AND i.overdue_since IS NOT NULL,
               i.escalated_to, i.claimed_desk, i.claimed_by, i.created_at,
               NULL::text, NULL::text, NULL::jsonb)::antt_incident_state
$$;

-- An incident as a dispatcher's list shows it: its state, the name of its
-- desk's area (the ward; the district for an unlocated incident) and the
-- first 200 characters of its first report's text. Never the contact.
CREATE FUNCTION antt_incident_listing(i incidents, actor text) RETURNS antt_incident_state
LANGUAGE plpgsql STABLE AS $$
DECLARE
    st antt_incident_state := antt_incident_state(i, 'state', actor, NULL);
BEGIN
    SELECT a.name INTO st.ward_name FROM desks d JOIN areas a ON a.code = d.area_code WHERE d.code = i.desk_code;
    SELECT left(r.description, 200) INTO st.first_text
      FROM incident_reports l JOIN reports r ON r.id = l.report_id
     WHERE l.incident_id = i.id
     ORDER BY r.received_at, r.id LIMIT 1;
    RETURN st;
END $$;

-- ---- corrections, for training ----------------------------------------------

-- Every reclassification by a dispatcher: what the incident was and what it
-- became, who said so and why. The reports' texts are reached through
-- incident_reports; `antt train --from-db` (classification) reads them.
CREATE TABLE classification_corrections (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at              timestamptz NOT NULL DEFAULT now(),
    incident_id     uuid NOT NULL REFERENCES incidents(id),
    actor           text NOT NULL,
    reason          text,
    old_category    text NOT NULL,
    new_category    text NOT NULL,
    old_priority    smallint NOT NULL,
    new_priority    smallint NOT NULL,
    confidence      real,       -- the classifier's, when it decided
    review_reasons  text[]      -- why the classifier asked for review, if it did
);
CREATE INDEX classification_corrections_incident_idx ON classification_corrections (incident_id);
CREATE INDEX classification_corrections_at_idx ON classification_corrections (at);

-- ---- triage -------------------------------------------------------------------

-- antt_triage(token_hash, action, incident, args): one dispatcher command,
-- checked against the dispatcher's desk (antt_desk_sees) and the incident's
-- state, recorded on the incident (version + 1) and as an event, in the
-- caller's transaction. Returns the changed incidents, the one acted on
-- first. args (jsonb): assignee, note, outcome, target (merge), report_id
-- (split), category, priority and reason (reclassify), expected_version,
-- ack_s (the deadlines by priority). Errors: AT400 bad request, AT403
-- forbidden, AT404 not found (or out of scope), AT409 conflict.
CREATE OR REPLACE FUNCTION antt_triage(token_hash bytea, action text, incident uuid, args jsonb)
RETURNS SETOF antt_incident_state
LANGUAGE plpgsql AS $$
DECLARE
    d dispatchers;
    i incidents;
    o incidents;
    t incidents;
    n incidents;
    who text;
    note text := NULLIF(args->>'note', '');
    open_states text[] := ARRAY['new', 'acknowledged', 'assigned'];
    ack_s integer[] := COALESCE((SELECT array_agg(x::integer) FROM jsonb_array_elements_text(args->'ack_s') x),
                                ARRAY[60, 300, 3600, 86400]);
    st antt_incident_state;
    ev text := action;   -- the event's kind
    extra jsonb := '{}';
    base text;
    parent text;
    rid uuid;
    new_cat text;
    new_prio smallint;
    reason text;
BEGIN
    SELECT * INTO d FROM dispatchers x WHERE x.token_hash = antt_triage.token_hash AND x.active;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown or revoked dispatcher token' USING ERRCODE = 'AT403';
    END IF;
    who := 'dispatcher:' || d.id;
    IF action = 'list' THEN
        -- the desk's queue: P1 first, then what the classifier doubts, then
        -- by priority, deadline and age
        RETURN QUERY
        SELECT s.* FROM (
            SELECT x, row_number() OVER (ORDER BY x.priority <> 1, NOT x.needs_review, x.priority,
                                                  x.ack_deadline NULLS LAST, x.created_at, x.id) AS k
              FROM incidents x
             -- the open states written out, so that the partial indexes of open
             -- incidents serve the generic plan too
             WHERE x.status IN ('new', 'acknowledged', 'assigned')
               AND (x.desk_code IN (SELECT sub.desk_code FROM antt_desk_subtree(d.desk_code) sub)
                    OR x.escalated_to IN (SELECT sub.desk_code FROM antt_desk_subtree(d.desk_code) sub)
                    OR x.claimed_desk IN (SELECT sub.desk_code FROM antt_desk_subtree(d.desk_code) sub))
             ORDER BY k LIMIT 500) q
        CROSS JOIN LATERAL antt_incident_listing(q.x, who) s
        ORDER BY q.k;
        RETURN;
    END IF;
    SELECT * INTO i FROM incidents x WHERE x.id = incident FOR UPDATE;
    -- out of scope looks the same as absent: a dispatcher learns nothing of
    -- other desks' incidents
    IF NOT FOUND OR NOT antt_desk_sees(d.desk_code, i) THEN
        RAISE EXCEPTION 'no incident %', incident USING ERRCODE = 'AT404';
    END IF;
    IF args ? 'expected_version' AND (args->>'expected_version')::bigint <> i.version THEN
        RAISE EXCEPTION 'incident % is at version %, not %', incident, i.version, args->>'expected_version'
            USING ERRCODE = 'AT409';
    END IF;
    o := i;

    IF action = 'get' THEN
        RETURN NEXT antt_incident_listing(i, who);
        RETURN;
    ELSIF action = 'show' THEN
        -- the incident, its reports' texts (never their contact) and its
        -- event log (the last 500 events)
        st := antt_incident_listing(i, who);
        st.detail := jsonb_build_object(
            'reports', COALESCE((SELECT jsonb_agg(jsonb_build_object(
                    'report_id', r.id, 'received_at', r.received_at, 'gateway', g.code,
                    'description', r.description, 'service_code', r.service_code,
                    'category', l.category, 'priority', l.priority,
                    'contact_given', r.contact_sealed IS NOT NULL) ORDER BY r.received_at, r.id)
                  FROM incident_reports l JOIN reports r ON r.id = l.report_id
                  LEFT JOIN gateways g ON g.id = r.gateway_id
                 WHERE l.incident_id = i.id), '[]'::jsonb),
            'events', COALESCE((SELECT jsonb_agg(jsonb_build_object(
                    'at', e.at, 'kind', e.kind, 'actor', e.actor, 'data', e.data) ORDER BY e.at, e.id)
                  FROM (SELECT * FROM incident_events x WHERE x.incident_id = i.id
                         ORDER BY x.at DESC, x.id DESC LIMIT 500) e), '[]'::jsonb));
        RETURN NEXT st;
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
    ELSIF action = 'reclassify' THEN
        -- a correction of the classifier, also of a closed incident (the
        -- statistics follow); a merged one lives on in its target
        ev := 'reclassified';
        IF i.status = 'merged' THEN
            RAISE EXCEPTION 'a merged incident is reclassified through the incident it joined' USING ERRCODE = 'AT409';
        END IF;
        new_cat := NULLIF(args->>'category', '');
        IF args ? 'priority' AND jsonb_typeof(args->'priority') <> 'null' THEN
            IF NOT (args->>'priority') ~ '^[1-4]$' THEN
                RAISE EXCEPTION 'priority must be 1, 2, 3 or 4' USING ERRCODE = 'AT400';
            END IF;
            new_prio := (args->>'priority')::smallint;
        END IF;
        IF new_cat IS NULL AND new_prio IS NULL THEN
            RAISE EXCEPTION 'reclassify needs a category or a priority' USING ERRCODE = 'AT400';
        END IF;
        IF new_cat IS NOT NULL AND NOT new_cat = ANY (antt_category_codes()) THEN
            RAISE EXCEPTION 'unknown category %', new_cat USING ERRCODE = 'AT400';
        END IF;
        reason := NULLIF(COALESCE(args->>'reason', args->>'note'), '');
        note := reason;
        -- an unacknowledged incident whose priority changes gets the new
        -- priority's deadline from now (a missed one stays missed: overdue and
        -- escalated_to are kept)
        UPDATE incidents x SET category = COALESCE(new_cat, x.category), priority = COALESCE(new_prio, x.priority),
               needs_review = false, review_reasons = NULL,
               ack_deadline = CASE WHEN x.status = 'new' AND COALESCE(new_prio, x.priority) <> x.priority
                                   THEN now() + make_interval(secs => ack_s[COALESCE(new_prio, x.priority)])
                                   ELSE x.ack_deadline END,
               version = x.version + 1, updated_at = now()
         WHERE x.id = i.id RETURNING * INTO i;
        INSERT INTO classification_corrections (incident_id, actor, reason, old_category, new_category,
                                                old_priority, new_priority, confidence, review_reasons)
        VALUES (i.id, who, reason, o.category, i.category, o.priority, i.priority, o.confidence, o.review_reasons);
        extra := jsonb_build_object('old_category', o.category, 'category', i.category,
                                    'old_priority', o.priority, 'priority', i.priority, 'reason', reason,
                                    'review_reasons', to_jsonb(o.review_reasons));
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
        ELSIF action = 'claim' THEN
            -- the dispatcher's desk takes the incident over: it acts on it
            -- from now (and has seen it: a new incident is acknowledged); the
            -- incident stays on its desk and in every desk's view
            ev := 'claimed';
            IF COALESCE(i.claimed_desk, i.desk_code) = d.desk_code THEN
                RAISE EXCEPTION 'desk % already acts on this incident', d.desk_code USING ERRCODE = 'AT409';
            END IF;
            UPDATE incidents x SET claimed_desk = d.desk_code, claimed_by = who, claimed_at = now(),
                   status = CASE WHEN x.status = 'new' THEN 'acknowledged' ELSE x.status END,
                   acknowledged_at = COALESCE(x.acknowledged_at, now()),
                   version = x.version + 1, updated_at = now()
             WHERE x.id = i.id RETURNING * INTO i;
            extra := jsonb_build_object('from_desk', COALESCE(o.claimed_desk, o.desk_code),
                                        'claimed_desk', d.desk_code, 'acknowledged', o.status = 'new');
        ELSIF action = 'escalate' THEN
            -- tells the desk above the highest desk involved (the desk told
            -- last, or the dispatcher's own when it is higher); the incident
            -- stays on its desk
            base := COALESCE(i.escalated_to, i.desk_code);
            IF EXISTS (SELECT 1 FROM antt_desk_chain(base) ch WHERE ch.desk_code = d.desk_code) THEN
                base := d.desk_code;
            END IF;
            parent := antt_parent_desk(base);
            IF parent IS NULL THEN
                RAISE EXCEPTION 'desk % has no desk above it', base USING ERRCODE = 'AT409';
            END IF;
            UPDATE incidents x SET escalated_to = parent, escalations = x.escalations + 1,
                   ack_deadline = CASE WHEN x.status = 'new' THEN now() + make_interval(secs => ack_s[x.priority])
                                       ELSE x.ack_deadline END,
                   version = x.version + 1, updated_at = now()
             WHERE x.id = i.id RETURNING * INTO i;
            extra := jsonb_build_object('from_desk', base, 'to_desk', parent);
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
            IF NOT FOUND OR NOT antt_desk_sees(d.desk_code, t) THEN
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
    VALUES (i.id, ev, who, jsonb_strip_nulls(jsonb_build_object(
                'status', i.status, 'version', i.version, 'note', note, 'assignee', args->>'assignee',
                'outcome', args->>'outcome', 'desk_code', i.desk_code, 'merged_into', i.merged_into,
                'report_id', rid) || extra));
    -- the dispatcher's answer shows it as the list does (the feeds leave
    -- the ward's name and the text out)
    st := antt_incident_listing(i, who);
    st.kind := ev;
    st.note := note;
    RETURN NEXT st;
    IF t.id IS NOT NULL THEN
        RETURN NEXT antt_incident_state(t, 'merged_in', who, NULL);
    END IF;
    IF n.id IS NOT NULL THEN
        RETURN NEXT antt_incident_state(n, 'split_out', who, NULL);
    END IF;
END $$;

-- Every unacknowledged incident whose acknowledgement deadline has passed
-- tells the next desk up (above the desk told last; never past the top) and
-- gets a new deadline of its priority (ack_s[priority] seconds); at the top
-- the deadline is renewed and the miss recorded. The incident keeps its
-- desk. Each step is an event. Returns the escalated incidents.
CREATE OR REPLACE FUNCTION antt_escalate_due(ack_s integer[], max_rows integer)
RETURNS SETOF antt_incident_state
LANGUAGE plpgsql AS $$
DECLARE
    i incidents;
    base text;
    parent text;
BEGIN
    FOR i IN SELECT * FROM incidents x WHERE x.status = 'new' AND x.ack_deadline <= now()
              ORDER BY x.ack_deadline LIMIT max_rows FOR UPDATE SKIP LOCKED LOOP
        base := COALESCE(i.escalated_to, i.desk_code);
        parent := antt_parent_desk(base);
        INSERT INTO incident_events (incident_id, kind, actor, data)
        VALUES (i.id, 'escalated', 'system',
                jsonb_build_object('desk_code', i.desk_code, 'from_desk', base, 'to_desk', COALESCE(parent, base),
                                   'deadline', i.ack_deadline, 'version', i.version + 1,
                                   'top', parent IS NULL));
        UPDATE incidents x SET escalated_to = COALESCE(parent, x.escalated_to),
               overdue_since = COALESCE(x.overdue_since, now()), escalations = x.escalations + 1,
               ack_deadline = now() + make_interval(secs => ack_s[x.priority]),
               version = x.version + 1, updated_at = now()
         WHERE x.id = i.id RETURNING * INTO i;
        RETURN NEXT antt_incident_state(i, 'escalated', 'system', NULL);
    END LOOP;
END $$;

-- ---- webhooks -------------------------------------------------------------------

-- A reclassification and a claim are changes a desk's webhook hears of.
CREATE OR REPLACE FUNCTION antt_webhook_kind(kind text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT kind IN ('created', 'escalated', 'escalate', 'acknowledge', 'assign', 'resolve', 'reject',
                    'reopen', 'merge', 'split_out', 'reclassified', 'claimed')
$$;

-- As 006, and a claim that acknowledged a new incident tells its reporters
-- that a dispatcher has taken it.
CREATE OR REPLACE FUNCTION antt_webhook_outbox() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM webhook_destinations WHERE active) THEN
        RETURN NULL;
    END IF;
    INSERT INTO webhook_deliveries (destination_id, msg_id, event_type, payload)
    SELECT w.id, 'evt_' || e.id, 'incident.' || e.kind,
           jsonb_build_object('type', 'incident.' || e.kind, 'timestamp', e.at, 'data',
               jsonb_build_object('incident_id', i.id, 'version', COALESCE((e.data->>'version')::bigint, i.version),
                                  'status', i.status, 'category', i.category, 'priority', i.priority,
                                  'area_code', i.area_code, 'desk_code', i.desk_code,
                                  'report_count', i.report_count, 'ack_deadline', i.ack_deadline,
                                  'actor', e.actor))
      FROM new_events e
      JOIN incidents i ON i.id = e.incident_id
      JOIN webhook_destinations w ON w.active AND w.desk_code IS NOT NULL
       AND antt_desk_sees(w.desk_code, i)
     WHERE antt_webhook_kind(e.kind)
    ON CONFLICT (destination_id, msg_id) DO NOTHING;

    INSERT INTO webhook_deliveries (destination_id, msg_id, event_type, payload)
    SELECT w.id, 'st_' || e.id || '_' || r.id, 'request.status',
           jsonb_build_object('type', 'request.status', 'timestamp', e.at, 'data',
               jsonb_build_object('service_request_id', r.id,
                                  'status', CASE WHEN i.status IN ('resolved', 'rejected', 'merged')
                                                 THEN 'closed' ELSE 'open' END,
                                  'status_notes', antt_status_note(i.status)))
      FROM new_events e
      JOIN incidents i ON i.id = e.incident_id
      JOIN incident_reports l ON l.incident_id = i.id
      JOIN reports r ON r.id = l.report_id AND r.contact_sealed IS NOT NULL
      JOIN webhook_destinations w ON w.active AND w.gateway_id = r.gateway_id
     WHERE e.kind IN ('acknowledge', 'assign', 'resolve', 'reject', 'reopen', 'merge')
        OR (e.kind = 'claimed' AND (e.data->>'acknowledged')::boolean)
    ON CONFLICT (destination_id, msg_id) DO NOTHING;
    RETURN NULL;
END $$;

-- ---- the desk feeds' journal (SSE resume) ----------------------------------

-- Every update notification publishes on the desk feeds, numbered: seq is
-- the SSE event id. Appends take the one row of desk_feed_meta FOR UPDATE,
-- so numbers follow commit order whoever appends (a client that saw n has
-- seen every event below n of its desks). body is the update's JSON as SSE
-- sends it. One row per (incident, version, kind): an update announced twice
-- (the catch-up) keeps its first number.
CREATE TABLE desk_feed (
    seq          bigint PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT clock_timestamp(),
    incident_id  uuid NOT NULL,
    version      bigint NOT NULL,
    kind         text NOT NULL,
    body         text NOT NULL,
    UNIQUE (incident_id, version, kind)
);
CREATE INDEX desk_feed_at_idx ON desk_feed (at);
-- the desks each event went to (its audience when it was published)
CREATE TABLE desk_feed_desks (
    desk  text NOT NULL,
    seq   bigint NOT NULL,
    PRIMARY KEY (desk, seq)
);
CREATE INDEX desk_feed_desks_seq_idx ON desk_feed_desks (seq);
-- last_seq: the highest number given; pruned_to: events up to it may be gone
CREATE TABLE desk_feed_meta (
    one        boolean PRIMARY KEY DEFAULT true CHECK (one),
    last_seq   bigint NOT NULL DEFAULT 0,
    pruned_to  bigint NOT NULL DEFAULT 0
);
INSERT INTO desk_feed_meta DEFAULT VALUES;

-- Appends a batch of published updates: items is a JSON array of
-- {ord, incident_id, version, kind, desks, body}. Returns each item's ord
-- with its number (an update already journaled keeps its number), by number.
CREATE FUNCTION antt_desk_feed_append(items jsonb) RETURNS TABLE (ord integer, seq bigint)
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
    ), old AS (
        SELECT u.ord, f.seq FROM uniq u
          JOIN desk_feed f ON f.incident_id = u.incident_id AND f.version = u.version AND f.kind = u.kind
    ), fresh AS (
        SELECT u.*, base + row_number() OVER (ORDER BY u.ord) AS seq FROM uniq u
         WHERE NOT EXISTS (SELECT 1 FROM old WHERE old.ord = u.ord)
    ), ins AS (
        INSERT INTO desk_feed (seq, incident_id, version, kind, body)
        SELECT f.seq, f.incident_id, f.version, f.kind, f.body FROM fresh f
    ), fan AS (
        INSERT INTO desk_feed_desks (desk, seq)
        SELECT DISTINCT dk, f.seq FROM fresh f CROSS JOIN LATERAL unnest(f.desks) dk
    ), meta AS (
        UPDATE desk_feed_meta SET last_seq = base + (SELECT count(*) FROM fresh)
    ), numbered AS (
        SELECT u.incident_id, u.version, u.kind, COALESCE(fr.seq, o.seq) AS seq
          FROM uniq u LEFT JOIN fresh fr ON fr.ord = u.ord LEFT JOIN old o ON o.ord = u.ord
    )
    SELECT i.ord, nb.seq FROM input i
      JOIN numbered nb ON nb.incident_id = i.incident_id AND nb.version = i.version AND nb.kind = i.kind
     ORDER BY nb.seq, i.ord;
END $$;

-- What an SSE client of a dispatcher missed: the first row (seq NULL) is
-- the dispatcher's desk with the journal's last_seq and pruned_to; then the
-- events of that desk after after_seq (none when it is NULL; up to
-- max_rows), by number, all from one snapshot. No row: an unknown or revoked token.
CREATE FUNCTION antt_desk_feed_open(token_hash bytea, after_seq bigint, max_rows integer)
RETURNS TABLE (desk text, last_seq bigint, pruned_to bigint, seq bigint, body text)
LANGUAGE sql STABLE AS $$
    WITH d AS (
        SELECT x.desk_code FROM dispatchers x WHERE x.token_hash = antt_desk_feed_open.token_hash AND x.active
    ), m AS (
        SELECT mm.last_seq, mm.pruned_to FROM desk_feed_meta mm
    ), head AS (
        SELECT d.desk_code, m.last_seq, m.pruned_to, NULL::bigint AS seq, NULL::text AS body FROM d, m
    ), missed AS (
        SELECT d.desk_code, NULL::bigint, NULL::bigint, f.seq, f.body
          FROM d JOIN desk_feed_desks x ON x.desk = d.desk_code AND x.seq > after_seq
          JOIN desk_feed f ON f.seq = x.seq
         WHERE after_seq IS NOT NULL
         ORDER BY x.seq LIMIT max_rows
    )
    SELECT * FROM (SELECT * FROM head UNION ALL SELECT * FROM missed) r
     ORDER BY r.seq NULLS FIRST
$$;

-- Forgets the journal's events older than `keep`; returns how many.
CREATE FUNCTION antt_desk_feed_prune(keep interval) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    cut bigint;
    gone bigint;
BEGIN
    SELECT max(f.seq) INTO cut FROM desk_feed f WHERE f.at < now() - keep;
    IF cut IS NULL THEN
        RETURN 0;
    END IF;
    DELETE FROM desk_feed_desks x WHERE x.seq <= cut;
    DELETE FROM desk_feed f WHERE f.seq <= cut;
    GET DIAGNOSTICS gone = ROW_COUNT;
    UPDATE desk_feed_meta SET pruned_to = GREATEST(pruned_to, cut);
    RETURN gone;
END $$;

-- ---- grants ----------------------------------------------------------------------

GRANT SELECT, INSERT ON classification_corrections TO antt_notification;
GRANT SELECT ON classification_corrections TO antt_classification;
GRANT SELECT, INSERT, DELETE ON desk_feed, desk_feed_desks TO antt_notification;
GRANT SELECT, UPDATE ON desk_feed_meta TO antt_notification;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public
    TO antt_intake, antt_classification, antt_notification, antt_aggregation;
REVOKE EXECUTE ON FUNCTION antt_desk_feed_append, antt_desk_feed_open, antt_desk_feed_prune FROM PUBLIC;
GRANT EXECUTE ON FUNCTION antt_desk_feed_append, antt_desk_feed_open, antt_desk_feed_prune TO antt_notification;
