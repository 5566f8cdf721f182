// The browser page's JavaScript against Python's answers (tests/vectors/*.json), with
// Node's test runner and no browser: `node --test tests/web/vectors.test.mjs`.
// tests/test_vectors.py writes the vectors and runs this file.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import {
  DECISION_DEFAULTS,
  Decider,
  MODEL_FILE,
  PERSON_COLORS,
  TRACKER_DEFAULTS,
  Tracker,
  layoutDefinition,
  linearAssignment,
  nearerOthers,
  trackedPoints,
  answerTimes,
  settled,
  placementTable,
  ModelFormatError,
  ABSENT_FIELDS,
  NORMALIZER_DEFAULTS,
  RejectionRule,
  RowWindow,
  StreamingFeaturizer,
  halfToFloat,
  normalizerSpec,
  rejectionRule,
} from "../../poseact/deploy/web_assets/poseact.js";

const vectors = (name) =>
  JSON.parse(readFileSync(new URL(`../vectors/${name}.json`, import.meta.url), "utf8"));
const nan = (values) => values.map((v) => (v === null ? NaN : v));

test("defaults match Python's NormalizerSpec and DecisionOptions", () => {
  const defaults = vectors("defaults");
  assert.deepEqual({ ...NORMALIZER_DEFAULTS }, defaults.normalizer);
  assert.deepEqual({ ...DECISION_DEFAULTS }, defaults.decision);
  assert.deepEqual({ ...ABSENT_FIELDS }, defaults.absent_fields);
});

test("a spec written before joint angles and the path were on by default reads without them", () => {
  const { angles, path, ...old } = vectors("defaults").normalizer;  // no "angles", "path"
  assert.equal(angles, true);
  assert.equal(path, true);
  const spec = normalizerSpec(old);
  assert.equal(spec.angles, false);
  assert.equal(spec.path, false);
  assert.deepEqual(spec.jointAngles, []);
  assert.deepEqual(spec.pathParts, []);
  assert.equal(spec.frameFeatures, 33 * 3 * 2);
  const now = normalizerSpec({ ...old, angles: true, streams_index: { joint_angles: [[0, 1, 1, 2]] } });
  assert.equal(now.frameFeatures, 33 * 3 * 2 + 1);
});

test("model-file constants match poseact/runtime/model_file.py", () => {
  assert.deepEqual({ ...MODEL_FILE }, vectors("model_file"));
});

for (const c of vectors("featurizer")) {
  test(`featurizer: ${c.name}`, () => {
    const spec = normalizerSpec(c.spec, c.layout_definition);
    const featurizer = new StreamingFeaturizer(spec);
    let worst = 0;
    c.frames.forEach((frame, i) => {
      const rows = featurizer.push(frame.t, nan(frame.landmarks), frame.visibility, c.image_size);
      assert.equal(rows.length, c.rows[i].length, `frame ${i}: number of rows`);
      assert.deepEqual(featurizer.rowsSeen, c.rows_seen[i], `frame ${i}: rows that show anyone`);
      assert.equal(featurizer.restarted, c.restarted[i], `frame ${i}: a new stream`);
      rows.forEach((row, r) => {
        const expected = c.rows[i][r];
        assert.equal(row.length, expected.length);
        for (let j = 0; j < row.length; j++) worst = Math.max(worst, Math.abs(row[j] - expected[j]));
      });
    });
    assert.ok(worst < 1e-5, `max |JS - Python| = ${worst}`);
  });
}

for (const c of vectors("decider")) {
  test(`decider: ${c.name}`, () => {
    const decider = new Decider(
      c.classes, c.background, c.options, rejectionRule(c.rejection), c.threshold ?? null,
    );
    const close = (a, b) => {
      assert.equal(a.length, b.length);
      a.forEach((e, k) => {
        assert.equal(e.label, b[k].label);
        assert.ok(Math.abs(e.start - b[k].start) < 1e-9);
        assert.equal(e.end === null, b[k].end === null);
        if (e.end !== null) assert.ok(Math.abs(e.end - b[k].end) < 1e-9);
        assert.ok(Math.abs(e.confidence - b[k].confidence) < 1e-6);
      });
    };
    for (const step of c.steps) {
      const table = placementTable(c.placement ?? null, c.classes);
      const [at, endAt] = answerTimes(step.t, step.context, 30, c.onset, table);
      [[at, step.at], [endAt, step.end_at]].forEach(([js, py]) => {
        [js].flat().forEach((v, k) => assert.ok(Math.abs(v - [py].flat()[k]) < 1e-6));
        assert.equal([js].flat().length, [py].flat().length);
      });
      const mayStart = settled(step.context, 30, 30, c.onset, step.seen ?? null);
      assert.equal(mayStart, step.may_start);
      const pushed = decider.push(
        step.probs, step.t, step.at, step.ratios ?? null, step.end_at, mayStart, step.resumed_after ?? null,
        step.shown ?? true,
      );
      close(pushed, step.events);
      if (step.label !== undefined) assert.equal(decider.label, step.label);
    }
    close(decider.finish(c.finish_at), c.finish_events);
  });
}

