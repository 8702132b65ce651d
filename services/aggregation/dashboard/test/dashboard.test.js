// The dashboard's pure functions under node's test runner (bundled by
// esbuild, run by ctest as dashboard_js): how the page reads what the
// summary may or may not carry (coverage, significance, standards at any
// level, outcomes), Vietnamese numbers, and the map's classes.
import test from "node:test";
import assert from "node:assert/strict";
import { change, covered, outcomes, standards, fmt, pct, NO_DATA, HIDDEN, HIDDEN_N, monthly, total, countText, cellText }
  from "../src/api.js";
import { breaks, spotCount, classOf } from "../src/map.js";

test("numbers are written the Vietnamese way", () => {
  assert.equal(fmt(1234567), "1.234.567");
  assert.equal(pct(-34.33), "34,33%");
  assert.equal(pct(37.5), "37,5%");
});

test("a period without data is not zero", () => {
  assert.equal(covered(undefined), true); // a server without the field has data
  assert.equal(covered(false), false);
  assert.equal(covered(false, "prior"), true);
  assert.equal(covered({ current: true, prior: false }, "prior"), false);
  assert.deepEqual(change(-149, -34.33, { noCurrent: true }), { text: NO_DATA, cls: "nodata" });
  assert.deepEqual(change(434, null, { noPrior: true }), { text: "cùng kỳ " + NO_DATA, cls: "nodata" });
});

test("a change is coloured only when it is significant (or the server does not say)", () => {
  assert.deepEqual(change(-149, -34.33), { text: "giảm 149 vụ (34,33%)", cls: "down" });
  assert.deepEqual(change(3, 50, { significant: false }), { text: "tăng 3 vụ (50%) — không đáng kể", cls: "flat" });
  assert.equal(change(-6, -37.5, { significant: true }).cls, "down");
  assert.equal(change(0, null).text, "bằng cùng kỳ");
});

test("outcomes and standards are read when present, absent otherwise", () => {
  assert.deepEqual(outcomes({ count: 285 }), []);
  assert.deepEqual(outcomes({ solved: 240, solved_pct: 84.21, arrests: 310 }),
    ["điều tra làm rõ 240 vụ, đạt 84,21%", "bắt 310 đối tượng"]);
  assert.deepEqual(standards({}), []);
  assert.equal(standards({ standard: { level: "ward", met: 8, total: 10 } })[0].met, 8);
  const two = standards({ standards: [{ level: "ward" }, { level: "neighbourhood", met: 117, total: 130, unplaced: 4 }] });
  assert.equal(two.length, 2);
  assert.equal(two[1].unplaced, 4);
});

test("the map's classes and the hotspots' counts", () => {
  assert.deepEqual(breaks(0), [0, 1, 2, 3, 4]);
  assert.deepEqual(breaks(6), [0, 1, 3, 5, 7]);
  assert.equal(spotCount({ n: 6 }), 6); // the API's name (the page read "count": "undefined vụ")
  assert.equal(spotCount({ count: 2 }), 2);
});

test("a figure the public may not see is hidden, not zero and not no data", () => {
  // the trend API's buckets: count null in a covered period is a hidden figure
  const t = { buckets: [
    { bucket: "2025-01", count: 6, prior: 5, coverage: true },
    { bucket: "2025-02", count: null, prior: 4, coverage: true, suppressed: true },
    { bucket: "2025-03", count: 0, prior: null, coverage: true, suppressed: true },
    { bucket: "2025-04", count: null, prior: null, coverage: false, prior_coverage: false }] };
  const m = monthly(t, 2025);
  assert.deepEqual(m.slice(0, 5), [6, null, 0, null, null]);
  assert.deepEqual(m.hidden.slice(0, 5), [false, true, false, false, false]);
  const p = monthly(t, 2025, null, "prior");
  assert.deepEqual(p.slice(0, 4), [5, 4, null, null]);
  assert.deepEqual(p.hidden.slice(0, 4), [false, false, true, false]);
  assert.equal(cellText(m[1], m.hidden[1]), "(ẩn)");
  assert.equal(cellText(m[3], m.hidden[3]), "–");
  assert.equal(cellText(m[2], m.hidden[2]), "0");
  // the report page's rows say n, not count
  const r = monthly([{ bucket: "2025-12", n: null, prior: 1 }, { bucket: "2025-11", n: 2, prior: 0 }], 2025);
  assert.equal(r[11], null);
  assert.equal(r.hidden[11], true);
  assert.equal(r[10], 2);
  // a year of an area: hidden as soon as one covered bucket is
  assert.equal(total({ buckets: [{ count: 2, coverage: true }, { count: 3, coverage: true }] }), 5);
  assert.equal(total({ buckets: [{ count: null, coverage: true }] }), HIDDEN_N);
  assert.equal(total({ buckets: [{ count: null, coverage: false }] }), null);
  assert.equal(countText(HIDDEN_N), HIDDEN);
  assert.equal(countText(null), NO_DATA);
  assert.equal(countText(3), "3 vụ");
  // on the map: its own class, neither "0 vụ" nor no data
  assert.equal(classOf(HIDDEN_N, breaks(10)), -2);
  assert.equal(classOf(null, breaks(10)), -1);
  assert.equal(classOf(0, breaks(10)), 0);
});

test("a change of which a figure is hidden says so, never \"tăng 0 vụ\"", () => {
  // the public summary of a year not over: a group of 1 .. k-1 has count
  // null with count_suppressed, and its change null
  assert.deepEqual(change(null, null, {}), { text: HIDDEN, cls: "nodata" });
  assert.deepEqual(change(-2, -40, { hidden: true }), { text: HIDDEN, cls: "nodata" });
  assert.equal(change(null, null, { noCurrent: true }).text, NO_DATA);
  assert.equal(change(0, 0, {}).text, "bằng cùng kỳ");
  assert.equal(cellText(null, true), "(ẩn)");
});

