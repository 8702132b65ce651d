// The yearly report as a page to print: the sentence, the groups' table,
// the monthly chart and table, the standards. The server puts the figures
// into the page (#report-data), so that it is complete when it has loaded:
// `antt report --pdf` has Chromium print it as soon as the load ends.
import { fmt, pct, change, covered, outcomes, standards, el, NO_DATA, LEVEL_VI, monthly, cellText } from "./api.js";
import { drawChart } from "./chart.js";

const $ = (id) => document.getElementById(id);


function render(d) {
  const s = d.summary, y = d.year;
  const name = d.area ? d.area.name : s.area;
  document.title = `Báo cáo an ninh, trật tự năm ${y} — ${name}`;
  $("title").textContent = `Báo cáo tình hình an ninh, trật tự năm ${y}`;
  $("sub").textContent = `${name} · số liệu đến ${d.generated || ""}`;
  const noCur = !covered(s.coverage, "current"), noPri = s.prior_coverage === false || !covered(s.coverage, "prior");
  $("sentence").textContent = s.sentence || "";
  const top = outcomes(s);
  $("outcomes").textContent = top.length ? top.join("; ") : "";
  const t = $("groups");
  const head = el("tr", {});
  // the outcomes' column only when the server counts outcomes
  const withOutcomes = (s.groups || []).some((g) => outcomes(g).length);
  const cols = ["Nhóm", "Năm " + y, "Cùng kỳ " + (y - 1), "Tăng, giảm", "Tỉ lệ"].concat(withOutcomes ? ["Kết quả"] : []);
  for (const h of cols) head.append(el("th", { scope: "col" }, h));
  t.append(head);
  const totalHidden = !!(s.total_suppressed || s.prior_total_suppressed);
  const rows = (s.groups || []).concat([{ name: "Tổng số", count: s.total, prior: s.prior_total,
    count_suppressed: s.total_suppressed, prior_suppressed: s.prior_total_suppressed,
    change: totalHidden ? null : s.total - s.prior_total,
    change_pct: !totalHidden && s.prior_total ? Math.round((s.total - s.prior_total) * 10000 / s.prior_total) / 100 : null }]);
  for (const g of rows) {
    const tr = el("tr", {});
    const c = change(g.change, null, { noCurrent: noCur, noPrior: noPri, hidden: !!(g.count_suppressed || g.prior_suppressed),
      significant: g.significant });
    tr.append(el("th", { scope: "row" }, g.name), el("td", {}, noCur ? NO_DATA : cellText(g.count, g.count_suppressed)),
      el("td", {}, noPri ? NO_DATA : cellText(g.prior, g.prior_suppressed)), el("td", { class: "chg " + c.cls }, c.text),
      el("td", {}, g.change_pct === null || g.change_pct === undefined || noCur || noPri ? "–" : pct(g.change_pct)));
    if (withOutcomes) tr.append(el("td", {}, outcomes(g).join("; ")));
    t.append(tr);
  }
  const years = [{ year: y, counts: monthly(d.months, y) }, { year: y - 1, counts: monthly(d.months_prior, y - 1) },
    { year: y - 2, counts: monthly(d.months_prior, y - 1, null, "prior") }];
  drawChart($("chart"), years, { width: 640, height: 240, label: "Biểu đồ số vụ theo tháng" });
  const mt = $("months");
  const mh = el("tr", {});
  mh.append(el("th", { scope: "col" }, "Năm"));
  for (let m = 1; m <= 12; m++) mh.append(el("th", { scope: "col" }, "T" + m));
  mt.append(mh);
  for (const x of years) {
    const tr = el("tr", {});
    tr.append(el("th", { scope: "row" }, String(x.year)), ...x.counts.map((n, i) => el("td", {}, cellText(n, x.counts.hidden[i]))));
    mt.append(tr);
  }
  const div = $("standard");
  const list = standards(s);
  if (!list.length) div.append(el("p", {}, "Chưa có tiêu chí đạt chuẩn cho các địa bàn trực thuộc."));
  for (const st of list) {
    const lvl = LEVEL_VI[st.level] || st.level || "";
    div.append(el("h3", {}, noCur || st.coverage === false ? `${lvl}: ${NO_DATA}` : `${st.met}/${st.total} ${lvl} đạt chuẩn`));
    if (st.unplaced) div.append(el("p", { class: "note" }, `${fmt(st.unplaced)} vụ chưa xác định được ${lvl}`));
    const tb = el("table", { class: "data" });
    for (const a of st.areas || []) {
      const tr = el("tr", {});
      tr.append(el("th", { scope: "row" }, a.name), el("td", { class: a.met ? "met" : "notmet" }, a.met ? "đạt" : "chưa đạt"));
      tb.append(tr);
    }
    div.append(tb);
  }
  document.body.dataset.ready = "1";
}

const data = document.getElementById("report-data");
try {
  render(JSON.parse(data.textContent));
} catch (e) {
  $("sentence").textContent = "Không đọc được số liệu của báo cáo: " + e.message;
}