test("rejection: distances, ratios and answers match Python's RejectionRule", () => {
  const c = vectors("rejection");
  const rule = rejectionRule(c.rule, { classes: c.classes, background: c.background, features: c.shape[1] });
  assert.ok(rule instanceof RejectionRule);
  assert.equal(rule.unknown, c.rule.unknown);
  const [W, F] = c.shape;
  const near = (js, py, what) => {
    assert.equal(js.length, py.length);
    js.forEach((v, k) => {
      const diff = Math.abs(v - py[k]);
      assert.ok(diff <= 1e-5 || diff <= 1e-4 * Math.abs(py[k]), `${what}[${k}]: JS ${v}, Python ${py[k]}`);
    });
  };
  c.windows.forEach((flat, i) => {
    assert.equal(flat.length, W * F);
    const window = Array.from({ length: W }, (_, r) => flat.slice(r * F, (r + 1) * F));
    near(rule.distances(window, c.classes), c.distances[i], `window ${i} distances`);
    const ratios = rule.ratios(window, c.classes);
    near(ratios, c.ratios[i], `window ${i} ratios`);
    let best = 0;
    c.probs[i].forEach((p, k) => {
      if (p > c.probs[i][best]) best = k;
    });
    const label = c.classes[best];
    const answer = label !== c.background && !rule.accepts(label, ratios[best]) ? rule.unknown : label;
    assert.equal(answer, c.answers[i], `window ${i} answer`);
  });
  assert.ok(c.answers.includes(rule.unknown), "the vectors exercise a rejection");
  assert.equal(rule.descriptor, "median_mad");
  // a rule calibrated before the medians (descriptor "mean_std") reads as Python does
  const legacy = rejectionRule(c.mean_std.rule, { classes: c.classes, background: c.background, features: F });
  assert.equal(legacy.descriptor, "mean_std");
  c.windows.forEach((flat, i) => {
    const window = Array.from({ length: W }, (_, r) => flat.slice(r * F, (r + 1) * F));
    near(legacy.distances(window, c.classes), c.mean_std.distances[i], `window ${i} mean_std distances`);
  });
  assert.ok(c.rule.tail > 1, "the stored rule keeps its tail");
  assert.throws(
    () => rejectionRule({ ...c.rule, tail: "1.5" }, { classes: c.classes }),
    (error) => error.name === "ModelFormatError" && /tail must be a positive number or null, got '1.5'/.test(error.message),
  );
  assert.throws(
    () => rejectionRule({ ...c.rule, descriptor: "mean_max" }, { classes: c.classes }),
    (error) => error.name === "ModelFormatError" && /descriptor must be one of \['median_mad', 'mean_std'\], got 'mean_max'/.test(error.message),
  );
});

test("rejection: float16 decoding (normal, subnormal, zero, inf, nan)", () => {
  assert.equal(halfToFloat(0x3c00), 1);
  assert.equal(halfToFloat(0xc000), -2);
  assert.equal(halfToFloat(0x7bff), 65504);
  assert.equal(halfToFloat(0x3555), 0.333251953125);
  assert.equal(halfToFloat(0x0001), 2 ** -24);
  assert.equal(halfToFloat(0x03ff), 1023 * 2 ** -24);
  assert.equal(halfToFloat(0x0400), 2 ** -14);
  assert.ok(Object.is(halfToFloat(0x8000), -0));
  assert.equal(halfToFloat(0x7c00), Infinity);
  assert.equal(halfToFloat(0xfc00), -Infinity);
  assert.ok(Number.isNaN(halfToFloat(0x7e00)));
});

