#!/usr/bin/env python3
"""Writes the demo area set of Quận Bình Tân: its ten wards and their khu phố
as GeoJSON (binh-tan-wards.geojson, binh-tan-khu-pho.geojson) and as the SQL
that loads them (areas.sql), from one description, so that the map, the area
lookup and the data agree.

The boundaries are APPROXIMATE, drawn from general knowledge of the
district's layout (west of the city centre, about 10.73-10.82 N and
106.57-106.63 E: the three Bình Hưng Hòa wards in the north, Tân Tạo and the
Bình Trị Đông wards in the middle, Tân Tạo A, Bình Trị Đông B and the An Lạc
wards in the south), not surveyed: no map data could be fetched where this
was made. Wards share their edges exactly (a node list per edge), so there
are no gaps and no overlaps; khu phố split their ward along two or three
slanted "streets". Run it again after changing a node: python3 boundaries.py
"""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))

# The district's outline, clockwise from its north-west corner, as named
# runs between the nodes where a ward edge meets it.
N = {  # junction nodes (lon, lat)
    "nw": (106.5668, 10.8188),
    "n1": (106.5960, 10.8195),   # Bình Hưng Hòa B | Bình Hưng Hòa
    "n2": (106.6118, 10.8170),   # Bình Hưng Hòa | Bình Hưng Hòa A
    "e1": (106.6318, 10.7908),   # Bình Hưng Hòa A | Bình Trị Đông
    "e2": (106.6292, 10.7588),   # Bình Trị Đông | An Lạc
    "b3": (106.6180, 10.7300),   # An Lạc | An Lạc A
    "b2": (106.6050, 10.7310),   # An Lạc A | Bình Trị Đông B
    "b1": (106.5902, 10.7320),   # Bình Trị Đông B | Tân Tạo A
    "w2": (106.5705, 10.7605),   # Tân Tạo A | Tân Tạo
    "w1": (106.5690, 10.7842),   # Tân Tạo | Bình Hưng Hòa B
    "j1": (106.5952, 10.7898),   # Bình Hưng Hòa B, Bình Hưng Hòa, Bình Trị Đông A, Tân Tạo
    "j2": (106.6122, 10.7902),   # Bình Hưng Hòa, Bình Hưng Hòa A, Bình Trị Đông, Bình Trị Đông A
    "m1": (106.5948, 10.7612),   # Tân Tạo | Bình Trị Đông A on the middle line
    "m2": (106.6118, 10.7605),   # Bình Trị Đông A | Bình Trị Đông
    "s1": (106.5902, 10.7598),   # Tân Tạo A | Bình Trị Đông B
    "s2": (106.6048, 10.7620),   # Bình Trị Đông B | An Lạc A
    "s3": (106.6182, 10.7596),   # An Lạc A | An Lạc
}

# Edges: node, intermediate points, node. A ring walks edges forwards or
# backwards ("-name").
E = {
    # the outline
    "o_n_a": ["nw", (106.5735, 10.8240), (106.5812, 10.8262), (106.5890, 10.8248), "n1"],
    "o_n_b": ["n1", (106.6040, 10.8215), "n2"],
    "o_ne": ["n2", (106.6190, 10.8140), (106.6255, 10.8095), (106.6282, 10.8010), (106.6300, 10.7950), "e1"],
    "o_e": ["e1", (106.6296, 10.7800), (106.6312, 10.7690), (106.6300, 10.7630), "e2"],
    "o_se": ["e2", (106.6302, 10.7500), (106.6285, 10.7400), (106.6270, 10.7300), (106.6238, 10.7225),
             (106.6196, 10.7188), (106.6168, 10.7236), "b3"],
    "o_s_a": ["b3", (106.6110, 10.7275), "b2"],
    "o_s_b": ["b2", (106.5975, 10.7290), "b1"],
    "o_sw": ["b1", (106.5840, 10.7290), (106.5782, 10.7262), (106.5728, 10.7298), (106.5700, 10.7390),
             (106.5712, 10.7470), (106.5735, 10.7525), "w2"],
    "o_w": ["w2", (106.5728, 10.7700), (106.5712, 10.7780), "w1"],
    "o_nw": ["w1", (106.5660, 10.7930), (106.5648, 10.8030), (106.5672, 10.8110), "nw"],
    # the line between the north and the middle (Bình Hưng Hòa | the rest)
    "h1_a": ["w1", (106.5780, 10.7868), (106.5870, 10.7880), "j1"],
    "h1_b": ["j1", (106.6030, 10.7920), "j2"],
    "h1_c": ["j2", (106.6200, 10.7880), "e1"],
    # the line between the middle and the south
    "h2_a": ["w2", (106.5800, 10.7585), "s1"],
    "h2_b": ["s1", "m1"],
    "h2_c": ["m1", "s2"],
    "h2_d": ["s2", "m2"],
    "h2_e": ["m2", "s3"],
    "h2_f": ["s3", (106.6240, 10.7592), "e2"],
    # north-south lines
    "v1": ["n1", (106.5935, 10.8110), (106.5968, 10.8020), (106.5940, 10.7960), "j1"],
    "v2": ["n2", (106.6095, 10.8085), (106.6130, 10.8000), (106.6108, 10.7950), "j2"],
    "v3": ["j1", (106.5970, 10.7800), (106.5935, 10.7700), (106.5960, 10.7650), "m1"],
    "v4": ["j2", (106.6105, 10.7820), (106.6135, 10.7730), (106.6110, 10.7660), "m2"],
    "v5": ["s1", (106.5885, 10.7500), (106.5915, 10.7400), "b1"],
    "v6": ["s2", (106.6062, 10.7500), (106.6035, 10.7400), "b2"],
    "v7": ["s3", (106.6165, 10.7500), (106.6195, 10.7400), "b3"],
}

