// The monthly chart: this year against the two before (year-over-year
// lines), drawn with uPlot; axes with their labels and values, a tooltip
// under the cursor, and the keyboard: the arrows move through the months.
import uPlot from "uplot";
import { fmt, el, countText } from "./api.js";

const COLOURS = ["#8b1a1a", "#2f5d9e", "#6b7280"]; // this year, last year, the one before
const MONTHS = ["T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8", "T9", "T10", "T11", "T12"];

// years: [{year, counts: [12 numbers or null]}], this year first.
export function drawChart(box, years, opts) {
  const o = opts || {};
  box.textContent = "";
  const width = o.width || Math.max(320, Math.min(box.clientWidth || 640, 900));
  const data = [MONTHS.map((m, i) => i + 1), ...years.map((y) => y.counts)];
  const tip = el("div", { class: "tip", role: "status", "aria-live": "polite", svg: false });
  const series = [{ label: "Tháng", value: (u, v) => (v === null ? "" : "Tháng " + v) }];
  years.forEach((y, i) => series.push({
    label: "Năm " + y.year, stroke: COLOURS[i], width: i === 0 ? 3 : 2, dash: i === 2 ? [6, 4] : undefined,
    points: { show: true, size: i === 0 ? 7 : 5, fill: COLOURS[i] },
    value: (u, v, si, idx) => countText(v, idx !== null && idx !== undefined && y.counts.hidden && y.counts.hidden[idx]),
  }));
  const u = new uPlot({
    width, height: o.height || 280, series,
    scales: { x: { time: false, range: [0.6, 12.4] }, y: { range: (u, lo, hi) => [0, Math.max(4, Math.ceil(hi * 1.15))] } },
    axes: [
      { label: "Tháng", values: (u, ticks) => ticks.map((t) => (Number.isInteger(t) ? MONTHS[t - 1] : "")),
        splits: () => data[0], stroke: "#1d2433", grid: { stroke: "#e3e6ec" } },
      { label: "Số vụ", values: (u, ticks) => ticks.map((t) => fmt(t)), stroke: "#1d2433", grid: { stroke: "#e3e6ec" },
        size: 56 },
    ],
    legend: { show: true, live: false },
    cursor: { points: { size: 9 }, drag: { x: false, y: false } },
    hooks: {
      setCursor: [(u) => showTip(u, tip, years)],
      // what was drawn on the canvas, for the keyboard's reader and tests:
      // each axis's label and the tick values it shows
      draw: [(u) => {
        box.dataset.axes = u.axes.map((a) => a.label).join("|");
        box.dataset.ticks = u.axes.map((a) => (a._values || []).filter((v) => v !== "").join(" ")).join("|");
      }],
    },
  }, data, box);
  box.append(tip);
  box.tabIndex = 0;
  box.setAttribute("role", "img");
  box.setAttribute("aria-label", o.label || "Biểu đồ số vụ theo tháng, dùng phím mũi tên để xem từng tháng");
  let idx = null;
  box.onkeydown = (e) => {
    if (e.key !== "ArrowLeft" && e.key !== "ArrowRight" && e.key !== "Home" && e.key !== "End") return;
    e.preventDefault();
    idx = e.key === "Home" ? 0 : e.key === "End" ? 11
      : idx === null ? 0 : Math.max(0, Math.min(11, idx + (e.key === "ArrowLeft" ? -1 : 1)));
    const v = data[1][idx] ?? data[2]?.[idx] ?? 0;
    u.setCursor({ left: u.valToPos(idx + 1, "x"), top: u.valToPos(v, "y") });
  };
  box.onblur = () => { tip.style.display = "none"; };
  return u;
}

function showTip(u, tip, years) {
  const i = u.cursor.idx;
  if (i === null || i === undefined) {
    tip.style.display = "none";
    return;
  }
  tip.textContent = "";
  tip.append(el("strong", { svg: false }, "Tháng " + (i + 1)));
  years.forEach((y, k) => {
    const v = y.counts[i];
    const row = el("div", { svg: false });
    row.append(el("span", { class: "sw", style: "background:" + COLOURS[k], svg: false }),
      "Năm " + y.year + ": " + countText(v, y.counts.hidden && y.counts.hidden[i]));
    tip.append(row);
  });
  const left = u.valToPos(i + 1, "x") + u.over.offsetLeft;
  tip.style.display = "block";
  tip.style.left = Math.min(left + 12, u.width - 170) + "px";
  tip.style.top = u.over.offsetTop + 8 + "px";
}

