-- 024: the district's own wording of the rest of the sentence: its head
-- ("Năm 2023", and "(số liệu từ ngày …)" when the data begin in the year)
-- and the standard's line at each level ("8/10 phường đạt chuẩn …", the
-- cases that could not be placed, and the words for a year without data)
-- are templates of summary_options, as the groups' clauses are of
-- stat_groups (017). The defaults are the words antt_summary had.
--
-- Placeholders: the head {year}, head_from {from} (DD/MM/YYYY) {year}; the
-- standard's templates {met} {total} {level} (phường, khu phố, …)
-- {unplaced} {year}. A template with any other {…} is refused.
CREATE FUNCTION antt_sentence_template_ok(t text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT regexp_replace(t, '\{(year|from|met|total|level|unplaced)\}', '', 'g') !~ '[{}]'
$$;

ALTER TABLE summary_options
    ADD COLUMN head text NOT NULL DEFAULT 'Năm {year}' CHECK (antt_sentence_template_ok(head)),
    ADD COLUMN head_from text NOT NULL DEFAULT ' (số liệu từ ngày {from})' CHECK (antt_sentence_template_ok(head_from)),
    ADD COLUMN standard_line text NOT NULL DEFAULT '{met}/{total} {level} đạt chuẩn “An toàn về an ninh trật tự”'
        CHECK (antt_sentence_template_ok(standard_line)),
    ADD COLUMN standard_unplaced text NOT NULL DEFAULT ' ({unplaced} vụ chưa xác định được {level})'
        CHECK (antt_sentence_template_ok(standard_unplaced)),
    ADD COLUMN standard_none text NOT NULL
        DEFAULT ' (không {level} nào được đánh giá đạt chuẩn “An toàn về an ninh trật tự”)'
        CHECK (antt_sentence_template_ok(standard_none));

-- antt_summary as in 020, its head and standard's line from those templates.
CREATE OR REPLACE FUNCTION antt_summary(area text, yr integer) RETURNS jsonb
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
        groups := groups || jsonb_build_object(
            'group', g.code, 'name', g.name_vi, 'coverage', covered, 'count', n_cur,
            'prior', CASE WHEN prior_covered THEN n_pri END,
            'change', CASE WHEN prior_covered THEN n_cur - n_pri END,
            'change_pct', CASE WHEN prior_covered THEN antt_pct_change(n_cur, n_pri) END,
            'small', CASE WHEN prior_covered THEN small END,
            'z', CASE WHEN covered AND prior_covered THEN antt_poisson_z(n_cur, n_pri) END,
            'significant', sig,
            'solved', g.solved, 'solved_pct', CASE WHEN n_cur > 0 THEN round(g.solved * 100.0 / n_cur, 2) END,
            'arrested', g.arrested);
        IF NOT covered OR (n_cur = 0 AND (n_pri = 0 OR NOT prior_covered)) THEN
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
        IF g.solved > 0 THEN
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
        standards := standards || std;
        IF covered AND (std->>'total')::int > 0 THEN
            vars := jsonb_build_object('met', std->>'met', 'total', std->>'total', 'level', antt_level_vi(lvl),
                                       'unplaced', antt_vi_int((std->>'unplaced')::bigint), 'year', yr::text);
            line := antt_fill(o.standard_line, vars);
            IF (std->>'unplaced')::bigint > 0 THEN
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
    RETURN jsonb_build_object(
        'area', a.code, 'name', a.name, 'year', yr, 'from', d0, 'to', d1 - 1, 'prior_from', p0, 'prior_to', p1 - 1,
        'coverage', covered, 'prior_coverage', prior_covered, 'covered_from', cf,
        'total', (SELECT COALESCE(sum(c.n), 0) FROM unnest(cur) c WHERE c.group_code IS NULL),
        'prior_total', CASE WHEN prior_covered THEN (SELECT COALESCE(sum(c.n), 0) FROM unnest(pri) c WHERE c.group_code IS NULL) END,
        'groups', groups, 'standard', standards->0, 'standards', standards, 'sentence', sentence);
END $$;
