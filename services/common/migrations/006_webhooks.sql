-- 006: webhook destinations and their deliveries (an outbox filled in the
-- same transaction as the incident event that causes it).

-- A destination receives the incidents of a desk and the desks below it
-- (desk_code), or the status of reports its gateway submitted (gateway_id):
-- an SMS gateway tells the reporter. secret: "whsec_" + base64 of the key
-- (Standard Webhooks).
CREATE TABLE webhook_destinations (
    id          serial PRIMARY KEY,
    code        text NOT NULL UNIQUE CHECK (code ~ '^[a-z0-9][a-z0-9_-]{0,63}$'),
    url         text NOT NULL CHECK (url ~ '^https?://'),
    secret      text NOT NULL CHECK (secret ~ '^whsec_[A-Za-z0-9+/=]{20,}$'),
    desk_code   text REFERENCES desks(code),
    gateway_id  integer REFERENCES gateways(id),
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK ((desk_code IS NULL) <> (gateway_id IS NULL))
);

-- One message to one destination. msg_id is the webhook-id: the same on
-- every attempt, so that a receiver keeps each message once. A burst to one
-- destination is sent grouped: rows sent together share batch_id (the first
-- row's id), fixed at their first attempt, so that a retry resends the same
-- group under the same webhook-id.
CREATE TABLE webhook_deliveries (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    destination_id   integer NOT NULL REFERENCES webhook_destinations(id),
    msg_id           text NOT NULL,
    event_type       text NOT NULL,
    payload          jsonb NOT NULL,
    state            text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    batch_id         bigint,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    delivered_at     timestamptz,
    UNIQUE (destination_id, msg_id)
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';

-- Which event kinds are sent: new work and changes of state. A duplicate
-- joining an incident ("+1 report"), notes and unsealing are not.
CREATE FUNCTION antt_webhook_kind(kind text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT kind IN ('created', 'escalated', 'escalate', 'acknowledge', 'assign', 'resolve', 'reject',
                    'reopen', 'merge', 'split_out')
$$;

-- What a resident is told of a report's state (Open311 status_notes): a
-- fixed phrase per state, never a dispatcher's note, which may be internal.
CREATE FUNCTION antt_status_note(status text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE status
        WHEN 'new' THEN 'waiting for a dispatcher'
        WHEN 'acknowledged' THEN 'a dispatcher has taken it'
        WHEN 'assigned' THEN 'officers are assigned'
        WHEN 'resolved' THEN 'resolved'
        WHEN 'rejected' THEN 'closed: could not be confirmed'
        WHEN 'merged' THEN 'closed: joined with a report of the same event'
        ELSE 'received; being classified' END
$$;

-- Fills the outbox from each statement's new events: for desk destinations
-- whose desk sees the incident, and for the gateways of its reporters who
-- left contact (Open311 status: open or closed, and the status note).
CREATE FUNCTION antt_webhook_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
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
       AND w.desk_code IN (SELECT ch.desk_code FROM antt_desk_chain(i.desk_code) ch)
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
    ON CONFLICT (destination_id, msg_id) DO NOTHING;
    RETURN NULL;
END $$;

CREATE TRIGGER incident_events_webhooks AFTER INSERT ON incident_events
    REFERENCING NEW TABLE AS new_events FOR EACH STATEMENT EXECUTE FUNCTION antt_webhook_outbox();

-- antt_classify_apply() runs with sequential scans "off", which PostgreSQL
-- implements as a huge cost: any plan that still needs one (such as the
-- trigger above reading webhook_destinations) crossed jit_above_cost and was
-- compiled by LLVM at every call, 17 ms each. Small transactional statements
-- never gain from JIT.
ALTER FUNCTION antt_classify_apply(jsonb, double precision, integer, integer[], text, integer[]) SET jit = off;
