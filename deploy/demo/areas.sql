-- Demo areas: Thành phố Hồ Chí Minh > Quận Bình Tân > its 10 wards (names as
-- they were before the 2025 reorganisation) > 4 khu phố each, with
-- plausible (not surveyed) boundary polygons, and a dispatcher desk for the
-- city, the district and every ward. Idempotent: safe to load again.
BEGIN;

INSERT INTO areas (code, parent_code, level, name, name_ascii, boundary) VALUES
 ('VN-HCM', NULL, 'city', 'Thành phố Hồ Chí Minh', 'Thanh pho Ho Chi Minh',
  ST_Multi(ST_MakeEnvelope(106.36, 10.37, 107.03, 11.16, 4326))),
 ('VN-HCM-BTA', 'VN-HCM', 'district', 'Quận Bình Tân', 'Quan Binh Tan',
  ST_Multi(ST_MakeEnvelope(106.570, 10.730, 106.630, 10.820, 4326)))
ON CONFLICT (code) DO NOTHING;

WITH w(code, name, name_ascii, x0, y0, x1, y1) AS (VALUES
 ('VN-HCM-BTA-BHHB', 'Phường Bình Hưng Hòa B', 'Phuong Binh Hung Hoa B', 106.570, 10.790, 106.595, 10.820),
 ('VN-HCM-BTA-BHH',  'Phường Bình Hưng Hòa',   'Phuong Binh Hung Hoa',   106.595, 10.790, 106.612, 10.820),
 ('VN-HCM-BTA-BHHA', 'Phường Bình Hưng Hòa A', 'Phuong Binh Hung Hoa A', 106.612, 10.790, 106.630, 10.820),
 ('VN-HCM-BTA-TT',   'Phường Tân Tạo',         'Phuong Tan Tao',         106.570, 10.760, 106.595, 10.790),
 ('VN-HCM-BTA-BTDA', 'Phường Bình Trị Đông A', 'Phuong Binh Tri Dong A', 106.595, 10.760, 106.612, 10.790),
 ('VN-HCM-BTA-BTD',  'Phường Bình Trị Đông',   'Phuong Binh Tri Dong',   106.612, 10.760, 106.630, 10.790),
 ('VN-HCM-BTA-TTA',  'Phường Tân Tạo A',       'Phuong Tan Tao A',       106.570, 10.730, 106.590, 10.760),
 ('VN-HCM-BTA-BTDB', 'Phường Bình Trị Đông B', 'Phuong Binh Tri Dong B', 106.590, 10.730, 106.605, 10.760),
 ('VN-HCM-BTA-ALA',  'Phường An Lạc A',        'Phuong An Lac A',        106.605, 10.730, 106.618, 10.760),
 ('VN-HCM-BTA-AL',   'Phường An Lạc',          'Phuong An Lac',          106.618, 10.730, 106.630, 10.760)
), wards AS (
 INSERT INTO areas (code, parent_code, level, name, name_ascii, boundary)
 SELECT code, 'VN-HCM-BTA', 'ward', name, name_ascii,
        ST_Multi(ST_MakeEnvelope(x0, y0, x1, y1, 4326))
 FROM w ON CONFLICT (code) DO NOTHING
 RETURNING code
)
INSERT INTO areas (code, parent_code, level, name, name_ascii, boundary)
SELECT w.code || '-KP' || q.n, w.code, 'neighbourhood',
       'Khu phố ' || q.n || ', ' || w.name, 'Khu pho ' || q.n || ', ' || w.name_ascii,
       ST_Multi(ST_MakeEnvelope(
         CASE WHEN q.n IN (1, 3) THEN w.x0 ELSE (w.x0 + w.x1) / 2 END,
         CASE WHEN q.n IN (1, 2) THEN (w.y0 + w.y1) / 2 ELSE w.y0 END,
         CASE WHEN q.n IN (1, 3) THEN (w.x0 + w.x1) / 2 ELSE w.x1 END,
         CASE WHEN q.n IN (1, 2) THEN w.y1 ELSE (w.y0 + w.y1) / 2 END, 4326))
FROM w CROSS JOIN (VALUES (1), (2), (3), (4)) AS q(n)
ON CONFLICT (code) DO NOTHING;

INSERT INTO desks (code, area_code, name)
SELECT 'DESK-' || substr(code, 4), code,
       CASE level WHEN 'city' THEN 'Trực ban Công an ' || name
                  WHEN 'district' THEN 'Trực ban Công an ' || name
                  ELSE 'Trực ban Công an ' || name END
FROM areas WHERE level IN ('city', 'district', 'ward')
ON CONFLICT (code) DO NOTHING;

COMMIT;
