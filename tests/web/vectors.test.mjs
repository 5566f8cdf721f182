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
  NORMALIZER_DEFAULTS,
  StreamingFeaturizer,
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
    const decider = new Decider(c.classes, c.background, c.options, rejectionRule(c.rejection));
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
      close(decider.push(step.probs, step.t, step.at), step.events);
      if (step.label !== undefined) assert.equal(decider.label, step.label);
    }
    close(decider.finish(c.finish_at), c.finish_events);
  });
}
