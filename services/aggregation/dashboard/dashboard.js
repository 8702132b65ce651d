// antt dashboard: the yearly figures of an area, a monthly chart against the
// year before, hotspots on a map of the area, and live counts over SSE.
// No external assets: it must work with no internet.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { area: null, year: null, areas: [], groups: [], es: null };
const fmt = (n) => Number(n).toLocaleString("vi-VN");
const pct = (x) => (x === null || x === undefined) ? "" :
  Math.abs(x).toLocaleString("vi-VN", { maximumFractionDigits: 2 }) + "%";

async function getJSON(url) {
  const r = await fetch(url, { cache: "no-store" });
  if (!r.ok) throw new Error(url + ": " + r.status);
  return r.json();
}

function el(tag, attrs, text) {
  const ns = ["svg", "rect", "line", "text", "path", "circle", "g", "polyline"].includes(tag)
    ? document.createElementNS("http://www.w3.org/2000/svg", tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) ns.setAttribute(k, v);
  if (text !== undefined) ns.textContent = text;
  return ns;
}

function changeText(c, p) {
  if (c === 0) return "bằng cùng kỳ";
  const dir = c < 0 ? "giảm" : "tăng";
  return dir + " " + fmt(Math.abs(c)) + " vụ" + (p === null ? "" : " (" + pct(p) + ")");
}

function setChange(node, c, p) {
  node.textContent = changeText(c, p);
  node.className = "chg " + (c < 0 ? "down" : c > 0 ? "up" : "");
}

async function loadSummary() {
  const s = await getJSON(`/api/v1/summary?area=${state.area}&year=${state.year}`);
  $("total").textContent = fmt(s.total);
  setChange($("total-change"), s.total - s.prior_total,
            s.prior_total ? Math.round((s.total - s.prior_total) * 10000 / s.prior_total) / 100 : null);
  const box = $("groups");
  box.textContent = "";
  state.groups = s.groups;
  for (const g of s.groups) {
    const card = el("div", { class: "card", "data-group": g.group });
    card.append(el("div", { class: "label" }, g.name), el("div", { class: "num", id: "count-" + g.group }, fmt(g.count)));
    const chg = el("div", { class: "chg", id: "change-" + g.group });
    setChange(chg, g.change, g.change_pct);
    card.append(chg);
    box.append(card);
  }
  $("sentence").textContent = s.sentence;
  const ul = $("standard");
  ul.textContent = "";
  if (s.standard) {
    for (const a of s.standard.areas)
      ul.append(el("li", { class: a.met ? "met" : "notmet" }, (a.met ? "✔ " : "✘ ") + a.name));
  }
}

async function loadChart() {
  const y = state.year;
  const t = await getJSON(`/api/v1/trends?area=${state.area}&period=month&from=${y}-01-01&to=${y}-12-31`);
  const svg = $("chart");
  svg.textContent = "";
  const max = Math.max(1, ...t.buckets.map((b) => Math.max(b.count, b.prior)));
  const w = 640, h = 240, pad = 30, bw = (w - pad * 2) / 12;
  svg.append(el("line", { x1: pad, y1: h - pad, x2: w - pad, y2: h - pad, stroke: "#999" }));
  t.buckets.forEach((b, i) => {
    const x = pad + i * bw;
    const hp = (h - pad * 2) * b.prior / max, hc = (h - pad * 2) * b.count / max;
    svg.append(el("rect", { x: x + 3, y: h - pad - hp, width: bw / 2 - 4, height: hp, fill: "#c9ced8" }));
    const r = el("rect", { x: x + bw / 2, y: h - pad - hc, width: bw / 2 - 4, height: hc, fill: "#8b1a1a",
                           "data-bucket": b.bucket });
    r.append(el("title", {}, `${b.bucket}: ${b.count} vụ (cùng kỳ ${b.prior})`));
    svg.append(r);
    svg.append(el("text", { x: x + bw / 2, y: h - pad + 14, "font-size": 11, "text-anchor": "middle" }, String(i + 1)));
  });
  svg.append(el("text", { x: pad, y: 14, "font-size": 11 }, "tối đa " + fmt(max) + " vụ/tháng"));
  svg.append(el("rect", { x: w - 250, y: 5, width: 10, height: 10, fill: "#8b1a1a" }));
  svg.append(el("text", { x: w - 236, y: 14, "font-size": 11 }, String(y)));
  svg.append(el("rect", { x: w - 190, y: 5, width: 10, height: 10, fill: "#c9ced8" }));
  svg.append(el("text", { x: w - 176, y: 14, "font-size": 11 }, "cùng kỳ " + (y - 1)));
}

