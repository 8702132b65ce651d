// antt dashboard: the yearly figures of an area (the sentence, the groups,
// the standards), a monthly chart against the years before, a map of the
// areas below it coloured by count with the hotspots on it, and live counts
// over SSE. Everything it draws with is bundled into it at build time: it
// needs nothing from the internet.
import { token, getJSON, eventSource, fmt, change, covered, outcomes, standards, el, NO_DATA, LEVEL_VI, HIDDEN, HIDDEN_N,
  monthly, total, cellText } from "./api.js";
import { drawChart } from "./chart.js";
import { drawMap, spotText } from "./map.js";

const $ = (id) => document.getElementById(id);
const state = { area: null, year: null, areas: [], es: null, shapes: [], counts: {}, spots: [], refresh: null };

function setChange(node, c, p, o) {
  const x = change(c, p, o);
  node.textContent = x.text;
  node.className = "chg " + x.cls;
}

async function loadSummary() {
  const s = await getJSON(`/api/v1/summary?area=${state.area}&year=${state.year}`);
  const noCur = !covered(s.coverage, "current"), noPri = s.prior_coverage === false || !covered(s.coverage, "prior");
  const totalHidden = !!(s.total_suppressed || s.prior_total_suppressed);
  $("total").textContent = noCur ? NO_DATA : s.total_suppressed ? HIDDEN : fmt(s.total);
  $("total").classList.toggle("nodata", noCur || !!s.total_suppressed);
  setChange($("total-change"), totalHidden ? null : s.total - s.prior_total,
    !totalHidden && s.prior_total ? Math.round((s.total - s.prior_total) * 10000 / s.prior_total) / 100 : null,
    { noCurrent: noCur, noPrior: noPri, hidden: totalHidden, significant: s.significant ?? s.total_significant });
  const box = $("groups");
  box.textContent = "";
  for (const g of s.groups || []) {
    const card = el("div", { class: "card", "data-group": g.group });
    const gNoCur = noCur || g.coverage === false;
    card.append(el("div", { class: "label" }, g.name),
      el("div", { class: "num" + (gNoCur || g.count_suppressed ? " nodata" : ""), id: "count-" + g.group },
        gNoCur ? NO_DATA : g.count_suppressed ? HIDDEN : fmt(g.count)));
    const chg = el("div", { class: "chg", id: "change-" + g.group });
    setChange(chg, g.change, g.change_pct, { noCurrent: gNoCur, noPrior: noPri || g.prior_coverage === false,
      hidden: !!(g.count_suppressed || g.prior_suppressed), significant: g.significant });
    card.append(chg);
    for (const line of outcomes(g)) card.append(el("div", { class: "outcome" }, line));
    box.append(card);
  }
  const top = outcomes(s);
  $("outcomes").textContent = top.length ? "Toàn địa bàn: " + top.join("; ") : "";
  $("sentence").textContent = s.sentence || "";
  const div = $("standard");
  div.textContent = "";
  const list = standards(s);
  if (!list.length) div.append(el("p", {}, "Chưa có tiêu chí đạt chuẩn cho các địa bàn trực thuộc."));
  for (const st of list) {
    const lvl = LEVEL_VI[st.level] || st.level || "";
    const noData = st.coverage === false || noCur;
    div.append(el("h3", {}, noData ? `${lvl}: ${NO_DATA} (chưa thể đạt chuẩn)` : `${st.met}/${st.total} ${lvl} đạt chuẩn`));
    if (st.unplaced) div.append(el("p", { class: "note" }, `${fmt(st.unplaced)} vụ chưa xác định được ${lvl}`));
    const ul = el("ul", { class: "std" });
    for (const a of st.areas || [])
      ul.append(el("li", { class: a.met ? "met" : "notmet" }, (a.met ? "✔ " : "✘ ") + a.name + (a.met ? " — đạt" : " — chưa đạt")));
    div.append(ul);
  }
}

