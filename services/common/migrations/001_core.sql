-- 001: areas, desks, gateways, reports and their queue to classification.
CREATE EXTENSION IF NOT EXISTS postgis;

-- Administrative units of any depth: city/province > district > ward/commune >
-- neighbourhood. Codes are stable; validity periods and successors let
-- statistics follow merged and split wards.
CREATE TABLE areas (
    code         text PRIMARY KEY CHECK (code ~ '^[A-Z0-9][A-Z0-9_-]{0,63}$'),
    parent_code  text REFERENCES areas(code),
    level        text NOT NULL CHECK (level IN ('country', 'city', 'province', 'district',
                                                'ward', 'commune', 'neighbourhood')),
    name         text NOT NULL,          -- Vietnamese name with diacritics
    name_ascii   text NOT NULL,          -- the same without diacritics
    boundary     geometry(MultiPolygon, 4326),
    valid_from   date NOT NULL DEFAULT DATE '1900-01-01',
    valid_to     date,                   -- NULL: still valid
    CHECK (parent_code IS DISTINCT FROM code)
);
CREATE INDEX areas_parent_idx ON areas (parent_code);
CREATE INDEX areas_boundary_idx ON areas USING gist (boundary);

-- An area that stopped existing (merged or split) and what replaced it.
CREATE TABLE area_successors (
    predecessor_code text NOT NULL REFERENCES areas(code),
    successor_code   text NOT NULL REFERENCES areas(code),
    effective        date NOT NULL,
    PRIMARY KEY (predecessor_code, successor_code)
);

-- A dispatcher desk is responsible for one area; it escalates to the desk of
-- the parent area.
CREATE TABLE desks (
    code       text PRIMARY KEY,
    area_code  text NOT NULL UNIQUE REFERENCES areas(code),
    name       text NOT NULL
);

-- Gateways (apps, SMS and hotline gateways, bots) that submit reports. Only
-- a SHA-256 of the API key is stored.
CREATE TABLE gateways (
    id            serial PRIMARY KEY,
    code          text NOT NULL UNIQUE CHECK (code ~ '^[a-z0-9][a-z0-9_-]{0,63}$'),
    name          text NOT NULL,
    api_key_hash  bytea NOT NULL UNIQUE CHECK (length(api_key_hash) = 32),
    rate_per_s    double precision NOT NULL DEFAULT 20 CHECK (rate_per_s > 0),
    burst         integer NOT NULL DEFAULT 100 CHECK (burst > 0),
    webhook_url   text,
    active        boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- What one resident said: immutable once written. Partitioned by month of
-- receipt. contact_sealed is a libsodium sealed box to the dispatchers'
-- public key; reporter_hash is a keyed BLAKE2b of the normalized phone number.
CREATE TABLE reports (
    id               uuid NOT NULL,
    received_at      timestamptz NOT NULL,
    gateway_id       integer NOT NULL,
    idempotency_key  text NOT NULL,
    occurred_at      timestamptz,
    description      text NOT NULL,
    service_code     text,
    lat              double precision CHECK (lat BETWEEN -90 AND 90),
    lon              double precision CHECK (lon BETWEEN -180 AND 180),
    area_code        text,
    address          text,
    media_urls       text[] NOT NULL DEFAULT '{}',
    language         text,
    contact_sealed   bytea,
    reporter_hash    bytea,
    PRIMARY KEY (id, received_at),
    CHECK ((lat IS NULL) = (lon IS NULL))
) PARTITION BY RANGE (received_at);

-- One row per (gateway, idempotency key), across all partitions: a gateway's
-- retry finds its report here.
CREATE TABLE report_keys (
    gateway_id       integer NOT NULL REFERENCES gateways(id),
    idempotency_key  text NOT NULL,
    report_id        uuid NOT NULL,
    received_at      timestamptz NOT NULL,
    PRIMARY KEY (gateway_id, idempotency_key)
);

-- Reports accepted but not yet classified (a transactional outbox). Intake
-- inserts in the same transaction as the report and re-drives rows whose
-- next_attempt_at has passed; classification deletes the row in the
-- transaction that records its result.
CREATE TABLE report_queue (
    report_id        uuid PRIMARY KEY,
    received_at      timestamptz NOT NULL,
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL
);
CREATE INDEX report_queue_next_idx ON report_queue (next_attempt_at);

-- Creates the monthly partitions of a RANGE-partitioned table for the months
-- from `first` (any day in it) for `months` months. Idempotent.
CREATE FUNCTION antt_ensure_month_partitions(parent regclass, first date, months integer)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    m date := date_trunc('month', first)::date;
    made integer := 0;
    part text;
BEGIN
    FOR i IN 0 .. months - 1 LOOP
        part := format('%s_%s', parent::text, to_char(m, 'YYYYMM'));
        IF to_regclass(part) IS NULL THEN
            EXECUTE format('CREATE TABLE %I PARTITION OF %s FOR VALUES FROM (%L) TO (%L)',
                           part, parent::text,
                           (m::timestamp AT TIME ZONE 'UTC'),
                           ((m + interval '1 month')::timestamp AT TIME ZONE 'UTC'));
            made := made + 1;
        END IF;
        m := (m + interval '1 month')::date;
    END LOOP;
    RETURN made;
END $$;

SELECT antt_ensure_month_partitions('reports', (now() - interval '1 month')::date, 15);