function project(bbox) {
  const [x0, y0, x1, y1] = bbox, s = 380 / Math.max(x1 - x0, y1 - y0);
  return ([lon, lat]) => [10 + (lon - x0) * s, 390 - (lat - y0) * s];
}

function ringsOf(geom) {
  if (!geom) return [];
  if (geom.type === "Polygon") return geom.coordinates;
  if (geom.type === "MultiPolygon") return geom.coordinates.flat();
  return [];
}

async function loadMap() {
  const [areas, spots] = await Promise.all([
    getJSON(`/api/v1/areas?root=${state.area}`),
    getJSON(`/api/v1/hotspots?area=${state.area}&days=30`)]);
  const svg = $("map");
  svg.textContent = "";
  const me = areas.find((a) => a.code === state.area);
  const children = areas.filter((a) => a.parent === state.area && a.boundary);
  const shapes = children.length ? children : (me && me.boundary ? [me] : []);
  const pts = shapes.flatMap((a) => ringsOf(a.boundary).flat());
  if (!pts.length) return;
  const bbox = [Math.min(...pts.map((p) => p[0])), Math.min(...pts.map((p) => p[1])),
                Math.max(...pts.map((p) => p[0])), Math.max(...pts.map((p) => p[1]))];
  const pr = project(bbox);
  for (const a of shapes) {
    for (const ring of ringsOf(a.boundary)) {
      const d = ring.map((p, i) => (i ? "L" : "M") + pr(p).map((v) => v.toFixed(1)).join(",")).join("") + "Z";
      const path = el("path", { d, fill: "#eef1f5", stroke: "#7a8599", "stroke-width": 1 });
      path.append(el("title", {}, a.name));
      svg.append(path);
    }
  }
  const ul = $("hotspots");
  ul.textContent = "";
  const maxN = Math.max(1, ...spots.map((s) => s.count));
  for (const s of spots) {
    const [x, y] = pr([s.lon, s.lat]);
    const c = el("circle", { cx: x, cy: y, r: 5 + 15 * s.count / maxN, fill: "#b3261e", "fill-opacity": 0.5 });
    c.append(el("title", {}, `${s.count} vụ, nhiều nhất: ${s.top_category}`));
    svg.append(c);
    ul.append(el("li", {}, `${s.count} vụ quanh ${s.lat.toFixed(3)}, ${s.lon.toFixed(3)} (${s.top_category})`));
  }
}

// Live: the year keys of this area ("<area>|year|<year>|all" and
// "...|group:<g>") replace the numbers as they change.
function applyUpdate(u) {
  const prefix = `${state.area}|year|${state.year}|`;
  if (!u.key.startsWith(prefix)) return;
  const dim = u.key.slice(prefix.length);
  if (dim === "all") $("total").textContent = fmt(u.count);
  else if (dim.startsWith("group:")) {
    const n = $("count-" + dim.slice(6));
    if (n) n.textContent = fmt(u.count);
  }
}

function connectLive() {
  if (state.es) state.es.close();
  const es = new EventSource(`/api/v1/stream?area=${state.area}&period=year`);
  state.es = es;
  es.addEventListener("open", () => $("live").classList.remove("off"));
  es.addEventListener("error", () => $("live").classList.add("off"));
  es.addEventListener("snapshot", (e) => { for (const u of JSON.parse(e.data).items) applyUpdate(u); });
  es.addEventListener("trend", (e) => applyUpdate(JSON.parse(e.data)));
}

async function show() {
  const q = new URLSearchParams({ area: state.area, year: state.year });
  history.replaceState(null, "", "?" + q);
  await loadSummary();
  connectLive();
  await Promise.all([loadChart(), loadMap()]);
  document.body.dataset.ready = "1";
}

async function main() {
  const params = new URLSearchParams(location.search);
  state.areas = await getJSON("/api/v1/areas");
  const sel = $("area");
  for (const a of state.areas.filter((a) => ["city", "province", "district", "ward", "commune"].includes(a.level)))
    sel.append(el("option", { value: a.code }, (a.level === "ward" || a.level === "commune" ? "— " : "") + a.name));
  const district = state.areas.find((a) => a.level === "district");
  state.area = params.get("area") || (district ? district.code : state.areas[0].code);
  sel.value = state.area;
  const now = new Date().getFullYear();
  for (let y = now; y >= now - 5; y--) $("year").append(el("option", { value: y }, String(y)));
  state.year = Number(params.get("year") || now);
  $("year").value = state.year;
  sel.addEventListener("change", () => { state.area = sel.value; show(); });
  $("year").addEventListener("change", () => { state.year = Number($("year").value); show(); });
  await show();
}

main().catch((e) => { $("sentence").textContent = "Không tải được số liệu: " + e.message; });
