// What the dashboard and the report page share: the staff token, the HTTP
// and SSE calls that carry it, and Vietnamese number formats.
//
// The staff view is the same page opened as /#token=XYZ: the token stays in
// the fragment (never sent in a URL the server logs), goes as
// "Authorization: Bearer XYZ" on fetch and as ?access_token=XYZ on
// EventSource (which cannot send headers).

export const token = (() => {
  const m = /(?:^|[#&])token=([^&]+)/.exec(typeof location === "undefined" ? "" : location.hash);
  return m ? decodeURIComponent(m[1]) : null;
})();

export async function getJSON(url) {
  const headers = token ? { Authorization: "Bearer " + token } : {};
  const r = await fetch(url, { cache: "no-store", headers });
  if (!r.ok) {
    let msg = String(r.status);
    try { msg = (await r.json()).error || msg; } catch (e) { /* not JSON */ }
    throw new Error(msg);
  }
  return r.json();
}

export function eventSource(url) {
  return new EventSource(token ? url + (url.includes("?") ? "&" : "?") + "access_token=" + encodeURIComponent(token) : url);
}

export const NO_DATA = "chưa có số liệu";
// A figure the public may not see (1 .. k-1 incidents): the server sends it
// as null in a covered period. It is neither zero nor "no data".
export const HIDDEN = "ẩn (dưới ngưỡng công bố)";
export const HIDDEN_N = "hidden"; // a count that is HIDDEN, where counts are kept
export const isHidden = (n) => n === HIDDEN_N;
// A count as words ("5 vụ", HIDDEN, NO_DATA) and as a table cell.
export const countText = (n, hidden) =>
  hidden || isHidden(n) ? HIDDEN : n === null || n === undefined ? NO_DATA : fmt(n) + " vụ";
export const cellText = (n, hidden) => (hidden || isHidden(n) ? "(ẩn)" : n === null || n === undefined ? "–" : fmt(n));

// The months of a trends answer as 12 counts (field "prior": each bucket's
// prior); a month not yet begun or outside the data's coverage is null
// (not drawn, not zero), and so is a month the public may not see, marked
// in the array's .hidden.
export function monthly(trends, year, today, field) {
  const out = new Array(12).fill(null);
  out.hidden = new Array(12).fill(false);
  const prior = field === "prior";
  for (const b of (trends && trends.buckets) || trends || []) {
    const m = Number(String(b.bucket).slice(5, 7));
    if (!(m >= 1 && m <= 12) || Number(String(b.bucket).slice(0, 4)) !== year) continue;
    if ((prior ? b.prior_coverage : b.coverage) === false) continue;
    const n = prior ? b.prior : b.count !== undefined ? b.count : b.n;
    out[m - 1] = n === undefined ? null : n;
    out.hidden[m - 1] = n === null;
  }
  if (today && year === today.getFullYear())
    for (let m = today.getMonth() + 1; m < 12; m++) { out[m] = null; out.hidden[m] = false; }
  return out;
}

// An area's count over a trends answer's buckets: a number, null when no
// bucket is covered, HIDDEN_N when the public may not see one of them.
export function total(trends) {
  let sum = null;
  for (const b of (trends && trends.buckets) || []) {
    if (b.coverage === false) continue;
    if (b.count === null) return HIDDEN_N;
    sum = (sum === null ? 0 : sum) + b.count;
  }
  return sum;
}
export const fmt = (n) => Number(n).toLocaleString("vi-VN");
export const pct = (x) => Math.abs(x).toLocaleString("vi-VN", { maximumFractionDigits: 2 }) + "%";
export const coord = (x) => x.toLocaleString("vi-VN", { minimumFractionDigits: 3, maximumFractionDigits: 3 });

export const CATEGORY_VI = {
  theft: "trộm cắp tài sản", robbery: "cướp, cướp giật", assault: "đánh nhau, cố ý gây thương tích",
  domestic_violence: "bạo lực gia đình", drugs: "ma túy", gambling: "cờ bạc", fraud: "lừa đảo",
  cybercrime: "tội phạm mạng", loan_sharking: "tín dụng đen", fire: "cháy, nổ", traffic: "giao thông",
  public_order: "gây rối trật tự", dispute: "mâu thuẫn, tranh chấp", suspicious: "đối tượng khả nghi",
  weapons: "vũ khí, vật liệu nổ", other: "khác",
};
export const categoryVi = (c) => CATEGORY_VI[c] || c || "";

// A period without data is "chưa có số liệu", never 0: the summary's
// coverage is false (or {current: false}) when the server says so; a server
// without the field has data.
export function covered(c, which = "current") {
  if (c === false) return which !== "current";
  if (c && typeof c === "object") return c[which] !== false;
  return true;
}

// The change of a count against the year before, as the district writes
// it. sig: the server's significance (undefined on servers that do not
// say): a rise or a fall is coloured only when it is not false.
export function change(c, p, opts) {
  const o = opts || {};
  if (o.noCurrent) return { text: NO_DATA, cls: "nodata" };
  if (o.noPrior) return { text: "cùng kỳ " + NO_DATA, cls: "nodata" };
  if (o.hidden || c === null || c === undefined) return { text: HIDDEN, cls: "nodata" }; // a figure of it is hidden
  if (c === 0) return { text: "bằng cùng kỳ", cls: "" };
  const dir = c < 0 ? "giảm" : "tăng";
  let text = dir + " " + fmt(Math.abs(c)) + " vụ" + (p === null || p === undefined ? "" : " (" + pct(p) + ")");
  let cls = c < 0 ? "down" : "up";
  if (o.significant === false) {
    text += " — không đáng kể";
    cls = "flat";
  } else if (o.significant === true) {
    text += " — đáng kể";
  }
  return { text, cls };
}

// The counts that say more than the count: solved share and arrests, by
// whatever name the server gives them (absent on servers without outcomes).
export function outcomes(g) {
  const solved = g.solved ?? g.solved_count ?? (g.outcomes && g.outcomes.solved);
  const share = g.solved_pct ?? g.solved_share ?? (g.outcomes && g.outcomes.solved_pct);
  const arrests = g.arrests ?? g.arrested ?? (g.outcomes && g.outcomes.arrests);
  const out = [];
  if (solved !== undefined && solved !== null)
    out.push("điều tra làm rõ " + fmt(solved) + " vụ" + (share !== undefined && share !== null ? ", đạt " + pct(share) : ""));
  if (arrests !== undefined && arrests !== null) out.push("bắt " + fmt(arrests) + " đối tượng");
  return out;
}

// Every standard line the summary has: `standards` (any level) or the one
// `standard` of the level below.
export function standards(s) {
  if (Array.isArray(s.standards)) return s.standards;
  return s.standard ? [s.standard] : [];
}

export const LEVEL_VI = { ward: "phường", commune: "xã", neighbourhood: "khu phố", district: "quận, huyện" };

export function el(tag, attrs, text) {
  const svg = ["svg", "path", "circle", "g", "text", "title", "rect"].includes(tag) && (attrs || {}).svg !== false;
  const n = svg ? document.createElementNS("http://www.w3.org/2000/svg", tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) if (k !== "svg" && v !== undefined && v !== null) n.setAttribute(k, v);
  if (text !== undefined) n.textContent = text;
  return n;
}