# code, name, ascii name, ring (edges, clockwise), khu phố grid (cols, rows)
WARDS = [
    ("BHHB", "Bình Hưng Hòa B", "Binh Hung Hoa B", ["o_nw", "o_n_a", "v1", "-h1_a"], (3, 2)),
    ("BHH", "Bình Hưng Hòa", "Binh Hung Hoa", ["o_n_b", "v2", "-h1_b", "-v1"], (2, 3)),
    ("BHHA", "Bình Hưng Hòa A", "Binh Hung Hoa A", ["o_ne", "-h1_c", "-v2"], (2, 3)),
    ("TT", "Tân Tạo", "Tan Tao", ["h1_a", "v3", "-h2_b", "-h2_a", "o_w"], (3, 2)),
    ("BTDA", "Bình Trị Đông A", "Binh Tri Dong A", ["h1_b", "v4", "-h2_d", "-h2_c", "-v3"], (2, 2)),
    ("BTD", "Bình Trị Đông", "Binh Tri Dong", ["h1_c", "o_e", "-h2_f", "-h2_e", "-v4"], (2, 2)),
    ("TTA", "Tân Tạo A", "Tan Tao A", ["h2_a", "v5", "o_sw"], (2, 3)),
    ("BTDB", "Bình Trị Đông B", "Binh Tri Dong B", ["h2_b", "h2_c", "v6", "o_s_b", "-v5"], (2, 3)),
    ("ALA", "An Lạc A", "An Lac A", ["h2_d", "h2_e", "v7", "o_s_a", "-v6"], (2, 2)),
    ("AL", "An Lạc", "An Lac", ["h2_f", "o_se", "-v7"], (2, 3)),
]
OUTLINE = ["o_n_a", "o_n_b", "o_ne", "o_e", "o_se", "o_s_a", "o_s_b", "o_sw", "o_w", "o_nw"]


def pt(p):
    return N[p] if isinstance(p, str) else p


def edge(name):
    rev = name.startswith("-")
    pts = [pt(p) for p in E[name.lstrip("-")]]
    return pts[::-1] if rev else pts


def ring(edges):
    out = []
    for e in edges:
        pts = edge(e)
        assert not out or out[-1] == pts[0], "edges do not meet at " + e
        out.extend(pts if not out else pts[1:])
    assert out[0] == out[-1], "ring not closed"
    return out


def area2(r):
    return sum(r[i][0] * r[i + 1][1] - r[i + 1][0] * r[i][1] for i in range(len(r) - 1))


def ccw(r):
    """GeoJSON (RFC 7946) wants exterior rings counter-clockwise."""
    return r if area2(r) > 0 else r[::-1]


def clip(subject, a, b, c):
    """Sutherland-Hodgman: the part of ring subject where a*x + b*y <= c."""
    inside = lambda p: a * p[0] + b * p[1] <= c + 1e-12
    out = []
    pts = subject[:-1]
    for i, cur in enumerate(pts):
        prev = pts[i - 1]
        if inside(cur):
            if not inside(prev):
                out.append(cross(prev, cur, a, b, c))
            out.append(cur)
        elif inside(prev):
            out.append(cross(prev, cur, a, b, c))
    if len(out) < 3:
        return None
    out.append(out[0])
    return out


def cross(p, q, a, b, c):
    fp, fq = a * p[0] + b * p[1] - c, a * q[0] + b * q[1] - c
    t = fp / (fp - fq)
    return (p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1]))


