-- 012: an unsure classification, or one the resident disagrees with, marks
-- its incident needs_review (first in the desk's queue after P1) with the
-- reasons ("người báo chọn theft", "không chắc chắn: fraud 41%").
-- (010 makes the columns too; whichever runs first makes them.)
ALTER TABLE incidents ADD COLUMN IF NOT EXISTS needs_review boolean NOT NULL DEFAULT false;
ALTER TABLE incidents ADD COLUMN IF NOT EXISTS review_reasons text[];

-- Called by the worker in the transaction that recorded a batch, with the
-- same items: every open incident a needs_review item was linked to is
-- marked, its reasons added (each once). An incident a dispatcher has
-- reclassified is left alone: a person has decided. Returns the incidents
-- marked.
CREATE FUNCTION antt_classify_review(items jsonb) RETURNS integer
LANGUAGE sql AS $$
    WITH r AS (
        SELECT l.incident_id AS id, array_agg(DISTINCT e->>'review_reason') AS reasons
          FROM jsonb_array_elements(items) e
          JOIN incident_reports l ON l.report_id = (e->>'report_id')::uuid
         WHERE (e->>'needs_review')::boolean AND e->>'review_reason' IS NOT NULL
         GROUP BY l.incident_id),
    marked AS (
        UPDATE incidents i
           SET needs_review = true,
               review_reasons = ARRAY(SELECT DISTINCT x FROM unnest(COALESCE(i.review_reasons, '{}') || r.reasons) x
                                       ORDER BY x)
          FROM r
         WHERE i.id = r.id AND i.status IN ('new', 'acknowledged', 'assigned')
           AND NOT EXISTS (SELECT 1 FROM incident_events v
                            WHERE v.incident_id = i.id AND v.kind IN ('reclassify', 'reclassified'))
        RETURNING 1)
    SELECT count(*)::integer FROM marked
$$;

REVOKE EXECUTE ON FUNCTION antt_classify_review(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION antt_classify_review(jsonb) TO antt_classification;
