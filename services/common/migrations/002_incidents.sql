-- 002: incidents, the reports they gather, and their append-only event log.
CREATE TABLE incidents (
    id             uuid PRIMARY KEY,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    occurred_at    timestamptz,
    category       text NOT NULL,
    priority       smallint NOT NULL CHECK (priority BETWEEN 1 AND 4),
    confidence     real,
    area_code      text REFERENCES areas(code),
    desk_code      text REFERENCES desks(code),
    status         text NOT NULL DEFAULT 'new'
                   CHECK (status IN ('new', 'acknowledged', 'assigned', 'resolved',
                                     'rejected', 'merged')),
    ack_deadline   timestamptz,
    report_count   integer NOT NULL DEFAULT 1 CHECK (report_count >= 0),
    lat            double precision,
    lon            double precision,
    merged_into    uuid REFERENCES incidents(id),
    version        bigint NOT NULL DEFAULT 1
);
CREATE INDEX incidents_desk_open_idx ON incidents (desk_code, priority, ack_deadline)
    WHERE status IN ('new', 'acknowledged', 'assigned');
CREATE INDEX incidents_area_time_idx ON incidents (area_code, occurred_at);

-- Which incident each report belongs to (one report, one incident).
CREATE TABLE incident_reports (
    report_id    uuid PRIMARY KEY,
    incident_id  uuid NOT NULL REFERENCES incidents(id),
    linked_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX incident_reports_incident_idx ON incident_reports (incident_id);

-- Who did what, when: append-only (UPDATE and DELETE are refused).
CREATE TABLE incident_events (
    id           bigint GENERATED ALWAYS AS IDENTITY,
    at           timestamptz NOT NULL DEFAULT now(),
    incident_id  uuid NOT NULL,
    kind         text NOT NULL,
    actor        text NOT NULL,
    data         jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (id, at)
) PARTITION BY RANGE (at);
CREATE INDEX incident_events_incident_idx ON incident_events (incident_id, at);

CREATE FUNCTION antt_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END $$;
CREATE TRIGGER incident_events_append_only BEFORE UPDATE OR DELETE ON incident_events
    FOR EACH ROW EXECUTE FUNCTION antt_refuse_change();

SELECT antt_ensure_month_partitions('incident_events', (now() - interval '1 month')::date, 15);