def khu_pho(r, cols, rows):
    """Splits ring r along cols-1 slanted north-south streets and rows-1
    slanted east-west ones; numbered from the north-west, row by row."""
    xs, ys = [p[0] for p in r], [p[1] for p in r]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    ym, xm = (y0 + y1) / 2, (x0 + x1) / 2
    # x-street i: x = xi + 0.12 * (y - ym); y-street j: y = yj - 0.08 * (x - xm)
    xcuts = [x0 + (x1 - x0) * i / cols for i in range(1, cols)]
    ycuts = [y1 - (y1 - y0) * j / rows for j in range(1, rows)]
    cells = []
    for j in range(rows):
        for i in range(cols):
            cell = r
            # west of street i (x - 0.12 y <= xi - 0.12 ym), east of street i-1
            if i < cols - 1:
                cell = cell and clip(cell, 1, -0.12, xcuts[i] - 0.12 * ym)
            if i > 0:
                cell = cell and clip(cell, -1, 0.12, -(xcuts[i - 1] - 0.12 * ym))
            # south of street j-1 (y + 0.08 x <= yj + 0.08 xm), north of street j
            if j > 0:
                cell = cell and clip(cell, 0.08, 1, ycuts[j - 1] + 0.08 * xm)
            if j < rows - 1:
                cell = cell and clip(cell, -0.08, -1, -(ycuts[j] + 0.08 * xm))
            cells.append(cell)
    return cells


def rounded(r):
    return [[round(x, 5), round(y, 5)] for x, y in r]


def feature(code, parent, level, name, ascii_name, r):
    return {"type": "Feature",
            "properties": {"code": code, "parent": parent, "level": level, "name": name, "name_ascii": ascii_name},
            "geometry": {"type": "MultiPolygon", "coordinates": [[rounded(ccw(r))]]}}


def main():
    district = "VN-HCM-BTA"
    wards, kps = [], []
    for code, name, ascii_name, edges, (cols, rows) in WARDS:
        r = ring(edges)
        wcode = district + "-" + code
        wname, wascii = "Phường " + name, "Phuong " + ascii_name
        wards.append(feature(wcode, district, "ward", wname, wascii, r))
        for n, cell in enumerate(khu_pho(r, cols, rows), 1):
            assert cell, "an empty khu phố in " + code
            kps.append(feature("%s-KP%d" % (wcode, n), wcode, "neighbourhood", "Khu phố %d, %s" % (n, wname),
                               "Khu pho %d, %s" % (n, wascii), cell))
    outline = feature(district, "VN-HCM", "district", "Quận Bình Tân", "Quan Binh Tan", ring(OUTLINE))
    note = ("Approximate boundaries drawn from general knowledge of the district's layout, not surveyed"
            " (deploy/demo/boundaries.py; see deploy/demo/README.md)")
    for fname, feats in (("binh-tan-wards.geojson", [outline] + wards), ("binh-tan-khu-pho.geojson", kps)):
        with open(os.path.join(HERE, fname), "w", encoding="utf-8") as f:
            json.dump({"type": "FeatureCollection", "name": fname[:-8], "description": note, "features": feats}, f,
                      ensure_ascii=False, separators=(",", ":"))
            f.write("\n")
    with open(os.path.join(HERE, "areas.sql"), "w", encoding="utf-8") as f:
        f.write(SQL_HEAD)
        rows = [outline] + wards + kps
        f.write("INSERT INTO areas (code, parent_code, level, name, name_ascii, boundary) VALUES\n")
        f.write(" ('VN-HCM', NULL, 'city', 'Thành phố Hồ Chí Minh', 'Thanh pho Ho Chi Minh',\n"
                "  ST_Multi(ST_MakeEnvelope(106.36, 10.37, 107.03, 11.16, 4326))),\n")
        for i, ft in enumerate(rows):
            p = ft["properties"]
            geo = json.dumps(ft["geometry"], separators=(",", ":"))
            f.write(" ('%s', '%s', '%s', '%s', '%s',\n  ST_SetSRID(ST_GeomFromGeoJSON('%s'), 4326))%s\n"
                    % (p["code"], p["parent"], p["level"], p["name"], p["name_ascii"], geo,
                       "," if i < len(rows) - 1 else ""))
        f.write("ON CONFLICT (code) DO UPDATE SET boundary = EXCLUDED.boundary;\n")
        f.write(SQL_TAIL)


SQL_HEAD = """-- Demo areas: Thành phố Hồ Chí Minh > Quận Bình Tân > its 10 wards (names as
-- they were before the 2025 reorganisation) > their khu phố, with
-- APPROXIMATE boundaries (not surveyed: see README.md), and a dispatcher
-- desk for the city, the district and every ward. Generated by
-- boundaries.py with binh-tan-wards.geojson and binh-tan-khu-pho.geojson:
-- do not edit, change boundaries.py and run it. Idempotent: loading it again
-- replaces the boundaries (the codes stay).
BEGIN;

"""

SQL_TAIL = """
INSERT INTO desks (code, area_code, name)
SELECT 'DESK-' || substr(code, 4), code, 'Trực ban Công an ' || name
FROM areas WHERE level IN ('city', 'district', 'ward')
ON CONFLICT (code) DO NOTHING;

COMMIT;
"""

if __name__ == "__main__":
    main()
