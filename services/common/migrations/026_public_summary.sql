-- 026: the public's summary follows the public rules. antt_summary gains k
-- (0, the default: every figure, as before, for staff and the printed staff
-- report); with the public's k, a group's count, prior, solved or arrested
-- of 1 .. k-1 is null with count_suppressed / prior_suppressed /
-- outcomes_suppressed, its change, share and significance go with it, the
-- sentence says "số liệu ẩn (dưới ngưỡng công bố)" for that group, and the
-- totals of 1 .. k-1 are null with total_suppressed / prior_total_suppressed,
-- and a standard's unplaced cases of 1 .. k-1 null with unplaced_suppressed
-- (the sentence then leaves them out).
-- The public summary had been live and whole: a ward's one domestic
-- violence case of the year showed as "total 1" within 2 s, while its
-- trends hid the same figure.
--
-- antt_summary as in 024, with those rules; the two-argument function goes
-- (a call with two arguments now takes k = 0).
DROP FUNCTION antt_summary(text, integer);

CREATE FUNCTION antt_summary(area text, yr integer, k integer DEFAULT 0) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    a areas;
    o summary_options;
    areas text[];
    d0 date;
    d1 date;
    p0 date;
    p1 date;
    cf date;
    covered boolean;
    prior_covered boolean;
    cur antt_group_cell[];
    pri antt_group_cell[];
    g record;
    groups jsonb := '[]';
    parts text[] := '{}';
    first boolean := true;
    marked boolean := false;
    n_cur bigint;
    n_pri bigint;
    small boolean;
    sig boolean;
    tpl text;
    vars jsonb;
    clause text;
    lv record;
    lvl text;
    kind text;
    std jsonb;
    standards jsonb := '[]';
    line text;
    sentence text;
    head text;
    hid_cur boolean;
    hid_pri boolean;
    hid_out boolean;
    n_total bigint;
    n_prior_total bigint;
