// The dashboard's pure functions under node's test runner (bundled by
// esbuild, run by ctest as dashboard_js): how the page reads what the
// summary may or may not carry (coverage, significance, standards at any
// level, outcomes), Vietnamese numbers, and the map's classes.
import test from "node:test";
import assert from "node:assert/strict";
import { change, covered, outcomes, standards, fmt, pct, NO_DATA } from "../src/api.js";
import { breaks, spotCount } from "../src/map.js";

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