test("rejection: a rule of an older poseact is refused with a ModelFormatError", () => {
  assert.equal(rejectionRule(null), null);
  assert.equal(rejectionRule(undefined), null);
  assert.throws(
    () => rejectionRule({ rule: "max_probability", thresholds: { wave: 0.7 }, unknown: "unknown" }),
    (error) =>
      error instanceof ModelFormatError &&
      error.message.includes("rule 'max_probability' is not supported") &&
      error.message.includes("train the model again with a reject rate") &&
      !error.message.includes("\n"),
  );
  assert.throws(() => rejectionRule({ thresholds: { wave: 0.7 } }), ModelFormatError);
  const { rule } = vectors("rejection");
  const broken = { ...rule, center: { ...rule.center, base64: "AAAA" } };
  assert.throws(() => rejectionRule(broken), /center holds/);
  assert.throws(() => rejectionRule(rule, { classes: ["none", "wave"] }), /not classes/);
  assert.throws(() => rejectionRule(rule, { features: 5 }), /features per frame/);
});

test("RowWindow pads with the first row (the first frame held), as Python's", () => {
  const rows = new RowWindow(3);
  rows.push(Float32Array.of(1, 2, 0, 0));
  rows.push(Float32Array.of(3, 4, 2, 2));
  assert.deepEqual(rows.window().map((r) => Array.from(r)), [[1, 2, 0, 0], [1, 2, 0, 0], [3, 4, 2, 2]]);
  for (const v of [5, 6, 7]) rows.push(Float32Array.of(v, v, v, v));
  assert.equal(rows.length, 3);
  assert.deepEqual(rows.window().map((r) => r[0]), [5, 6, 7]);
  rows.reset();
  assert.equal(rows.length, 0);
});

test("tracker defaults and person colours match Python's", () => {
  const tracking = vectors("tracking");
  assert.deepEqual({ ...TRACKER_DEFAULTS }, tracking.defaults);
  assert.deepEqual([...PERSON_COLORS], tracking.person_colors);
});

test("trackedPoints picks a layout's points as Python's tracked_points", () => {
  for (const [name, points] of Object.entries(vectors("tracking").tracked_points)) {
    assert.deepEqual(trackedPoints(layoutDefinition(name)), points, name);
  }
});

test("linearAssignment pairs rows and columns as Python's linear_assignment", () => {
  for (const c of vectors("tracking").assignment) {
    assert.deepEqual(linearAssignment(c.cost), c.pairs, JSON.stringify(c.cost));
  }
});

test("nearerOthers blacks out the pixels of Python's _nearer_others", () => {
  for (const c of vectors("tracking").shares) {
    const [w, h] = c.size;
    const mask = Array.from({ length: h }, () => new Uint8Array(w));
    for (const [x, y, dx, dy] of nearerOthers(c.own, c.others, c.size)) {
      for (let r = y; r < y + dy; r++) mask[r].fill(1, x, x + dx);
    }
    const runs = mask.map((row) => {
      const out = [];
      row.forEach((v, x) => {
        if (v && (x === 0 || !row[x - 1])) out.push([x, x + 1]);
        else if (v) out[out.length - 1][1] = x + 1;
      });
      return out;
    });
    assert.deepEqual(runs, c.runs, JSON.stringify(c.own));
  }
});

const tracking = vectors("tracking");
for (const c of tracking.cases) {
  test(`tracker: ${c.name}`, () => {
    const tracker = new Tracker(c.options, c.points);
    tracking.frames.forEach((frame, i) => {
      const update = tracker.update(frame.t, frame.landmarks.map(nan), frame.visibility, tracking.image_size);
      assert.deepEqual(update.ids, c.ids[i], `frame ${i}: ids`);
      assert.equal(update.ended.length, c.ended[i].length, `frame ${i}: ended`);
      update.ended.forEach(([id, when], j) => {
        assert.equal(id, c.ended[i][j][0], `frame ${i}: ended id`);
        assert.ok(Math.abs(when - c.ended[i][j][1]) < 1e-9, `frame ${i}: last seen`);
      });
    });
    assert.deepEqual(tracker.finish().map(([id]) => id), c.finish.map(([id]) => id));
  });
}