BEGIN
    SELECT * INTO a FROM areas x WHERE x.code = area;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown area %', area USING ERRCODE = 'AT404';
    END IF;
    IF yr IS NULL OR yr < 1900 OR yr > 9999 THEN
        RAISE EXCEPTION 'bad year %', yr USING ERRCODE = 'AT400';
    END IF;
    SELECT * INTO o FROM summary_options;
    areas := antt_area_set(area);
    d0 := make_date(yr, 1, 1);
    d1 := LEAST(make_date(yr + 1, 1, 1), antt_trend_today() + 1);
    IF d1 <= d0 THEN
        RAISE EXCEPTION 'year % has not begun', yr USING ERRCODE = 'AT400';
    END IF;
    p0 := (d0 - interval '1 year')::date;
    p1 := (d1 - interval '1 year')::date;
    cf := antt_covered_from(area);
    covered := cf IS NOT NULL AND cf < d1;
    prior_covered := cf IS NOT NULL AND cf <= p0;
    cur := ARRAY(SELECT c FROM antt_trend_group_cells(areas, d0, d1) c);
    pri := ARRAY(SELECT c FROM antt_trend_group_cells(areas, p0, p1) c);
    FOR g IN WITH c AS (SELECT x.group_code, sum(x.n) AS n FROM unnest(cur) x
                          WHERE x.group_code IS NOT NULL GROUP BY 1),
                  p AS (SELECT x.group_code, sum(x.n) AS n FROM unnest(pri) x
                          WHERE x.group_code IS NOT NULL GROUP BY 1),
                  sv AS (SELECT m.group_code, sum(t.solved)::bigint AS solved, sum(t.arrested)::bigint AS arrested
                           FROM antt_solved_cells(areas, d0, d1) t
                           JOIN stat_group_members m ON m.category = t.category GROUP BY 1)
             SELECT s.*, COALESCE(c.n, 0) AS n_cur, COALESCE(p.n, 0) AS n_pri,
                    COALESCE(sv.solved, 0) AS solved, COALESCE(sv.arrested, 0) AS arrested
               FROM stat_groups s LEFT JOIN c ON c.group_code = s.code LEFT JOIN p ON p.group_code = s.code
               LEFT JOIN sv ON sv.group_code = s.code
              WHERE EXISTS (SELECT 1 FROM stat_group_members m WHERE m.group_code = s.code)
              ORDER BY s.position, s.code LOOP
        n_cur := g.n_cur;
        n_pri := g.n_pri;
        small := n_pri < o.small_count;
        sig := CASE WHEN covered AND prior_covered THEN antt_significant(n_cur, n_pri) END;
        -- the public's (k > 0): a figure of 1 .. k-1 is hidden, and so is
        -- what would give it away (its change, its share solved)
        hid_cur := antt_public_n(n_cur, k) IS NULL;
        hid_pri := prior_covered AND antt_public_n(n_pri, k) IS NULL;
        hid_out := hid_cur OR antt_public_n(g.solved, k) IS NULL OR antt_public_n(g.arrested, k) IS NULL;
        groups := groups || (jsonb_build_object(
            'group', g.code, 'name', g.name_vi, 'coverage', covered, 'count', CASE WHEN NOT hid_cur THEN n_cur END,
            'prior', CASE WHEN prior_covered AND NOT hid_pri THEN n_pri END,
            'change', CASE WHEN prior_covered AND NOT hid_cur AND NOT hid_pri THEN n_cur - n_pri END,
            'change_pct', CASE WHEN prior_covered AND NOT hid_cur AND NOT hid_pri THEN antt_pct_change(n_cur, n_pri) END,
            'small', CASE WHEN prior_covered THEN small END,
            'z', CASE WHEN covered AND prior_covered AND NOT hid_cur AND NOT hid_pri THEN antt_poisson_z(n_cur, n_pri) END,
            'significant', CASE WHEN NOT hid_cur AND NOT hid_pri THEN sig END,
            'solved', CASE WHEN NOT hid_out THEN g.solved END,
            'solved_pct', CASE WHEN n_cur > 0 AND NOT hid_out THEN round(g.solved * 100.0 / n_cur, 2) END,
            'arrested', CASE WHEN NOT hid_out THEN g.arrested END)
            || CASE WHEN hid_cur THEN jsonb_build_object('count_suppressed', true) ELSE '{}' END
            || CASE WHEN hid_pri THEN jsonb_build_object('prior_suppressed', true) ELSE '{}' END
            || CASE WHEN hid_out AND NOT hid_cur THEN jsonb_build_object('outcomes_suppressed', true) ELSE '{}' END);
        IF NOT covered OR (n_cur = 0 AND (n_pri = 0 OR NOT prior_covered)) THEN
            CONTINUE;
        END IF;
        IF hid_cur OR hid_pri THEN
            -- the sentence says the group is there and hides its figures
            parts := parts || (g.name_vi || ': ' || 'số liệu ẩn (dưới ngưỡng công bố)');
            first := false;
            CONTINUE;
        END IF;
        kind := CASE WHEN NOT prior_covered THEN 'no_prior' WHEN n_cur = n_pri THEN 'same'
                     WHEN n_pri = 0 THEN 'from_zero' WHEN small THEN 'small' ELSE 'change' END;
        tpl := CASE kind WHEN 'no_prior' THEN g.clause_no_prior WHEN 'same' THEN g.clause_same
                         WHEN 'from_zero' THEN g.clause_from_zero WHEN 'small' THEN g.clause_small
                         ELSE g.clause_change END;
        vars := jsonb_build_object('year', yr::text, 'prior_year', (yr - 1)::text);
        vars := jsonb_build_object(
            'compare', antt_fill(CASE WHEN first THEN g.compare_first ELSE g.compare_next END, vars),
            'mark', CASE WHEN sig AND kind IN ('small', 'from_zero') THEN o.mark ELSE '' END,
            'verb', g.verb_vi, 'count', antt_vi_int(n_cur), 'name', g.name_vi,
            'dir', CASE WHEN n_cur < n_pri THEN 'giảm' ELSE 'tăng' END,
            'diff', antt_vi_padded(n_cur - n_pri, g.pad_width),
            'pct', COALESCE(antt_vi_pct(antt_pct_change(n_cur, n_pri)), ''),
            'solved', antt_vi_int(g.solved),
            'solved_pct', COALESCE(antt_vi_pct(CASE WHEN n_cur > 0 THEN round(g.solved * 100.0 / n_cur, 2) END), ''),
            'arrested', antt_vi_int(g.arrested)) || vars;
        marked := marked OR vars->>'mark' <> '';
        clause := antt_fill(tpl, vars);
        IF g.solved > 0 AND NOT hid_out THEN
            clause := clause || antt_fill(g.clause_solved, vars);
        END IF;
        parts := parts || clause;
        first := false;
    END LOOP;

    -- the standard at each level below the area that has rules, shallowest first
    FOR lv IN SELECT DISTINCT c.level, antt_level_depth(c.level) AS depth FROM areas c
                WHERE c.code = ANY (areas) AND c.code <> area AND antt_level_depth(c.level) > antt_level_depth(a.level)
                  AND EXISTS (SELECT 1 FROM area_standard_rules r WHERE r.level = c.level)
                ORDER BY 2, 1 LOOP
        lvl := lv.level;
        std := antt_summary_standard(area, areas, covered, lvl, cur, d1);
        IF (std->>'unplaced')::bigint BETWEEN 1 AND k - 1 THEN
            -- the cases no area could be found for, when 1 .. k-1, are hidden too
            std := std || jsonb_build_object('unplaced', NULL, 'unplaced_suppressed', true);
        END IF;
        standards := standards || std;
        IF covered AND (std->>'total')::int > 0 THEN
            vars := jsonb_build_object('met', std->>'met', 'total', std->>'total', 'level', antt_level_vi(lvl),
                                       'unplaced', antt_vi_int((std->>'unplaced')::bigint), 'year', yr::text);
            line := antt_fill(o.standard_line, vars);
            IF COALESCE((std->>'unplaced')::bigint, 0) > 0 THEN
                line := line || antt_fill(o.standard_unplaced, vars);
            END IF;
            parts := parts || line;
        END IF;
    END LOOP;

    vars := jsonb_build_object('year', yr::text, 'from', to_char(cf, 'DD/MM/YYYY'));
    head := antt_fill(o.head, vars);
    IF covered AND cf > d0 THEN
        head := head || antt_fill(o.head_from, vars);
    END IF;
    IF NOT covered THEN
        sentence := head || ' chưa có số liệu' || CASE WHEN jsonb_array_length(standards) > 0
            THEN antt_fill(o.standard_none, jsonb_build_object('level', antt_level_vi(standards->0->>'level'),
                                                               'year', yr::text)) ELSE '' END || '.';
    ELSE
        sentence := head || ' ' || CASE WHEN cardinality(parts) = 0 THEN 'không ghi nhận vụ việc nào'
                                        ELSE array_to_string(parts, '; ') END || '.';
        IF marked THEN
            sentence := sentence || ' ' || o.mark_note || '.';
        END IF;
    END IF;
    n_total := (SELECT COALESCE(sum(c.n), 0) FROM unnest(cur) c WHERE c.group_code IS NULL);
    n_prior_total := (SELECT COALESCE(sum(c.n), 0) FROM unnest(pri) c WHERE c.group_code IS NULL);
    RETURN jsonb_build_object(
        'area', a.code, 'name', a.name, 'year', yr, 'from', d0, 'to', d1 - 1, 'prior_from', p0, 'prior_to', p1 - 1,
        'coverage', covered, 'prior_coverage', prior_covered, 'covered_from', cf,
        'total', antt_public_n(n_total, k),
        'prior_total', CASE WHEN prior_covered THEN antt_public_n(n_prior_total, k) END,
        'groups', groups, 'standard', standards->0, 'standards', standards, 'sentence', sentence)
        || CASE WHEN antt_public_n(n_total, k) IS NULL THEN jsonb_build_object('total_suppressed', true) ELSE '{}' END
        || CASE WHEN prior_covered AND antt_public_n(n_prior_total, k) IS NULL
                THEN jsonb_build_object('prior_total_suppressed', true) ELSE '{}' END;
END $$;