async function loadChart() {
  const y = state.year, a = state.area;
  const q = (yr) => getJSON(`/api/v1/trends?area=${a}&period=month&from=${yr}-01-01&to=${yr}-12-31`);
  const [t0, t1] = await Promise.all([q(y), q(y - 1).catch(() => null)]);
  const years = [{ year: y, counts: monthly(t0, y, new Date()) }];
  if (t1) {
    years.push({ year: y - 1, counts: monthly(t1, y - 1) });
    years.push({ year: y - 2, counts: monthly(t1, y - 1, null, "prior") });
  }
  drawChart($("chart"), years);
  const tb = $("chart-table");
  tb.textContent = "";
  const head = el("tr", {});
  head.append(el("th", { scope: "col" }, "Tháng"), ...years.map((x) => el("th", { scope: "col" }, "Năm " + x.year)));
  tb.append(head);
  for (let m = 0; m < 12; m++) {
    const tr = el("tr", {});
    tr.append(el("th", { scope: "row" }, "Tháng " + (m + 1)),
      ...years.map((x) => el("td", {}, cellText(x.counts[m], x.counts.hidden[m]))));
    tb.append(tr);
  }
}

async function loadMap() {
  const [areas, spots] = await Promise.all([
    getJSON(`/api/v1/areas?root=${state.area}`),
    getJSON(`/api/v1/hotspots?area=${state.area}&days=30`).catch(() => [])]);
  const me = areas.find((x) => x.code === state.area);
  const kids = areas.filter((x) => x.parent === state.area && x.boundary && !x.valid_to);
  state.shapes = kids.length ? kids : me && me.boundary ? [me] : [];
  state.spots = spots;
  const y = state.year;
  const counts = await Promise.all(state.shapes.map((x) =>
    getJSON(`/api/v1/trends?area=${x.code}&period=year&from=${y}-01-01&to=${y}-12-31`)
      .then(total)
      .catch(() => null)));
  state.counts = {};
  state.shapes.forEach((x, i) => { state.counts[x.code] = counts[i]; });
  drawAll();
}

function drawAll() {
  drawMap($("map"), $("legend"), state.shapes, state.counts, state.spots, (a) => {
    if ([...$("area").options].some((o) => o.value === a.code)) { // a khu phố has no page of its own
      state.area = a.code;
      $("area").value = a.code;
      show();
    }
  });
  const ul = $("hotspots");
  ul.textContent = "";
  if (!state.spots.length) ul.append(el("li", {}, "Không có điểm nóng trong 30 ngày qua."));
  for (const s of state.spots) ul.append(el("li", {}, spotText(s, state.shapes)));
}

// Live: the year keys ("<area>|year|<year>|all" and "...|group:<g>") of
// the area and of the shapes on the map replace the numbers as they change;
// the chart and the hotspots are asked again a few seconds after a change.
function applyUpdate(u) {
  const parts = u.key.split("|");
  if (parts.length < 4 || parts[1] !== "year" || parts[2] !== String(state.year)) return;
  const area = parts[0], dim = parts.slice(3).join("|");
  if (area === state.area) {
    // a count the public may not see comes as null
    const text = u.count === null ? HIDDEN : fmt(u.count);
    if (dim === "all") {
      $("total").textContent = text;
      $("total").classList.remove("nodata");
    } else if (dim.startsWith("group:")) {
      const n = $("count-" + dim.slice(6));
      if (n) { n.textContent = text; n.classList.remove("nodata"); }
    }
    if (state.live) scheduleRefresh();
  } else if (dim === "all" && area in state.counts) {
    const n = u.count === null ? HIDDEN_N : u.count;
    if (state.counts[area] !== n) {
      state.counts[area] = n;
      drawAll();
    }
  }
}

