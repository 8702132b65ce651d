// The map: the areas one level below the chosen one, drawn from their
// GeoJSON boundaries with d3-geo (no tiles, nothing from the network),
// coloured by their count of the year with a legend, and the hotspots of
// the last 30 days marked on it. Each shape is a focusable element with its
// name and count, so the map can be read with the keyboard.
import { geoMercator, geoPath, geoContains } from "d3-geo";
import { fmt, el, categoryVi, NO_DATA, HIDDEN, isHidden, countText, cellText } from "./api.js";

// Sequential, light to dark; the labels on each keep 4.5:1 (dark ink on
// the first four, white on the darkest).
const FILLS = ["#fef0e9", "#fbd0bd", "#f5a98c", "#ea7f62", "#a8322a"];
const INK = ["#1d2433", "#1d2433", "#1d2433", "#1d2433", "#ffffff"];
const W = 520, H = 520;

// d3-geo reads rings by their spherical winding: an exterior ring must be
// clockwise, the way RFC 7946 GeoJSON (counter-clockwise) is not. Rewinds
// a polygon's rings to d3's order.
function rewind(geom) {
  const signed = (r) => r.reduce((s, p, i) => (i ? s + (r[i - 1][0] * p[1] - p[0] * r[i - 1][1]) : 0), 0);
  const poly = (rings) => rings.map((r, i) => ((i === 0) === (signed(r) > 0) ? r.slice().reverse() : r));
  if (geom.type === "Polygon") return { type: "Polygon", coordinates: poly(geom.coordinates) };
  if (geom.type === "MultiPolygon") return { type: "MultiPolygon", coordinates: geom.coordinates.map(poly) };
  return geom;
}

// Class breaks for counts up to max: 0, then four steps.
export function breaks(max) {
  if (max <= 0) return [0, 1, 2, 3, 4];
  const step = Math.max(1, Math.ceil(max / 4));
  return [0, 1, 1 + step, 1 + 2 * step, 1 + 3 * step];
}
// -2: a count the public may not see (HIDDEN_N); -1: no data.
export const classOf = (n, b) =>
  isHidden(n) ? -2 : n === null || n === undefined ? -1 : n <= 0 ? 0 : b.filter((x) => n >= x).length - 1;
const NO_FILL = { "-1": "#e5e7eb", "-2": "#d3d8df" };

// shapes: [{code, name, boundary}], counts: {code: n, null or HIDDEN_N}, spots: hotspot rows.
export function drawMap(svg, legend, shapes, counts, spots, onPick) {
  svg.textContent = "";
  legend.textContent = "";
  const feats = shapes.filter((a) => a.boundary).map((a) => ({ type: "Feature", properties: a, geometry: rewind(a.boundary) }));
  if (!feats.length) {
    svg.append(el("text", { x: 20, y: 40 }, "Chưa có ranh giới để vẽ bản đồ"));
    return;
  }
  const fc = { type: "FeatureCollection", features: feats };
  const proj = geoMercator().fitExtent([[12, 12], [W - 12, H - 12]], fc);
  const path = geoPath(proj);
  const vals = feats.map((f) => counts[f.properties.code]).filter((n) => typeof n === "number");
  const b = breaks(Math.max(0, ...vals));
  const shapesG = el("g", { class: "shapes" }), labelsG = el("g", { class: "labels", "aria-hidden": "true" });
  for (const f of feats) {
    const a = f.properties, n = counts[a.code], k = classOf(n, b);
    const label = a.name + ": " + countText(n);
    const p = el("path", { d: path(f), class: "area", "data-code": a.code, tabindex: 0, role: "button",
      fill: k < 0 ? NO_FILL[k] : FILLS[k], "aria-label": label });
    p.append(el("title", {}, label));
    p.addEventListener("click", () => onPick && onPick(a));
    p.addEventListener("keydown", (e) => { if ((e.key === "Enter" || e.key === " ") && onPick) { e.preventDefault(); onPick(a); } });
    shapesG.append(p);
    const [cx, cy] = path.centroid(f);
    const short = a.name.replace(/^Khu phố (\d+).*$/, "KP $1").replace(/^(Phường|Xã) /, "");
    labelsG.append(el("text", { x: cx.toFixed(1), y: cy.toFixed(1), "text-anchor": "middle", class: "lbl",
      fill: k < 0 ? INK[0] : INK[k] }, short));
    labelsG.append(el("text", { x: cx.toFixed(1), y: (cy + 14).toFixed(1), "text-anchor": "middle", class: "lbl num",
      fill: k < 0 ? INK[0] : INK[k] }, cellText(n)));
  }
  svg.append(shapesG);
  const spotsG = el("g", { class: "spots" });
  const maxN = Math.max(1, ...spots.map((s) => spotCount(s)));
  for (const s of spots) {
    const xy = proj([s.lon, s.lat]);
    if (!xy) continue;
    const c = el("circle", { cx: xy[0].toFixed(1), cy: xy[1].toFixed(1), r: (6 + 12 * spotCount(s) / maxN).toFixed(1),
      class: "spot" });
    c.append(el("title", {}, spotText(s, shapes)));
    spotsG.append(c);
  }
  svg.append(spotsG, labelsG); // the names over the marks

  // the legend: a swatch and the range of each class, and the hotspot mark
  const ul = el("ul", { class: "legend-list", svg: false });
  for (let k = 0; k < FILLS.length; k++) {
    const lo = b[k], hi = k + 1 < b.length ? b[k + 1] - 1 : null;
    const txt = k === 0 ? "0 vụ" : hi === null ? "từ " + fmt(lo) + " vụ" : lo === hi ? fmt(lo) + " vụ" : fmt(lo) + "–" + fmt(hi) + " vụ";
    const li = el("li", { svg: false });
    li.append(el("span", { class: "sw", style: "background:" + FILLS[k], svg: false }), txt);
    ul.append(li);
  }
  const none = el("li", { svg: false });
  none.append(el("span", { class: "sw", style: "background:" + NO_FILL[-1], svg: false }), NO_DATA);
  ul.append(none);
  const hidden = el("li", { svg: false });
  hidden.append(el("span", { class: "sw", style: "background:" + NO_FILL[-2], svg: false }), HIDDEN);
  ul.append(hidden);
  const hs = el("li", { svg: false });
  hs.append(el("span", { class: "sw spot-sw", svg: false }), "điểm nóng (30 ngày)");
  ul.append(hs);
  legend.append(ul);
}

// A hotspot's count: the API's rows say n (older pages read "count").
export const spotCount = (s) => Number(s.n ?? s.count ?? 0);

export function spotText(s, shapes) {
  const where = (shapes || []).find((a) => a.boundary && geoContains(rewind(a.boundary), [s.lon, s.lat]));
  return fmt(spotCount(s)) + " vụ quanh " + s.lat.toLocaleString("vi-VN", { minimumFractionDigits: 3 }) + ", "
    + s.lon.toLocaleString("vi-VN", { minimumFractionDigits: 3 })
    + (where ? " (" + where.name + ")" : "") + (s.top_category ? ", nhiều nhất: " + categoryVi(s.top_category) : "");
}
