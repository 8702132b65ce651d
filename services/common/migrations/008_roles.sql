-- 008: one PostgreSQL role per service, each with only the privileges its
-- own work needs, and the gateways' CURVE public keys.
--
-- The migrations run as the schema's owner (`antt migrate`); the services
-- log in as antt_intake, antt_classification, antt_notification and
-- antt_aggregation, which own nothing, cannot create anything in the
-- schema (PostgreSQL 15 gives PUBLIC no CREATE on it) and see only the
-- tables and columns they use. A sealed contact is readable only by intake
-- (which wrote it) and notification (which opens it for a dispatcher);
-- classification and aggregation cannot read it at all.
--
-- Roles belong to the cluster, not the database: they are created once
-- (several databases of one cluster, or migrations racing, share them) and
-- without a password. Give each a password or a certificate mapping in
-- pg_hba.conf where the services run on other machines (docs/operations.md).
-- A later migration that adds a table grants what each service needs of it.

DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['antt_intake', 'antt_classification', 'antt_notification', 'antt_aggregation'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE', r);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL; -- another database's migration made it meanwhile
            END;
        END IF;
        EXECUTE format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), r);
        EXECUTE format('GRANT USAGE ON SCHEMA public TO %I', r);
    END LOOP;
END $$;

-- A gateway that submits over ZeroMQ proves who it is with its CURVE key
-- (Z85, 40 characters): intake's ZAP handler admits the active gateways' keys.
ALTER TABLE gateways ADD COLUMN curve_public text UNIQUE
    CHECK (length(curve_public) = 40);

-- What every service reads: the area tree, desks and the schema's version.
GRANT SELECT ON schema_migrations, areas, area_successors, desks, area_desks
    TO antt_intake, antt_classification, antt_notification, antt_aggregation;

-- Functions are executable by PUBLIC by default; those that change state
-- are kept to the service whose work they are (the CLI runs as the owner).
REVOKE EXECUTE ON FUNCTION antt_classify_apply FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION antt_triage FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION antt_escalate_due FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION antt_trend_apply_queue FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION antt_trend_apply_ids FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION antt_trend_rebuild FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION antt_ensure_month_partitions FROM PUBLIC;
GRANT EXECUTE ON FUNCTION antt_classify_apply TO antt_classification;
GRANT EXECUTE ON FUNCTION antt_triage, antt_escalate_due TO antt_notification;
GRANT EXECUTE ON FUNCTION antt_trend_apply_queue, antt_trend_apply_ids TO antt_aggregation;

-- Monthly partitions are created ahead by intake and classification on a
-- timer. Creating a partition takes the parent's owner, so the function runs
-- as its owner, with a fixed search_path, and only for the partitioned
-- tables of the schema.
CREATE OR REPLACE FUNCTION antt_ensure_month_partitions(parent regclass, first date, months integer)
RETURNS integer LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    m date := date_trunc('month', first)::date;
    made integer := 0;
    part text;
BEGIN
    IF parent NOT IN ('reports'::regclass, 'incident_events'::regclass) THEN
        RAISE EXCEPTION 'not a partitioned table of antt: %', parent USING ERRCODE = '22023';
    END IF;
    IF months < 1 OR months > 24 THEN
        RAISE EXCEPTION 'months out of range: %', months USING ERRCODE = '22023';
    END IF;
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
REVOKE EXECUTE ON FUNCTION antt_ensure_month_partitions FROM PUBLIC;
GRANT EXECUTE ON FUNCTION antt_ensure_month_partitions TO antt_intake, antt_classification;

-- The triggers that fill the trend queue and the webhook outbox act for the
-- owner: a service that records an incident or an event needs no right on
-- those tables, nor on the reports' contact that the outbox checks.
ALTER FUNCTION antt_webhook_outbox() SECURITY DEFINER SET search_path = public, pg_temp;
ALTER FUNCTION antt_trend_enqueue() SECURITY DEFINER SET search_path = public, pg_temp;

-- intake: stores reports (with their idempotency keys and queue rows),
-- re-drives the queue, answers Open311 status from the incidents.
GRANT SELECT ON gateways TO antt_intake;
GRANT SELECT, INSERT ON reports, report_keys TO antt_intake;
GRANT SELECT, INSERT, UPDATE ON report_queue TO antt_intake;
GRANT SELECT ON incidents, incident_reports, incident_events TO antt_intake;

-- classification: reads the report (never its contact), records incidents,
-- links and events, takes the report off the queue.
GRANT SELECT (id, received_at, gateway_id, idempotency_key, occurred_at, description, service_code,
              lat, lon, area_code, address, media_urls, language)
    ON reports TO antt_classification;
GRANT SELECT, DELETE ON report_queue TO antt_classification;
GRANT SELECT, INSERT, UPDATE ON incidents TO antt_classification;
GRANT SELECT, INSERT ON incident_reports TO antt_classification;
GRANT SELECT, INSERT ON incident_events TO antt_classification;

-- notification: desk feeds, triage, escalation, webhooks; opens a sealed
-- contact for a dispatcher of the desk (antt_triage checks the scope).
GRANT SELECT ON reports, gateways, dispatchers, routes, webhook_destinations TO antt_notification;
GRANT SELECT, INSERT, UPDATE ON incidents, incident_reports TO antt_notification;
GRANT SELECT, INSERT ON incident_events TO antt_notification;
GRANT SELECT, INSERT, UPDATE, DELETE ON webhook_deliveries TO antt_notification;

-- aggregation: drains the trend queue into the rollups and reads them;
-- reads incidents (never reports: no text, no contact).
GRANT SELECT ON incidents, incident_events, stat_groups, stat_group_members, area_standard_rules,
                trend_targets TO antt_aggregation;
GRANT SELECT, INSERT, UPDATE, DELETE ON trend_contributions, trend_counts, trend_outcomes,
                                        trend_response, trend_meta, trend_queue TO antt_aggregation;

GRANT USAGE ON ALL SEQUENCES IN SCHEMA public
    TO antt_intake, antt_classification, antt_notification, antt_aggregation;