function scheduleRefresh() {
  if (state.refresh) return;
  state.refresh = setTimeout(() => {
    state.refresh = null;
    Promise.all([loadChart(), loadSummary(), getJSON(`/api/v1/hotspots?area=${state.area}&days=30`)
      .then((s) => { state.spots = s; drawAll(); })]).catch(() => {});
  }, 3000);
}

function connectLive() {
  if (state.es) state.es.close();
  state.live = false;
  const es = eventSource(`/api/v1/stream?area=${state.area}&period=year`);
  state.es = es;
  const live = $("live");
  es.addEventListener("open", () => { live.classList.remove("off"); live.textContent = "● trực tiếp"; });
  es.addEventListener("error", () => { live.classList.add("off"); live.textContent = "○ mất kết nối, đang thử lại"; });
  es.addEventListener("snapshot", (e) => {
    for (const u of JSON.parse(e.data).items) applyUpdate(u);
    state.live = true;
  });
  es.addEventListener("trend", (e) => applyUpdate(JSON.parse(e.data)));
}

async function show() {
  document.body.dataset.ready = "0";
  const q = new URLSearchParams({ area: state.area, year: state.year });
  history.replaceState(null, "", "?" + q + location.hash);
  const name = (state.areas.find((x) => x.code === state.area) || {}).name || state.area;
  $("title").textContent = name + " — năm " + state.year;
  $("report").href = `/report?${q}${location.hash}`;
  const exp = $("export");
  if (exp) exp.href = `/api/v1/export/incidents?area=${state.area}&from=${state.year}-01-01&to=${state.year}-12-31`;
  await loadSummary();
  connectLive();
  await Promise.all([loadChart(), loadMap()]);
  document.body.dataset.ready = "1";
}

async function main() {
  const params = new URLSearchParams(location.search);
  if (token) {
    $("audience").textContent = "Cán bộ: số liệu đầy đủ, trực tiếp";
    $("audience").classList.add("staff");
    $("export-box").hidden = false;
    // an export is a download with the token as a header, not a link
    $("export").addEventListener("click", async (e) => {
      e.preventDefault();
      $("export-status").textContent = "Đang xuất…";
      const r = await fetch($("export").href, { headers: { Authorization: "Bearer " + token } });
      if (!r.ok) { $("export-status").textContent = "Không xuất được: " + r.status; return; }
      const text = await r.text();
      const rows = Math.max(0, text.split("\r\n").filter((l) => l).length - 1);
      $("export-status").textContent = `Đã xuất ${fmt(rows)} vụ việc (tệp CSV)`;
      const url = URL.createObjectURL(new Blob([text], { type: "text/csv" }));
      const a = el("a", { href: url, download: `su-vu-${state.area}-${state.year}.csv`, svg: false });
      document.body.append(a); a.click(); a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    });
  }
  state.areas = await getJSON("/api/v1/areas");
  const sel = $("area");
  for (const a of state.areas.filter((x) => ["city", "province", "district", "ward", "commune"].includes(x.level) && !x.valid_to))
    sel.append(el("option", { value: a.code, svg: false }, (a.level === "ward" || a.level === "commune" ? "— " : "") + a.name));
  const district = state.areas.find((a) => a.level === "district");
  state.area = params.get("area") || (district ? district.code : state.areas[0].code);
  sel.value = state.area;
  const now = new Date().getFullYear();
  for (let y = now; y >= now - 5; y--) $("year").append(el("option", { value: y, svg: false }, String(y)));
  state.year = Number(params.get("year") || now);
  $("year").value = state.year;
  sel.addEventListener("change", () => { state.area = sel.value; show(); });
  $("year").addEventListener("change", () => { state.year = Number($("year").value); show(); });
  let resized = null;
  window.addEventListener("resize", () => {
    clearTimeout(resized);
    resized = setTimeout(() => { if (document.body.dataset.ready === "1") loadChart().catch(() => {}); }, 300);
  });
  await show();
}

main().catch((e) => { $("sentence").textContent = "Không tải được số liệu: " + e.message; });
