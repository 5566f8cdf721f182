// poseact in the browser: model-file reader, landmark layout, normalizer, stepper and
// decisions.
//
// A JavaScript port of poseact/runtime.py, poseact/normalize.py (the streaming path)
// and the per-frame part of poseact/landmarks.py. Keep it in step with them:
// tests/test_web.py runs this module in Chromium and compares its features
// (max |diff| < 1e-5), probabilities (< 1e-4) and decisions with Python's.
//
// No imports: LiteRT.js and MediaPipe are passed in (`GestureModel.load(bytes, litert)`,
// `createLandmarkers(mp, ...)`), so this module also loads in a worker (where import
// maps do not apply) and the normalizer runs where neither package is loaded.

// ------------------------------------------------------------------ model file
/** The model-file contract (Python: poseact/runtime/model_file.py; checked by tests/vectors). */
export const MODEL_FILE = Object.freeze({
  magic: "TFL3",
  format: "poseact-tflite",
  version: 2,
  metadataMember: "poseact.json",
  labelsMember: "labels.txt",
  streamMember: "stream.tflite",
});
const TFLITE_MAGIC = MODEL_FILE.magic;
const METADATA_FORMAT = MODEL_FILE.format;

/** Errors about the model file (not a TFLite model, not a poseact model). */
export class ModelFormatError extends Error {
  constructor(message) {
    super(message);
    this.name = "ModelFormatError";
  }
}

async function inflateRaw(bytes) {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate-raw"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/**
 * Members of the zip archive appended to a model file, like Python's zipfile.
 *
 * The archive follows the TFLite flatbuffer, so the offsets in its central directory
 * are relative to where the archive starts; that start is found from the End Of
 * Central Directory record (EOCD position - central directory size - its offset).
 *
 * @param {Uint8Array} data the whole model file.
 * @returns {Promise<{start: number, members: Map<string, Uint8Array>}>} where the
 *     archive starts in `data` and its decompressed members.
 */
export async function readAppendedZip(data) {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let eocd = -1;
  for (let i = data.length - 22; i >= Math.max(0, data.length - 22 - 65535); i--) {
    if (view.getUint32(i, true) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new ModelFormatError("no zip archive after the model (no EOCD record)");
  const count = view.getUint16(eocd + 10, true);
  const cdSize = view.getUint32(eocd + 12, true);
  const cdOffset = view.getUint32(eocd + 16, true);
  const start = eocd - cdSize - cdOffset; // bytes before the archive (the .tflite)
  if (start < 0) throw new ModelFormatError("corrupt zip archive (central directory)");
  const decoder = new TextDecoder();
  const members = new Map();
  let p = start + cdOffset;
  for (let n = 0; n < count; n++) {
    if (view.getUint32(p, true) !== 0x02014b50) {
      throw new ModelFormatError("corrupt zip archive (central directory entry)");
    }
    const method = view.getUint16(p + 10, true);
    const compressed = view.getUint32(p + 20, true);
    const nameLength = view.getUint16(p + 28, true);
    const extraLength = view.getUint16(p + 30, true);
    const commentLength = view.getUint16(p + 32, true);
    const local = start + view.getUint32(p + 42, true);
    const name = decoder.decode(data.subarray(p + 46, p + 46 + nameLength));
    p += 46 + nameLength + extraLength + commentLength;
    if (view.getUint32(local, true) !== 0x04034b50) {
      throw new ModelFormatError(`corrupt zip archive (local header of ${name})`);
    }
    const begin = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    const raw = data.subarray(begin, begin + compressed);
    if (method === 0) members.set(name, raw.slice());
    else if (method === 8) members.set(name, await inflateRaw(raw));
    else throw new ModelFormatError(`zip member ${name} uses unsupported method ${method}`);
  }
  return { start, members };
}

// Hex SHA-256 (WebCrypto: secure contexts, i.e. https or localhost); null without it.
async function sha256(bytes) {
  if (!(globalThis.crypto && crypto.subtle)) return null;
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Split an exported poseact model file into its parts (see poseact/export.py).
 *
 * @param {Uint8Array} data the `.tflite` file written by `poseact.export_tflite`.
 * The single-step model is the network's `stream` signature (metadata version 2:
 * `streamSignature` names it, `streamModel` is null) or, in version 1 files, a second
 * network in the archive (`streamModel`).
 *
 * @returns {Promise<{windowModel: Uint8Array, streamModel: Uint8Array|null,
 *     streamSignature: string|null, metadata: object}>}
 */
export async function readModelFile(data) {
  if (data.length < 8 || new TextDecoder().decode(data.subarray(4, 8)) !== TFLITE_MAGIC) {
    throw new ModelFormatError("not a TFLite model (no TFL3 identifier)");
  }
  let archive;
  try {
    archive = await readAppendedZip(data);
  } catch (error) {
    throw new ModelFormatError(
      `a TFLite model but not a poseact model: it carries no poseact metadata (${error.message})`,
    );
  }
  const json = archive.members.get(MODEL_FILE.metadataMember);
  if (!json) throw new ModelFormatError("the model's archive has no poseact.json");
  let metadata;
  try {
    metadata = JSON.parse(new TextDecoder().decode(json));
  } catch (error) {
    throw new ModelFormatError(`poseact.json is not valid JSON (${error.message})`);
  }
  if (!metadata || metadata.format !== METADATA_FORMAT) {
    throw new ModelFormatError(`metadata is not poseact's (${METADATA_FORMAT})`);
  }
  // The network lies outside the (CRC-checked) archive: check the sha256 values
  // recorded at export, as Python's runtime does (older files without them pass).
  const size = metadata.model_size ?? archive.start;
  const corrupt = (what) =>
    new ModelFormatError(
      `checksum mismatch: ${what} does not match the sha256 recorded when it was` +
        " exported, so the file is corrupt; copy, download or export it again",
    );
  if (metadata.model_sha256 !== undefined && metadata.model_sha256 !== null) {
    if (!Number.isInteger(size) || size < 8 || size > data.length) throw corrupt("the network");
    const digest = await sha256(data.subarray(0, size));
    if (digest !== null && digest !== metadata.model_sha256) throw corrupt("the network");
  }
  const streamName = metadata.stream && metadata.stream.file;
  const streamModel = (streamName && archive.members.get(streamName)) || null;
  const streamDigest = streamModel && metadata.stream.sha256;
  if (streamDigest) {
    const digest = await sha256(streamModel);
    if (digest !== null && digest !== streamDigest) throw corrupt("the stream model");
  }
  const streamSignature = (metadata.stream && metadata.stream.signature) || null;
  return { windowModel: data.slice(0, size), streamModel, streamSignature, metadata };
}

// ------------------------------------------------------------------ normalizer
const TORSO_PER_SHOULDER_WIDTH = 1.4;
const f32 = Math.fround;

function range(first, n) {
  return Array.from({ length: n }, (_, i) => first + i);
}

function bodyPart(first) {
  return { kind: "body", indices: range(first, 33), anchor_indices: [11, 12, 23, 24].map((i) => first + i) };
}

function handPart(first) {
  return { kind: "hand", indices: range(first, 21), anchor_indices: [0, 9, 5, 17].map((i) => first + i) };
}

// The built-in layouts' definitions, for model files that carry none (older exports);
// others carry `layout_definition` (Python's `Layout.to_dict()`).
const BUILTIN_LAYOUTS = {
  pose: { name: "pose", numPoints: 33, parts: [bodyPart(0)] },
  hands: { name: "hands", numPoints: 42, parts: [handPart(0), handPart(21)] },
  "pose+hands": { name: "pose+hands", numPoints: 75, parts: [bodyPart(0), handPart(33), handPart(54)] },
};

/**
 * A layout definition: `{name, numPoints, parts: [{kind, indices, anchor_indices}]}`.
 *
 * @param {string} name the layout's name.
 * @param {object|null} definition `metadata.layout_definition`, or null for a built-in.
 */
export function layoutDefinition(name, definition = null) {
  if (definition) {
    if (definition.name !== name) {
      throw new Error(`layout definition ${JSON.stringify(definition.name)} is not ${JSON.stringify(name)}`);
    }
    return { name, numPoints: definition.point_names.length, parts: definition.parts };
  }
  const builtin = BUILTIN_LAYOUTS[name];
  if (builtin === undefined) throw new Error(`unknown layout ${JSON.stringify(name)} and no definition`);
  return builtin;
}

/** Points K of a built-in layout ("pose": 33, "hands": 42, "pose+hands": 75). */
export function layoutPoints(layout) {
  return layoutDefinition(layout).numPoints;
}

/**
 * A normalizer spec dict (metadata.normalizer) with Python's defaults filled in.
 *
 * @param {object} spec as `NormalizerSpec.to_dict()` writes it.
 * @param {object|null} definition the layout's definition (`metadata.layout_definition`).
 */
export function normalizerSpec(spec, definition = null) {
  const full = { ...NORMALIZER_DEFAULTS, ...ABSENT_FIELDS, ...spec };
  for (const [key, value] of Object.entries(FALLBACK_TIMING)) full[key] ??= value;
  full.layoutDefinition = layoutDefinition(full.layout, definition);
  full.numPoints = full.layoutDefinition.numPoints;
  full.channels = full.use_z ? 3 : 2;
  const index = spec.streams_index ?? {};
  full.boneEdges = full.bones ? index.bone_edges : [];
  full.jointAngles = full.angles ? index.joint_angles : [];
  full.pathParts = full.path ? index.path_parts : [];
  full.pathRelative = full.path ? index.path_relative : [];
  if (!full.boneEdges || !full.jointAngles || !full.pathParts || !full.pathRelative) {
    throw new Error("the normalizer spec selects bones, angles or path but has no streams_index");
  }
  full.gridPoints = full.numPoints + 3 * full.pathParts.length;
  const kc = full.numPoints * full.channels;
  full.frameFeatures =
    kc * (1 + (full.velocity ? 1 : 0) + (full.accelerations ? 1 : 0)) +
    full.boneEdges.length * full.channels + full.jointAngles.length +
    4 * full.pathParts.length + 2 * full.pathRelative.length;
  const standardized = full.feature_mean.length > 0;
  full.featureMean = standardized ? Float32Array.from(full.feature_mean) : null;
  full.featureStd = standardized ? Float32Array.from(full.feature_std) : null;
  if (standardized && (full.featureMean.length !== full.frameFeatures ||
      full.featureStd.length !== full.frameFeatures)) {
    throw new Error(`feature_mean/feature_std need ${full.frameFeatures} values each`);
  }
  return full;
}


/** Angle between p[b] - p[a] and p[d] - p[c], radians / π, in float32 as numpy computes it. */
function jointAngle(p, q, channels) {
  const u = [], v = [];
  for (let c = 0; c < channels; c++) {
    u.push(f32(p[q[1] * channels + c] - p[q[0] * channels + c]));
    v.push(f32(p[q[3] * channels + c] - p[q[2] * channels + c]));
  }
  let dot = 0, uu = 0, vv = 0;
  for (let c = 0; c < channels; c++) {
    dot = f32(dot + f32(u[c] * v[c]));
    uu = f32(uu + f32(u[c] * u[c]));
    vv = f32(vv + f32(v[c] * v[c]));
  }
  let cross;
  if (channels === 3) {
    const x = f32(f32(u[1] * v[2]) - f32(u[2] * v[1]));
    const y = f32(f32(u[2] * v[0]) - f32(u[0] * v[2]));
    const z = f32(f32(u[0] * v[1]) - f32(u[1] * v[0]));
    cross = f32(Math.sqrt(f32(f32(f32(x * x) + f32(y * y)) + f32(z * z))));
  } else {
    cross = Math.abs(f32(f32(u[0] * v[1]) - f32(u[1] * v[0])));
  }
  if (uu < 1e-12 || vv < 1e-12) return NaN;
  return f32(f32(Math.atan2(cross, dot)) / f32(Math.PI));
}

/** Python's `NormalizerSpec()` defaults (checked against tests/vectors/defaults.json). */
export const NORMALIZER_DEFAULTS = Object.freeze({
  layout: "pose", fps: null, window: null, sampling: null, center: "hips",
  scale: "torso", rotate: false, use_z: true, min_visibility: 0.3, max_gap: 0.25,
  velocity: true, accelerations: false, bones: false, angles: true, path: true,
  standardize: true, feature_mean: [], feature_std: [],
});

/** Fields whose default changed, as files written before lack them (Python's `ABSENT_FIELDS`). */
export const ABSENT_FIELDS = Object.freeze({ angles: false, path: false });

/** What a timing left as null becomes (Python's `FALLBACK_TIMING`; `fit` sets them). */
export const FALLBACK_TIMING = Object.freeze({ fps: 30.0, window: 30, sampling: "center" });

// The per-frame arithmetic is float32, each operation rounded (Math.fround) as numpy's
// float32 arrays round it: the features match Python to the last bit or so, which
// matters once features are standardized (divided by small standard deviations).
function norm2d(x, y) {
  return f32(Math.sqrt(f32(f32(x * x) + f32(y * y))));
}

// A body part's centre [x, y, z] and size (Python's `_body_frame`): `anchors` are the
// layout indices of the left/right shoulder and left/right hip in p (flat K*3).
function bodyFrame(p, anchors, spec) {
  const at = (i, c) => p[i * 3 + c];
  const [ls, rs, lh, rh] = anchors;
  const ratio = f32(TORSO_PER_SHOULDER_WIDTH);
  const shoulders = [0, 1, 2].map((c) => f32(f32(at(ls, c) + at(rs, c)) / 2));
  const hips = [0, 1, 2].map((c) => f32(f32(at(lh, c) + at(rh, c)) / 2));
  const torso = norm2d(f32(shoulders[0] - hips[0]), f32(shoulders[1] - hips[1]));
  const width = norm2d(f32(at(ls, 0) - at(rs, 0)), f32(at(ls, 1) - at(rs, 1)));
  let size;
  if (spec.scale === "torso") {
    size = Number.isFinite(torso) ? torso : f32(width * ratio);
  } else {
    size = Number.isFinite(width) ? width : f32(torso / ratio);
    size = f32(size * ratio);
  }
  if (!(size > 1e-6)) size = NaN;
  const down = [0, size, 0];
  const centre = [0, 1, 2].map((c) =>
    spec.center === "hips"
      ? Number.isFinite(hips[c]) ? hips[c] : f32(shoulders[c] + down[c])
      : Number.isFinite(shoulders[c]) ? shoulders[c] : f32(hips[c] - down[c]),
  );
  return { root: centre, size };
}

// A body part of p (flat K*3, NaN where missing), in place: `idx` its points, `anchors`
// the layout indices of the left/right shoulder and left/right hip.
function normalizeBody(p, idx, anchors, spec) {
  const at = (i, c) => p[i * 3 + c];
  const [ls, rs] = anchors;
  const { root: centre, size } = bodyFrame(p, anchors, spec);
  for (const i of idx) {
    for (let c = 0; c < 3; c++) p[i * 3 + c] = f32(f32(p[i * 3 + c] - centre[c]) / size);
  }
  if (spec.rotate) {
    const lx = f32(at(ls, 0) - at(rs, 0));
    const ly = f32(at(ls, 1) - at(rs, 1));
    let angle = f32(Math.atan2(ly, lx));
    if (!Number.isFinite(angle)) angle = 0;
    const cos = f32(Math.cos(-angle));
    const sin = f32(Math.sin(-angle));
    for (const i of idx) {
      const x = p[i * 3];
      const y = p[i * 3 + 1];
      p[i * 3] = f32(f32(cos * x) - f32(sin * y));
      p[i * 3 + 1] = f32(f32(sin * x) + f32(cos * y));
    }
  }
}

// A hand's wrist and palm length (Python's `_hand_frame`): anchors = wrist, middle,
// index and pinky finger bases.
function handFrame(p, anchors) {
  const at = (i, c) => p[i * 3 + c];
  const [w, middle, index, pinky] = anchors;
  const wrist = [at(w, 0), at(w, 1), at(w, 2)];
  const dist = (i) => norm2d(f32(at(i, 0) - wrist[0]), f32(at(i, 1) - wrist[1]));
  const palm = dist(middle);
  const fallback = f32(f32(dist(index) + dist(pinky)) / 2);
  let size = Number.isFinite(palm) ? palm : fallback;
  if (!(size > 1e-6)) size = NaN;
  return { root: wrist, size };
}

// A hand part, in place.
function normalizeHand(p, idx, anchors) {
  const { root: wrist, size } = handFrame(p, anchors);
  for (const i of idx) {
    for (let c = 0; c < 3; c++) p[i * 3 + c] = f32(f32(p[i * 3 + c] - wrist[c]) / size);
  }
}

// A "points" part's origin and size (Python's `_points_frame`): without anchors the
// mean of its points `idx` and 1, its one anchor and 1, or its two anchors' midpoint
// and distance.
function pointsFrame(p, anchors, idx) {
  const at = (i, c) => p[i * 3 + c];
  if (anchors.length === 0) {
    const root = [0, 1, 2].map((c) => {
      let sum = 0;
      for (const i of idx) sum = f32(sum + at(i, c));
      return f32(sum / idx.length);
    });
    return { root, size: 1 };
  }
  if (anchors.length === 1) return { root: [0, 1, 2].map((c) => at(anchors[0], c)), size: 1 };
  const [a, b] = anchors;
  const root = [0, 1, 2].map((c) => f32(f32(at(a, c) + at(b, c)) / 2));
  let size = norm2d(f32(at(a, 0) - at(b, 0)), f32(at(a, 1) - at(b, 1)));
  if (!(size > 1e-6)) size = NaN;
  return { root, size };
}

// A "points" part, in place: kept (no anchor), centred on one anchor, or centred on
// two anchors' midpoint and divided by their distance.
function normalizePoints(p, idx, anchors) {
  if (anchors.length === 0) return;
  const { root: centre, size } = pointsFrame(p, anchors, idx);
  for (const i of idx) {
    for (let c = 0; c < 3; c++) p[i * 3 + c] = f32(f32(p[i * 3 + c] - centre[c]) / size);
  }
}

/**
 * Normalize one frame, like Python's `normalize_frames` on a single frame.
 *
 * @param {ArrayLike<number>} landmarks (K*3) normalized image x, y, z; NaN where missing.
 * @param {ArrayLike<number>} visibility (K) in [0, 1].
 * @param {object} spec from `normalizerSpec`.
 * @param {number[]|null} imageSize [width, height] in pixels, or null (square).
 * @returns {Float64Array} (K*C) body-relative coordinates, NaN where missing.
 */
export function normalizeFrame(landmarks, visibility, spec, imageSize = null) {
  const k = spec.numPoints;
  if (landmarks.length !== k * 3 || visibility.length !== k) {
    throw new Error(
      `landmarks have ${landmarks.length / 3} points, expected ${k} for layout ${spec.layout}`,
    );
  }
  // float32 inputs, as Python casts them; the arithmetic below is float64.
  const p = new Float64Array(k * 3);
  for (let i = 0; i < k * 3; i++) {
    const v = landmarks[i];
    p[i] = v === null || v === undefined ? NaN : Math.fround(v);
  }
  if (imageSize) {
    const aspect = Math.fround(imageSize[0] / imageSize[1]);
    for (let i = 0; i < k; i++) {
      p[i * 3] = Math.fround(p[i * 3] * aspect);
      p[i * 3 + 2] = Math.fround(p[i * 3 + 2] * aspect);
    }
  }
  const minVisibility = Math.fround(spec.min_visibility);
  for (let i = 0; i < k; i++) {
    if (Math.fround(visibility[i]) < minVisibility) p[i * 3] = p[i * 3 + 1] = p[i * 3 + 2] = NaN;
  }
  // Parts read the aspect-corrected, visibility-masked input (a copy), like Python.
  const source = Float64Array.from(p);
  for (const part of spec.layoutDefinition.parts) {
    const idx = part.indices;
    const local = Float64Array.from(source);
    if (part.kind === "body") normalizeBody(local, idx, part.anchor_indices, spec);
    else if (part.kind === "hand") normalizeHand(local, idx, part.anchor_indices);
    else normalizePoints(local, idx, part.anchor_indices);
    for (const i of idx) for (let c = 0; c < 3; c++) p[i * 3 + c] = local[i * 3 + c];
  }
  // The path points (Python's `normalize_frames(..., path=True)`): each rooted part's
  // root, its root moved by the part's size along x, and (frame by frame) the root for
  // its trailing mean, in aspect-corrected image units.
  const g = spec.gridPoints;
  const grid = new Float64Array(g * 3);
  grid.set(p);
  spec.pathParts.forEach((number, j) => {
    const part = spec.layoutDefinition.parts[number];
    const { root, size } =
      part.kind === "body" ? bodyFrame(source, part.anchor_indices, spec)
      : part.kind === "hand" ? handFrame(source, part.anchor_indices)
      : pointsFrame(source, part.anchor_indices, part.indices);
    const at = (k + 3 * j) * 3;
    for (let c = 0; c < 3; c++) grid[at + c] = grid[at + 3 + c] = grid[at + 6 + c] = f32(root[c]);
    grid[at + 3] = f32(root[0] + size);
  });
  const channels = spec.channels;
  if (channels === 3) return grid;
  const out = new Float64Array(g * channels);
  for (let i = 0; i < g; i++) {
    for (let c = 0; c < channels; c++) out[i * channels + c] = grid[i * 3 + c];
  }
  return out;
}

/** Whether any of the first `points` values (the layout's points) was observed. */
function showsSomeone(values, points) {
  for (let i = 0; i < points; i++) if (!Number.isNaN(values[i])) return true;
  return false;
}

/**
 * The live normalizer: one camera frame in, zero or more feature rows out.
 *
 * Port of Python's `StreamingFeaturizer`: resamples onto the spec's fps grid anchored
 * at the first frame (linear interpolation between the previous and the current
 * frame), holds missing values for up to `max_gap` seconds, then they become 0;
 * velocity is the difference to the previous grid row.
 */
export class StreamingFeaturizer {
  /** @param {object} spec from `normalizerSpec`. */
  constructor(spec) {
    this.spec = spec;
    this.reset();
  }

  /** Forget the stream: the next frame starts a new grid. */
  reset() {
    this.tPrev = null;
    this.pPrev = null;
    this.seen = null;
    this.t0 = 0;
    this.k = 0;
    this.rowPrev = null;
    this.velocityPrev = null;
    this.trail = null; // the roots' trailing means so far (R*C), Python's `trail_step`
    this.shown = true; // whether the last row emitted showed anyone
    this.rowsSeen = []; // per row of the last push: whether it showed anyone
    this.restarted = false; // the last push started over: someone came back into view
  }

  /**
   * Whether a frame at `timestamp` starts the stream over: more than a window after the
   * last frame (Python's `StreamingFeaturizer.breaks`).
   *
   * @param {number} timestamp seconds.
   * @returns {boolean}
   */
  breaks(timestamp) {
    return this.tPrev !== null && (timestamp - this.tPrev) * this.spec.fps > Math.max(this.spec.window, 1);
  }

  /**
   * Feed one frame.
   *
   * @param {number} timestamp seconds, increasing from call to call.
   * @param {ArrayLike<number>} landmarks (K*3) normalized image coordinates, NaN missing.
   * @param {ArrayLike<number>} visibility (K) in [0, 1].
   * @param {number[]|null} imageSize [width, height] of the frame.
   * @returns {Float32Array[]} the feature rows (F) for the grid times this frame reached.
   */
  push(timestamp, landmarks, visibility, imageSize = null) {
    const spec = this.spec;
    const p = normalizeFrame(landmarks, visibility, spec, imageSize);
    const t = Number(timestamp);
    if (!Number.isFinite(t)) {
      throw new Error(`stream timestamp must be a finite number of seconds, got ${timestamp}`);
    }
    if (this.tPrev !== null && t <= this.tPrev) {
      throw new Error(`stream timestamps must increase: got ${t}s after ${this.tPrev}s`);
    }
    if (this.breaks(t)) {
      // A gap longer than a window: its grid frames would be empty time. Start over
      // (as poseact.normalize.StreamingFeaturizer does).
      this.reset();
    }
    const n = p.length;
    const points = spec.numPoints * spec.channels; // the layout's points, before the path's
    if (!this.shown && showsSomeone(p, points)) {
      // back after rows of zeros: a new stream, as at its start (Python's `restarted`)
      this.reset();
      this.restarted = true;
    } else {
      this.restarted = false;
    }
    if (this.pPrev === null) {
      this.seen = new Float64Array(n);
      for (let i = 0; i < n; i++) this.seen[i] = Number.isNaN(p[i]) ? -Infinity : t;
      this.tPrev = t;
      this.pPrev = p;
      this.t0 = t;
      this.k = 0;
    } else {
      for (let i = 0; i < n; i++) {
        if (Number.isNaN(p[i])) {
          if (t - this.seen[i] <= spec.max_gap + 1e-9) p[i] = this.pPrev[i];
        } else {
          this.seen[i] = t;
        }
      }
    }
    const rows = [];
    const seen = [];
    let g;
    while ((g = this.t0 + this.k / spec.fps) <= t + 1e-9) {
      let value;
      if (g >= t - 1e-9 || this.tPrev === t) {
        value = p;
      } else {
        const w = f32((g - this.tPrev) / (t - this.tPrev));
        const keep = f32(1 - w);
        value = new Float64Array(n);
        for (let i = 0; i < n; i++) value[i] = f32(f32(this.pPrev[i] * keep) + f32(p[i] * w));
      }
      rows.push(this.row(value));
      seen.push(showsSomeone(value, points));
      this.k += 1;
    }
    this.tPrev = t;
    this.pPrev = p;
    this.rowsSeen = seen;
    if (seen.length > 0) this.shown = seen[seen.length - 1];
    return rows;
  }

  row(positions) {
    // Port of `row_features`: float32 positions, then each stream as numpy computes it.
    const spec = this.spec;
    const c = spec.channels;
    const n = spec.numPoints * c;
    const full = Float32Array.from(positions);
    const roots = spec.pathParts.length;
    if (roots) {
      // the trailing means (Python's `trail_roots`): a time constant of half a window
      const rate = f32(1 - Math.exp(-2 / spec.window));
      const first = this.trail === null;
      if (first) this.trail = new Float32Array(roots * c);
      for (let j = 0; j < roots; j++) {
        for (let d = 0; d < c; d++) {
          const r = full[n + 3 * j * c + d];
          const m = this.trail[j * c + d];
          let next;
          if (first || Number.isNaN(m)) next = r;
          else if (Number.isNaN(r)) next = m;
          else next = f32(m + f32(rate * f32(r - m)));
          this.trail[j * c + d] = next;
          full[n + (3 * j + 2) * c + d] = Number.isNaN(r) ? NaN : next;
        }
      }
    }
    const p = full.subarray(0, n);
    const fullPrev = this.rowPrev ?? full;
    const prev = fullPrev.subarray(0, n);
    const velocity = new Float32Array(n);
    for (let i = 0; i < n; i++) velocity[i] = p[i] - prev[i];
    const out = new Float32Array(spec.frameFeatures);
    out.set(p, 0);
    let at = n;
    if (spec.velocity) {
      out.set(velocity, at);
      at += n;
    }
    if (spec.accelerations) {
      const before = this.velocityPrev;
      for (let i = 0; i < n; i++) out[at + i] = velocity[i] - (before ? before[i] : velocity[i]);
      at += n;
    }
    for (const [a, b] of spec.boneEdges) {
      for (let j = 0; j < c; j++) out[at + j] = p[b * c + j] - p[a * c + j];
      at += c;
    }
    for (const q of spec.jointAngles) out[at++] = jointAngle(p, q, c);
    // the path stream (Python's `path_features`): each root's velocity in its part's
    // size units, each root relative to its trailing mean, then each hand's root
    // relative to the body centre
    const root = (row, j, d) => row[n + 3 * j * c + d];
    const size = new Float32Array(roots);
    for (let j = 0; j < roots; j++) {
      const dx = f32(full[n + (3 * j + 1) * c] - root(full, j, 0));
      const dy = f32(full[n + (3 * j + 1) * c + 1] - root(full, j, 1));
      const s = f32(Math.sqrt(f32(f32(dx * dx) + f32(dy * dy))));
      size[j] = s > 1e-6 ? s : NaN;
      for (let d = 0; d < 2; d++) {
        out[at++] = f32(f32(root(full, j, d) - root(fullPrev, j, d)) / size[j]);
      }
    }
    for (let j = 0; j < roots; j++) {
      for (let d = 0; d < 2; d++) {
        out[at++] = f32(f32(root(full, j, d) - full[n + (3 * j + 2) * c + d]) / size[j]);
      }
    }
    for (const [hand, body] of spec.pathRelative) {
      for (let d = 0; d < 2; d++) {
        out[at++] = f32(f32(root(full, hand, d) - root(full, body, d)) / size[body]);
      }
    }
    for (let i = 0; i < out.length; i++) {
      let v = out[i];
      if (spec.featureMean) v = f32(f32(v - spec.featureMean[i]) / spec.featureStd[i]);
      out[i] = Number.isNaN(v) ? 0 : v;
    }
    this.rowPrev = full;
    this.velocityPrev = velocity;
    return out;
  }
}

// ------------------------------------------------------------------ landmarks
const HAND_SLOTS = { Left: 0, Right: 1 }; // MediaPipe handedness label -> slot in "hands"
const POSE_POINTS = 33;
const HAND_POINTS = 21;

/**
 * MediaPipe landmarkers for a layout, set up like Python's `LandmarkExtractor`.
 *
 * @param {object} mp the `@mediapipe/tasks-vision` module.
 * @param {object} fileset from `mp.FilesetResolver.forVisionTasks(...)`.
 * @param {string} layout "pose", "hands" or "pose+hands".
 * @param {object} options {pose_model, hand_model, delegate, extractor: {...}}:
 *     bundle URLs, "CPU" or "GPU", and `ExtractorOptions` fields.
 * @returns {Promise<{pose: object|null, hands: object|null}>}
 */
export async function createLandmarkers(mp, fileset, layout, options) {
  const x = options.extractor || {};
  const detection = x.min_detection_confidence ?? 0.5;
  const presence = x.min_presence_confidence ?? 0.5;
  const tracking = x.min_tracking_confidence ?? 0.5;
  const delegate = options.delegate || "CPU";
  let pose = null;
  let hands = null;
  if (layout.includes("pose")) {
    pose = await mp.PoseLandmarker.createFromOptions(fileset, {
      baseOptions: { modelAssetPath: options.pose_model, delegate },
      runningMode: "VIDEO",
      numPoses: 1,
      minPoseDetectionConfidence: detection,
      minPosePresenceConfidence: presence,
      minTrackingConfidence: tracking,
      outputSegmentationMasks: false,
    });
  }
  if (layout.includes("hands")) {
    hands = await mp.HandLandmarker.createFromOptions(fileset, {
      baseOptions: { modelAssetPath: options.hand_model, delegate },
      runningMode: "VIDEO",
      numHands: x.num_hands ?? 2,
      minHandDetectionConfidence: detection,
      minHandPresenceConfidence: presence,
      minTrackingConfidence: tracking,
    });
  }
  return { pose, hands };
}

/**
 * One frame's landmarks in poseact's layout (port of `LandmarkExtractor.process`).
 *
 * Pose points first (visibility from MediaPipe), then the left and the right hand
 * (by MediaPipe's handedness label, the best-scoring hand per side; visibility is
 * the handedness score). Missing points are NaN with visibility 0.
 *
 * @param {object|null} pose a PoseLandmarker in VIDEO mode, or null.
 * @param {object|null} hands a HandLandmarker in VIDEO mode, or null.
 * @param {object} image a video element, VideoFrame, ImageBitmap or canvas.
 * @param {number} ms the frame's timestamp in milliseconds, increasing.
 * @param {number} k points of the layout.
 * @returns {{landmarks: Float64Array, visibility: Float64Array}} (K*3) and (K).
 */
export function extractLandmarks(pose, hands, image, ms, k) {
  const landmarks = new Float64Array(k * 3).fill(NaN);
  const visibility = new Float64Array(k);
  let offset = 0;
  if (pose) {
    const result = pose.detectForVideo(image, ms);
    if (result.landmarks.length) {
      result.landmarks[0].forEach((p, i) => {
        landmarks.set([p.x, p.y, p.z], i * 3);
        visibility[i] = p.visibility ?? 1.0;
      });
    }
    offset = POSE_POINTS;
  }
  if (hands) {
    const result = hands.detectForVideo(image, ms);
    const best = new Map(); // slot -> [score, hand index]
    (result.handedness || []).forEach((categories, i) => {
      if (!categories.length) return;
      const slot = HAND_SLOTS[categories[0].categoryName];
      if (slot === undefined) return;
      const score = categories[0].score;
      if (!best.has(slot) || score > best.get(slot)[0]) best.set(slot, [score, i]);
    });
    for (const [slot, [score, i]] of best) {
      const start = offset + slot * HAND_POINTS;
      result.landmarks[i].forEach((p, j) => {
        landmarks.set([p.x, p.y, p.z], (start + j) * 3);
        visibility[start + j] = score;
      });
    }
  }
  for (let i = 0; i < k; i++) {
    visibility[i] = Math.min(1, Math.max(0, visibility[i]));
    if (Number.isNaN(landmarks[i * 3])) visibility[i] = 0;
  }
  return { landmarks, visibility };
}

// ------------------------------------------------------------------ model runtime
/** Python's round(): halves go to the even neighbour. */
export function roundHalfEven(x) {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function argmax(values) {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

// One compiled LiteRT.js model with its input/output details.
class Runner {
  constructor(litert, compiled, signature = null) {
    this.litert = litert;
    this.compiled = compiled;
    this.model = signature === null ? compiled : compiled.signatures[signature];
    if (!this.model) {
      compiled.delete();
      throw new ModelFormatError(`the model has no ${signature} signature`);
    }
    this.inputs = this.model.getInputDetails();
    this.outputs = this.model.getOutputDetails();
  }

  /** A compiled model's default signature (the window model), or the one named. */
  static async create(litert, bytes, accelerator, signature = null) {
    const compiled = await litert.loadAndCompile(bytes, { accelerator });
    return new Runner(litert, compiled, signature);
  }

  inputIndex(namePart) {
    const index = this.inputs.findIndex((d) => d.name.includes(namePart));
    if (index < 0) throw new ModelFormatError(`model has no input named like ${namePart}`);
    return index;
  }

  // Runs on float32 arrays given in input order; returns the outputs' Float32Arrays.
  async run(arrays) {
    const tensors = arrays.map(
      (a, i) => new this.litert.Tensor(a, Array.from(this.inputs[i].shape)),
    );
    let outputs;
    try {
      outputs = await this.model.run(tensors);
    } finally {
      for (const t of tensors) t.delete();
    }
    try {
      return outputs.map((t) => new Float32Array(t.toTypedArray()));
    } finally {
      for (const t of outputs) t.delete();
    }
  }

  delete() {
    this.compiled.delete();
  }
}

/**
 * An exported poseact model run by LiteRT.js (port of `TFLiteGestureModel`).
 *
 * Create with `await GestureModel.load(fileBytes, litert)`, where `litert` is the
 * `@litertjs/core` module after `loadLiteRt(...)` resolved.
 */
export class GestureModel {
  constructor(metadata, windowRunner, streamBytes, litert, accelerator, streamSignature = null) {
    this.metadata = metadata;
    this.classes = metadata.classes.map(String);
    this.background = metadata.background ?? null;
    this.spec = normalizerSpec(metadata.normalizer, metadata.layout_definition ?? null);
    this.rejection = rejectionRule(metadata.rejection, {
      classes: this.classes,
      background: this.background,
      features: this.spec.frameFeatures,
    });
    // seconds of a gesture the window holds when it begins to answer it; null: half the window
    this.onset = metadata.onset ?? null;
    if (this.onset !== null && !(typeof this.onset === "number" && this.onset > 0)) {
      throw new ModelFormatError(
        `invalid poseact metadata: 'onset' must be null or a positive number of seconds: ${pyRepr(this.onset)}`,
      );
    }
    // per class: seconds of the gesture the window holds when the answer begins and
    // when it lets go (measured after training); null: not measured
    this.placement = checkPlacement(metadata.placement ?? null, this.classes, this.background);
    // the decision threshold chosen for this model; null: the default (0.6)
    this.threshold = metadata.threshold ?? null;
    const t = this.threshold;
    if (t !== null && !(typeof t === "number" && t > 0 && t <= 1)) {
      throw new ModelFormatError(
        `invalid poseact metadata: 'threshold' must be null or a number in (0, 1]: ${pyRepr(t)}`,
      );
    }
    this.windowRunner = windowRunner;
    this.streamBytes = streamBytes;
    this.streamSignature = streamSignature;
    this.litert = litert;
    this.accelerator = accelerator;
  }

  /**
   * @param {Uint8Array} data the model file.
   * @param {object} litert the `@litertjs/core` module, loaded.
   * @param {string} accelerator "wasm" (CPU) or "webgpu".
   */
  static async load(data, litert, accelerator = "wasm") {
    const parts = await readModelFile(data);
    const runner = await Runner.create(litert, parts.windowModel, accelerator);
    // version 2: the single-step model is a signature of the same network
    const streamBytes = parts.streamModel ?? (parts.streamSignature ? parts.windowModel : null);
    try {
      return GestureModel.checked(
        new GestureModel(parts.metadata, runner, streamBytes, litert, accelerator, parts.streamSignature),
      );
    } catch (error) {
      runner.delete(); // a model refused here frees the network it compiled
      throw error;
    }
  }

  /** `model` if its window model fits its metadata; else a ModelFormatError. */
  static checked(model) {
    const runner = model.windowRunner;
    if (runner.inputs.length !== 1 || runner.outputs.length !== 1) {
      throw new ModelFormatError(
        `the window model has ${runner.inputs.length} inputs and ${runner.outputs.length}` +
          " outputs, expected 1 and 1",
      );
    }
    const outputs = runner.outputs[0].shape.at(-1);
    if (outputs !== model.classes.length) {
      throw new ModelFormatError(
        `the model has ${outputs} outputs but its metadata lists ${model.classes.length} classes`,
      );
    }
    const shape = Array.from(runner.inputs[0].shape);
    if (shape[1] !== model.spec.window || shape[2] !== model.spec.frameFeatures) {
      throw new ModelFormatError(
        `model input [${shape}] does not match its metadata (window ${model.spec.window},` +
          ` ${model.spec.frameFeatures} features)`,
      );
    }
    return model;
  }

  get hasStreamModel() {
    return this.streamBytes !== null;
  }

  /** (C) probabilities for one window, given as (W*F) or a list of W rows. */
  async predictWindow(window) {
    const W = this.spec.window;
    const F = this.spec.frameFeatures;
    const flat = new Float32Array(W * F);
    if (window.length === W && window[0].length === F) {
      window.forEach((row, i) => flat.set(row, i * F));
    } else {
      flat.set(window);
    }
    const [probs] = await this.windowRunner.run([flat]);
    return probs;
  }

  /**
   * A per-frame classifier over feature rows (port of `TFLiteGestureModel.stepper`).
   *
   * @param {boolean} stateful use the embedded single-step model when the file has
   *     one; false re-runs the window model over the last W rows every frame.
   */
  async stepper({ stateful = true } = {}) {
    if (stateful && this.streamBytes !== null) {
      const runner = await Runner.create(
        this.litert,
        this.streamBytes,
        this.accelerator,
        this.streamSignature,
      );
      return new StatefulStepper(this, runner);
    }
    return new WindowStepper(this);
  }
}

/**
 * Runs the embedded single-step model (port of Python's `_StatefulStepper`).
 *
 * The stream model's batch holds L lanes (2 by default), staggered by window / L
 * frames; each restarts from a zero state every `window` frames, all run in one
 * invoke, and the lane that has seen the most frames answers.
 */
export class StatefulStepper {
  constructor(model, runner) {
    this.window = model.spec.window;
    this.runner = runner;
    this.frameInput = runner.inputIndex("frame");
    this.stateInput = runner.inputIndex("state");
    const frameShape = Array.from(runner.inputs[this.frameInput].shape);
    const stateShape = Array.from(runner.inputs[this.stateInput].shape);
    const lanes = stateShape[0];
    this.size = stateShape.at(-1);
    this.features = frameShape.at(-1);
    this.offsets = Array.from({ length: lanes }, (_, j) => roundHalfEven((j * this.window) / lanes));
    this.classes = model.classes.length;
    if (runner.outputs.length !== 2 || frameShape[0] !== lanes) {
      throw new ModelFormatError("stream model has unexpected tensors");
    }
    // probabilities (L, C), then state (L, S): by the ":N" name suffix, as Python
    // orders them, unless only the other output has C values.
    const suffix = (i) => runner.outputs[i].name.split(":").at(-1);
    const order = [0, 1].sort((a, b) => (suffix(a) < suffix(b) ? -1 : suffix(a) > suffix(b) ? 1 : a - b));
    const width = (i) => runner.outputs[i].shape.at(-1);
    if (width(order[0]) !== this.classes && width(order[1]) === this.classes) order.reverse();
    [this.probsOutput, this.stateOutput] = order;
    this.rows = new Float32Array(lanes * this.features);
    this.reset();
  }

  get lanes() {
    return this.offsets.length;
  }

  reset() {
    this.n = 0;
    this.context = 0; // rows the last answer covers (the newest ones)
    this.states = new Float32Array(this.lanes * this.size);
  }

  /** @param {Float32Array} row (F) features; @returns {Promise<Float32Array>} (C). */
  async step(row) {
    const ages = this.offsets.map((o) => (this.n >= o ? (this.n - o) % this.window : -1));
    ages.forEach((age, lane) => {
      if (age === 0) this.states.fill(0, lane * this.size, (lane + 1) * this.size);
      this.rows.set(row, lane * this.features);
    });
    const inputs = [];
    inputs[this.frameInput] = this.rows;
    inputs[this.stateInput] = this.states;
    const outputs = await this.runner.run(inputs);
    this.states = outputs[this.stateOutput];
    this.n += 1;
    const best = argmax(ages);
    this.context = ages[best] + 1;
    return outputs[this.probsOutput].slice(best * this.classes, (best + 1) * this.classes);
  }
}

/**
 * The last W feature rows as a window of W rows, padded as the window model's input is
 * until W rows have come: the first row repeated, which is the stream's first frame
 * held (port of Python's `RowWindow`).
 */
export class RowWindow {
  /** @param {number} window W. */
  constructor(window) {
    this.size = window;
    this.reset();
  }

  reset() {
    this.rows = [];
  }

  /** Rows pushed so far (at most W). */
  get length() {
    return this.rows.length;
  }

  /** @param {ArrayLike<number>} row (F) features. */
  push(row) {
    this.rows.push(row);
    if (this.rows.length > this.size) this.rows.shift();
  }

  /** @returns {ArrayLike<number>[]} W rows, newest last (at least one must have been pushed). */
  window() {
    const rows = this.rows;
    if (rows.length >= this.size) return rows.slice();
    return [...Array(this.size - rows.length).fill(rows[0]), ...rows];
  }
}

/** Re-runs the window model over the last W rows (for the MLP baselines). */
export class WindowStepper {
  constructor(model) {
    this.model = model;
    this.rows = new RowWindow(model.spec.window);
    this.reset();
  }

  reset() {
    this.rows.reset();
    this.context = 0; // rows the last answer covers (the newest ones)
  }

  async step(row) {
    this.rows.push(row);
    this.context = this.rows.length;
    return this.model.predictWindow(this.rows.window());
  }
}

// ------------------------------------------------------------------ open-set rejection
/** The rejection rule this poseact reads and writes (Python's `rejection.RULE`). */
const REJECTION_RULE = "nearest_clip";

/** An IEEE 754 half-precision number (its 16 bits) as a JS number (exact). */
export function halfToFloat(bits) {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24; // zero or subnormal
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

// Python's repr of a JSON value in messages ('text', None, 3).
function pyRepr(value) {
  if (value === undefined || value === null) return "None";
  if (typeof value === "string") return `'${value}'`;
  return JSON.stringify(value);
}

// A stored array ({dtype, shape, base64}, little-endian, as Python's `_encode` writes
// it) as a flat Float32Array and its shape (float16 and int8 values are exact in float32).
function decodeArray(stored, dtype, ndim, fail, what) {
  if (!stored || typeof stored !== "object" || stored.dtype !== dtype) {
    throw fail(`${what} must be an object with dtype '${dtype}', shape and base64`);
  }
  const shape = stored.shape;
  const sizes = Array.isArray(shape) && shape.every((s) => Number.isInteger(s) && s > 0);
  if (!sizes || shape.length !== ndim) {
    const got = JSON.stringify(shape ?? null);
    throw fail(`${what} has shape ${got}, expected ${ndim} positive sizes`);
  }
  let raw;
  try {
    raw = Uint8Array.from(atob(String(stored.base64 ?? "")), (c) => c.charCodeAt(0));
  } catch {
    throw fail(`${what} is not valid base64`);
  }
  const width = { float32: 4, float16: 2, int8: 1 }[dtype];
  const size = shape.reduce((a, b) => a * b, 1);
  const values = new Float32Array(Math.floor(raw.length / width));
  const view = new DataView(raw.buffer);
  for (let i = 0; i < values.length; i++) {
    if (width === 4) values[i] = view.getFloat32(4 * i, true);
    else if (width === 2) values[i] = halfToFloat(view.getUint16(2 * i, true));
    else values[i] = view.getInt8(i);
  }
  if (raw.length % width || values.length !== size || !values.every(Number.isFinite)) {
    throw fail(`${what} holds ${values.length} numbers (or some not finite), shape [${shape}]`);
  }
  return { values, shape };
}

// A class's references (Python's `_decode_references`): int8 codes, each row times its
// float32 scale (rounded to float32, as numpy multiplies), or float16 (models exported
// before 2026-12-07).
function decodeReferences(stored, fail, what) {
  if (stored && typeof stored === "object" && stored.dtype === "float16") {
    return decodeArray(stored, "float16", 2, fail, what);
  }
  if (!stored || typeof stored !== "object" || stored.dtype !== "int8") {
    throw fail(`${what} must be an object with dtype 'int8', shape, base64 and scale`);
  }
  const { values, shape } = decodeArray(stored, "int8", 2, fail, what);
  const scale = decodeArray(stored.scale, "float32", 1, fail, `${what}: scale`).values;
  if (scale.length !== shape[0] || !scale.every((v) => v > 0)) {
    throw fail(`${what}: scale must hold one positive number per reference (${shape[0]})`);
  }
  for (let i = 0; i < values.length; i++) {
    values[i] = Math.fround(values[i] * scale[Math.floor(i / shape[1])]);
  }
  return { values, shape };
}

/**
 * The model's open-set rejection rule (port of Python's `RejectionRule`, see
 * `poseact.runtime.rejection`): a window whose descriptor lies farther from the nearest
 * reference clip of its best class than that class's threshold is answered `unknown`.
 *
 * A window's descriptor is the median over time of each of its F features, then their
 * median absolute deviation times 1.4826 ((W, F) → (2F,); "median_mad"), or for rules
 * calibrated before 2026-12-07 their mean and standard deviation ("mean_std"),
 * standardized by `center` and `scale`. Computed in float64, as Python does.
 */
/** The window summaries a rule may use (Python's `DESCRIPTORS`). */
const DESCRIPTORS = ["median_mad", "mean_std"];
/** The median absolute deviation times this is a standard deviation for normal data. */
const MAD_TO_STD = 1.4826;

/** numpy's median of `values` (sorted in place): the mean of the middle two for an even count. */
function medianOf(values) {
  values.sort();
  const n = values.length;
  return n % 2 ? values[(n - 1) / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

export class RejectionRule {
  /**
   * @param {object} parts
   * @param {Float32Array} parts.center (D = 2F) descriptor mean of the training clips.
   * @param {Float32Array} parts.scale (D) their within-class spread.
   * @param {Map<string, Float32Array[]>} parts.references label -> its reference
   *     descriptors (standardized, D each; int8 codes times a scale per row in the file).
   * @param {Map<string, number>} parts.thresholds label -> largest distance still
   *     answered; a label without one is never rejected.
   * @param {string} [parts.unknown] the answer beyond the threshold.
   * @param {number} [parts.falseReject] the calibration's target false-reject rate.
   * @param {number} [parts.windows] clips the thresholds were calibrated on.
   * @param {number|null} [parts.cap] the most one descriptor number's difference counts
   *     in a distance (null: not capped, rules calibrated before 2026-12-07).
   * @param {string} [parts.descriptor] "median_mad" or "mean_std" (`DESCRIPTORS`).
   */
  constructor({
    center, scale, references, thresholds, unknown = "unknown", falseReject = NaN, windows = 0,
    cap = null, descriptor = "median_mad",
  }) {
    this.center = center;
    this.scale = scale;
    this.references = references;
    this.thresholds = thresholds;
    this.unknown = unknown;
    this.falseReject = falseReject;
    this.windows = windows;
    this.cap = cap;
    this.descriptor = descriptor;
  }

  /** F, the model features per frame the descriptors are made of. */
  get features() {
    return this.center.length / 2;
  }

  /** The largest distance answered for `label` (Infinity for a label without one). */
  threshold(label) {
    return this.thresholds.get(label) ?? Infinity;
  }

  /**
   * The standardized descriptor of one window.
   *
   * @param {ArrayLike<number>[]} window W rows of F features.
   * @returns {Float64Array} (2F) (median, 1.4826 × median absolute deviation over time
   *     - center) / scale; (mean, std - center) / scale for "mean_std".
   */
  describe(window) {
    const F = this.features;
    const W = window.length;
    if (W === 0 || window.some((row) => row.length !== F)) {
      throw new Error(
        `a window of ${W} rows of ${W ? window[0].length : 0} features, but the rejection rule` +
          ` was calibrated on ${F} features per frame`,
      );
    }
    const q = new Float64Array(2 * F);
    if (this.descriptor === "mean_std") {
      for (const row of window) for (let j = 0; j < F; j++) q[j] += row[j];
      for (let j = 0; j < F; j++) q[j] /= W;
      for (const row of window) {
        for (let j = 0; j < F; j++) q[F + j] += (row[j] - q[j]) ** 2;
      }
      for (let j = 0; j < F; j++) q[F + j] = Math.sqrt(q[F + j] / W); // population std
    } else {
      const column = new Float64Array(W);
      for (let j = 0; j < F; j++) {
        for (let t = 0; t < W; t++) column[t] = window[t][j];
        const median = medianOf(column);
        for (let t = 0; t < W; t++) column[t] = Math.abs(window[t][j] - median);
        q[j] = median;
        q[F + j] = MAD_TO_STD * medianOf(column);
      }
    }
    for (let d = 0; d < 2 * F; d++) q[d] = (q[d] - this.center[d]) / this.scale[d];
    return q;
  }

  /**
   * The distance of a window to the nearest reference of each class (0 for a class
   * without references, such as the background).
   *
   * @param {ArrayLike<number>[]} window W rows of F features.
   * @param {string[]} classes the model's labels.
   * @returns {Float64Array} (C) distances.
   */
  distances(window, classes) {
    const q = this.describe(window);
    const out = new Float64Array(classes.length);
    classes.forEach((label, c) => {
      const refs = this.references.get(String(label));
      if (refs === undefined) return;
      let nearest = Infinity;
      for (const ref of refs) {
        let sum = 0;
        if (this.cap === null) {
          for (let d = 0; d < q.length; d++) sum += (q[d] - ref[d]) ** 2;
        } else {
          for (let d = 0; d < q.length; d++) sum += Math.min(Math.abs(q[d] - ref[d]), this.cap) ** 2;
        }
        nearest = Math.min(nearest, sum);
      }
      out[c] = Math.sqrt(nearest);
    });
    return out;
  }

  /**
   * Distance / threshold of a window for each class: above 1 that class is answered
   * `unknown` (0 for a class without a threshold).
   *
   * @param {ArrayLike<number>[]} window W rows of F features.
   * @param {string[]} classes the model's labels.
   * @returns {Float64Array} (C) ratios.
   */
  ratios(window, classes) {
    const out = this.distances(window, classes);
    classes.forEach((label, c) => {
      out[c] /= this.threshold(String(label));
    });
    return out;
  }

  /** True when `label`, at `ratio` (distance / threshold), is answered. */
  accepts(label, ratio) {
    return !this.thresholds.has(label) || ratio <= 1;
  }
}

/**
 * The model's rejection rule from its stored form (metadata.rejection, Python's
 * `RejectionRule.to_dict`); null without one.
 *
 * @param {object|null|undefined} stored the "rejection" object of poseact.json.
 * @param {object} [model] what to check the rule against, when known.
 * @param {string[]} [model.classes] the model's labels (thresholds name only these).
 * @param {string|null} [model.background] the background (never has a threshold).
 * @param {number} [model.features] F of the model's windows.
 * @returns {RejectionRule|null}
 * @throws {ModelFormatError} a rule of another kind (models exported by an older
 *     poseact) or one that is malformed.
 */
export function rejectionRule(stored, { classes = null, background = null, features = null } = {}) {
  if (stored === null || stored === undefined) return null;
  const fail = (problem) => new ModelFormatError(`invalid poseact metadata: rejection ${problem}`);
  if (typeof stored !== "object" || Array.isArray(stored)) throw fail("must be null or an object");
  if (stored.rule !== REJECTION_RULE) {
    throw fail(
      `rule ${pyRepr(stored.rule)} is not supported (this poseact writes '${REJECTION_RULE}');` +
        " train the model again with a reject rate to calibrate the current rule",
    );
  }
  const isObject = (x) => x !== null && typeof x === "object" && !Array.isArray(x);
  if (!isObject(stored.thresholds) || !isObject(stored.references)) {
    throw fail("needs 'thresholds' and 'references' objects");
  }
  const thresholds = new Map();
  for (const [label, value] of Object.entries(stored.thresholds)) {
    if (typeof value !== "number" || !(value > 0)) {
      throw fail(`threshold of '${label}' must be a positive number, got ${pyRepr(value)}`);
    }
    thresholds.set(label, value);
  }
  const labels = [...new Set([...thresholds.keys(), ...Object.keys(stored.references)])];
  if (classes !== null) {
    const strangers = labels.filter((label) => !classes.includes(label)).sort();
    if (strangers.length) {
      throw fail(`names labels ${JSON.stringify(strangers)} that are not classes`);
    }
  }
  if (background !== null && thresholds.has(background)) {
    throw fail(`cannot have a threshold for the background '${background}'`);
  }
  const unknown = stored.unknown ?? "unknown";
  if (typeof unknown !== "string" || !unknown || (classes !== null && classes.includes(unknown))) {
    throw fail(`answer ${pyRepr(unknown)} must be a string that is not a class`);
  }
  const center = decodeArray(stored.center, "float32", 1, fail, "center").values;
  const scale = decodeArray(stored.scale, "float32", 1, fail, "scale").values;
  const dims = center.length;
  const references = new Map();
  const shapes = [scale.length];
  for (const [label, value] of Object.entries(stored.references)) {
    const what = `references of '${label}'`;
    const { values, shape } = decodeReferences(value, fail, what);
    shapes.push(shape[1]);
    const [n, d] = shape;
    references.set(label, Array.from({ length: n }, (_, i) => values.subarray(i * d, (i + 1) * d)));
  }
  if (dims % 2 || shapes.some((s) => s !== dims)) {
    throw fail(`descriptors disagree in size: center ${dims}, others [${shapes}]`);
  }
  if (features !== null && dims !== 2 * features) {
    throw fail(
      `descriptors have ${dims} numbers, but the model's windows have ${features}` +
        ` features per frame (${2 * features} expected)`,
    );
  }
  if (!scale.every((s) => s > 0)) throw fail("scale must be positive");
  const descriptor = stored.descriptor ?? "mean_std";
  if (!DESCRIPTORS.includes(descriptor)) {
    throw fail(
      `descriptor must be one of [${DESCRIPTORS.map(pyRepr).join(", ")}], got ${pyRepr(descriptor)}`,
    );
  }
  const cap = stored.cap ?? null; // absent or null: a rule from before the cap
  if (cap !== null && !(typeof cap === "number" && Number.isFinite(cap) && cap > 0)) {
    throw fail(`cap must be a positive number or null, got ${pyRepr(cap)}`);
  }
  // "tail" is only used to extend a rule (Python's fine_tune); checked as Python does
  const tail = stored.tail ?? null;
  if (tail !== null && !(typeof tail === "number" && Number.isFinite(tail) && tail > 0)) {
    throw fail(`tail must be a positive number or null, got ${pyRepr(tail)}`);
  }
  const missing = [...thresholds.keys()].filter((label) => !references.has(label)).sort();
  if (missing.length) {
    throw fail(`labels ${JSON.stringify(missing)} have a threshold but no references`);
  }
  return new RejectionRule({
    center,
    scale,
    references,
    thresholds,
    unknown,
    falseReject: Number(stored.false_reject ?? NaN),
    windows: Number(stored.windows ?? 0),
    cap,
    descriptor,
  });
}

// ------------------------------------------------------------------ decisions
/** `DecisionOptions` with Python's defaults. */
export function decisionOptions(options = {}) {
  return { ...DECISION_DEFAULTS, ...options };
}

/** Python's `DecisionOptions()` defaults (checked against tests/vectors/defaults.json). */
export const DECISION_DEFAULTS = Object.freeze({
  smoothing: "ema", ema_alpha: 1.0, majority_frames: 5, threshold: null, min_frames: 3,
  evidence: 1.0, cooldown: 0.5, reject_starts: false,
});

/** The decision threshold when neither the options nor the model name one (Python's
 * `DEFAULT_THRESHOLD`). */
export const DEFAULT_THRESHOLD = 0.6;

/**
 * Rows of a gesture a window of `context` rows holds when it begins to answer it
 * (Python's `taught_rows`): half the window, or `onset` seconds of rows if less.
 */
export function taughtRows(context, fps, onset = null) {
  return onset === null ? context / 2 : Math.min(context / 2, onset * fps);
}

/**
 * Whether an answer over the last `context` rows may start a gesture (Python's
 * `settled`): it covers at least the rows a gesture fills before a `window`-row model
 * answers it, and the camera showed someone in every one of them. A stream's first
 * answers cover fewer (the rest is padding); a row that showed nobody is all zeros.
 *
 * @param {number} context rows the answer covers.
 * @param {number} window the model's window, rows.
 * @param {number} fps the model's rate.
 * @param {number|null} [onset] the model's onset, seconds.
 * @param {number|null} [seen] rows in a row, up to the answer's last, that showed
 *     someone (`StreamingFeaturizer.rowsSeen`); null: all.
 * @returns {boolean}
 */
export function settled(context, window, fps, onset = null, seen = null) {
  return context >= taughtRows(window, fps, onset) && (seen === null || seen >= context);
}

/**
 * Where a gesture is placed by an answer over the last `context` rows up to `now`
 * (Python's `answer_times`): a window answers a gesture once it holds h of its rows
 * (h = context / 2, or `onset` seconds of rows if that is less) and lets go when it
 * holds fewer than h of its last rows; a model's `placement` measures both per class.
 *
 * @param {number} now the newest row's time, seconds.
 * @param {number} context rows the answer covers (the stepper's `context`).
 * @param {number} fps the model's row rate.
 * @param {number|null} [onset] the model's `onset`, seconds, or null (half the context).
 * @param {Array<number[]>|null} [placement] per class [start hold, end hold] seconds
 *     (`placementTable`; NaN: by `onset`), or null.
 * @returns {Array} [start, end]: where a gesture starting on this answer starts, and
 *     where one ending on it ends, seconds (`Decider.push`'s `at` and `endAt`); with
 *     `placement`, arrays of them, one per class.
 */
export function answerTimes(now, context, fps, onset = null, placement = null) {
  const rows = taughtRows(context, fps, onset);
  if (placement === null) {
    return [now - (rows - 0.5) / fps, now - (context - rows - 0.5) / fps];
  }
  const held = (h) => (Number.isNaN(h) ? rows : Math.min(h * fps, context));
  return [
    placement.map(([on]) => now - (held(on) - 0.5) / fps),
    placement.map(([, off]) => now - (context - held(off) - 0.5) / fps),
  ];
}

/**
 * Per class, in `classes` order, [start hold, end hold] seconds of a model's
 * `placement` (Python's `placement_table`); [NaN, NaN] for classes it does not name.
 *
 * @param {object|null} placement label -> [start hold, end hold], or null.
 * @param {string[]} classes the model's labels.
 * @returns {Array<number[]>|null}
 */
export function placementTable(placement, classes) {
  if (placement === null) return null;
  return classes.map((c) => (Object.hasOwn(placement, c) ? placement[c] : [NaN, NaN]));
}

function checkPlacement(placement, classes, background) {
  if (placement === null) return null;
  if (typeof placement !== "object" || Array.isArray(placement)) {
    throw new ModelFormatError(
      `invalid poseact metadata: 'placement' must be null or an object: ${pyRepr(placement)}`,
    );
  }
  for (const [label, holds] of Object.entries(placement)) {
    if (!classes.includes(label) || label === background) {
      throw new ModelFormatError(
        `invalid poseact metadata: 'placement' names ${pyRepr(label)}, which is not a gesture class`,
      );
    }
    const ok = Array.isArray(holds) && holds.length === 2
      && holds.every((h) => typeof h === "number" && h > 0 && h < 3600);
    if (!ok) {
      throw new ModelFormatError(
        `invalid poseact metadata: 'placement' of ${pyRepr(label)} must be two positive seconds`,
      );
    }
  }
  return placement;
}

/**
 * Probabilities per row in, gesture events out (port of Python's `Decider`): EMA or
 * majority smoothing, threshold, background class ignored, `min_frames` hysteresis,
 * a per-label cooldown and the model's rejection rule.
 *
 * Events are `{label, start, end, confidence}`; `end` is null when a gesture starts.
 * `start` and `end` are placed at `at` and `endAt`, among the frames the classifier
 * saw (`answerTimes`, Python's `GestureEvent`), not at the moment the event is reported.
 *
 * With a `RejectionRule` and `options.reject_starts` (Python's
 * `DecisionOptions.reject_starts`; else the rule is not used), a smoothed best label
 * whose window lies beyond its class's
 * threshold (its entry of the `ratios` given to `push` above 1) is shown as
 * `rejection.unknown` and never starts an event; the rule judges starts only (an event
 * going on lasts while the network answers it), and a start it let through late is
 * placed where the network's answer began.
 */
export class Decider {
  /**
   * @param {string[]} classes labels in probability order.
   * @param {string|null} [background] the "no gesture" label.
   * @param {object} [options] `DecisionOptions` (threshold null: the model's).
   * @param {RejectionRule|null} [rejection] the model's rule.
   * @param {number|null} [threshold] the model's stored threshold, used when
   *     `options.threshold` is null (null: `DEFAULT_THRESHOLD`).
   */
  constructor(classes, background = null, options = {}, rejection = null, threshold = null) {
    this.classes = classes;
    this.background = background;
    this.options = decisionOptions(options);
    // the rule judges starts only when asked (Python's DecisionOptions.reject_starts)
    this.rejection = this.options.reject_starts ? rejection : null;
    this.threshold = this.options.threshold ?? threshold ?? DEFAULT_THRESHOLD;
    this.reset();
  }

  reset() {
    this.smoothed = null;
    this.votes = [];
    this.recent = [];
    this.candidate = undefined; // no change pending (null is one: "no gesture")
    this.candidateCount = 0;
    this.candidateEvidence = 0;
    this.candidateStart = 0;
    this.candidateEnd = 0;
    this.answer = null;
    this.answerStart = 0;
    this.current = null;
    this.currentStart = 0;
    this.currentPeak = 0;
    this.lastEnd = new Map();
    this.label = null;
    this.confidence = 0;
    this.probabilities = new Float64Array(this.classes.length);
  }

  smooth(probs) {
    const opts = this.options;
    if (opts.smoothing === "ema") {
      if (this.smoothed === null) {
        this.smoothed = Float64Array.from(probs);
      } else {
        const a = opts.ema_alpha;
        for (let i = 0; i < probs.length; i++) {
          this.smoothed[i] = a * probs[i] + (1 - a) * this.smoothed[i];
        }
      }
      this.probabilities = this.smoothed;
      const best = argmax(this.smoothed);
      return [best, this.smoothed[best]];
    }
    this.votes.push(argmax(probs));
    this.recent.push(Float64Array.from(probs));
    if (this.votes.length > opts.majority_frames) {
      this.votes.shift();
      this.recent.shift();
    }
    const counts = new Array(probs.length).fill(0);
    for (const v of this.votes) counts[v] += 1;
    const best = argmax(counts);
    const mean = new Float64Array(probs.length);
    for (const r of this.recent) for (let i = 0; i < mean.length; i++) mean[i] += r[i];
    for (let i = 0; i < mean.length; i++) mean[i] /= this.recent.length;
    this.probabilities = mean;
    return [best, mean[best]];
  }

  /**
   * One row's probabilities (Python's `Decider.update`).
   *
   * @param {ArrayLike<number>} probs (C) from the stepper.
   * @param {number} now the camera frame's timestamp, seconds (the cooldown counts in it).
   * @param {number|ArrayLike<number>|null} [at] the time the answer is about: where a
   *     gesture that begins on it began, seconds (`answerTimes`), or one per class (a
   *     model's `placement`). Default `now`.
   * @param {ArrayLike<number>|null} [ratios] (C) `RejectionRule.ratios` of the current
   *     window (distance / threshold per class), or null: nothing is rejected.
   * @param {number|ArrayLike<number>|null} [endAt] where a gesture that ends on this
   *     answer ended, seconds (`answerTimes`), or one per class. Default `at`.
   * @param {boolean} [mayStart] false when the answer cannot start a gesture (`settled`).
   * @param {number|null} [resumedAfter] on a stream's first answer after a gap longer
   *     than a window (`StreamingFeaturizer.breaks`), the last frame's time before it:
   *     a gesture going on ended there, and the answer starts a new stream (`restart`).
   * @param {boolean} [shown] false when the answer's newest row showed nobody
   *     (`StreamingFeaturizer.rowsSeen`): a gesture going on ends, nothing starts.
   * @returns {object[]} the events this row completed or began.
   */
  push(probs, now, at = now, ratios = null, endAt = null, mayStart = true, resumedAfter = null, shown = true) {
    const restarted = resumedAfter === null || resumedAfter === undefined ? [] : this.restart(resumedAfter);
    return restarted.concat(this.update(probs, now, at, ratios, endAt, mayStart, shown));
  }

  /**
   * End the stream at `at` seconds (`finish`) and start a new one (`reset`); Python's
   * `Decider.restart`.
   *
   * @param {number} at seconds.
   * @returns {object[]} the events that closes.
   */
  restart(at) {
    const events = this.finish(at);
    this.reset();
    return events;
  }

  /** `push` without a restart (Python's `Decider._update`); arguments as `push`. */
  update(probs, now, at, ratios, endAt, mayStart, shown = true) {
    const [best, confidence] = this.smooth(probs);
    const ratio = ratios === null || ratios === undefined ? 0 : Number(ratios[best]);
    at = at ?? now;
    endAt = endAt ?? at;
    // a start is placed by the answered class, an end by the class going on
    const ending = this.current !== null ? this.classes.indexOf(this.current) : best;
    const of = (times, i) => (Array.isArray(times) || ArrayBuffer.isView(times) ? Number(times[i]) : times);
    return this.decide(
      this.classes[best], confidence, ratio, now, of(at, best), of(endAt, ending), mayStart, shown,
    );
  }

  /**
   * The decision for one row's smoothed best label (Python's `Decider._decide`).
   *
   * @param {string} label the smoothed best label.
   * @param {number} confidence its smoothed probability.
   * @param {number} ratio its window's distance / threshold (0: not rejected).
   * @param {number} now when the answer is given, seconds.
   * @param {number} [at] where a gesture beginning on this answer began, seconds.
   *     Default `now`.
   * @param {number} [endAt] where a gesture ending on it ended, seconds. Default `at`.
   * @param {boolean} [mayStart] false when the answer cannot start a gesture.
   * @param {boolean} [shown] false when its newest row showed nobody: nothing goes on.
   * @returns {object[]} the events this row completed or began.
   */
  decide(label, confidence, ratio, now, at = now, endAt = at, mayStart = true, shown = true) {
    const opts = this.options;
    // a gesture starts above the threshold and lasts while it is the best label,
    // both only while someone is in view
    const goingOn = this.current !== null && label === this.current;
    const started = confidence >= this.threshold && mayStart;
    let accepted = shown && (started || goingOn) ? label : null;
    const judged = accepted !== this.background;
    if (!judged) accepted = null;
    if (accepted !== this.answer) {
      // the network's answer, before the rule
      this.answer = accepted;
      this.answerStart = at;
    }
    if (
      judged &&
      this.rejection !== null &&
      label !== this.current && // the rule judges a start; the network, the rest
      !this.rejection.accepts(label, ratio)
    ) {
      label = this.rejection.unknown;
      accepted = null;
    }
    this.label = label;
    this.confidence = confidence;
    const events = [];
    if (accepted === this.current) {
      this.candidate = undefined;
      this.candidateCount = 0;
      if (accepted !== null) this.currentPeak = Math.max(this.currentPeak, confidence);
      return events;
    }
    if (accepted !== this.candidate) {
      this.candidate = accepted;
      this.candidateCount = 0;
      this.candidateEvidence = 0;
      this.candidateStart = at;
      this.candidateEnd = endAt;
      if (this.rejection !== null && accepted !== null && accepted === this.answer) {
        // the rule let the network's answer through late: it began where that answer did
        this.candidateStart = this.answerStart;
      }
    }
    this.candidateCount += 1;
    // a start gathers evidence (the confidence's excess over the threshold); an end needs none
    if (accepted !== null) this.candidateEvidence += confidence - this.threshold;
    if (this.candidateCount < opts.min_frames) return events;
    if (accepted !== null && this.candidateEvidence < opts.evidence) return events;
    if (this.current !== null) {
      // The gesture ended where the change began, so consecutive events never overlap.
      const end = Math.max(this.candidateEnd, this.currentStart);
      events.push({ label: this.current, start: this.currentStart, end, confidence: this.currentPeak });
      this.lastEnd.set(this.current, now);
    }
    this.current = null;
    if (accepted !== null) {
      const last = this.lastEnd.get(accepted);
      if (last !== undefined && now - last < opts.cooldown) return events;
      this.current = accepted;
      this.currentStart = this.candidateStart;
      this.currentPeak = confidence;
      events.push({ label: accepted, start: this.candidateStart, end: null, confidence });
    }
    this.candidate = undefined;
    this.candidateCount = 0;
    return events;
  }

  /**
   * End the stream at `now` seconds: closes a gesture still going on.
   *
   * @returns {object[]} the closing event, if a gesture was going on.
   */
  finish(now) {
    if (this.current === null) return [];
    const event = { label: this.current, start: this.currentStart, end: now, confidence: this.currentPeak };
    this.lastEnd.set(this.current, now);
    this.current = null;
    return [event];
  }
}

/**
 * Live recognition: landmarks per camera frame in, gesture events out (port of
 * Python's `StreamingRecognizer.push`).
 */
export class StreamingRecognizer {
  constructor(model, stepper, options = {}) {
    this.model = model;
    this.featurizer = new StreamingFeaturizer(model.spec);
    this.stepper = stepper;
    this.decider = new Decider(
      model.classes, model.background, options, model.rejection ?? null, model.threshold ?? null,
    );
    this.placement = placementTable(model.placement ?? null, model.classes);
    this.resumedAfter = null; // a restart not yet handed on to the decider
    this.seenRun = 0; // rows in a row, up to the last, that showed someone
    // the rule judges starts only when asked (options.reject_starts): null otherwise
    this.rejection = this.decider.rejection;
    // the rejection rule looks at the last W rows, whichever stepper answers: those the
    // window re-run keeps already, else a window of its own
    this.window = null;
    this.ownWindow = false;
    if (this.rejection !== null) {
      if (stepper.rows instanceof RowWindow) {
        this.window = stepper.rows;
      } else {
        this.window = new RowWindow(model.spec.window);
        this.ownWindow = true;
      }
    }
  }

  static async create(model, options = {}) {
    return new StreamingRecognizer(model, await model.stepper(), options);
  }

  reset() {
    this.resumedAfter = null; // a restart not yet handed on to the decider
    this.seenRun = 0; // rows in a row, up to the last, that showed someone
    this.featurizer.reset();
    this.stepper.reset();
    this.decider.reset();
    if (this.ownWindow) this.window.reset();
  }

  get label() {
    return this.decider.label;
  }

  get confidence() {
    return this.decider.confidence;
  }

  get current() {
    return this.decider.current;
  }

  /**
   * Feed one camera frame's landmarks.
   *
   * @returns {Promise<{rows: Float32Array[], probs: Float32Array[], ats: number[],
   *     endAts: number[], mayStarts: boolean[], ratios: (Float64Array|null)[],
   *     events: object[]}>} the feature rows, the stepper's probabilities per row,
   *     where each answer places a gesture's start and end (`answerTimes`), whether it
   *     may start one (`settled`), the rejection rule's distance / threshold per class
   *     of each answer's window (null without a rule), and the events.
   */
  async push(timestamp, landmarks, visibility, imageSize = null) {
    const before = this.featurizer.breaks(Number(timestamp)) ? this.featurizer.tPrev : null;
    const rows = this.featurizer.push(timestamp, landmarks, visibility, imageSize);
    if (before !== null || this.featurizer.restarted) {
      // the featurizer started over (a gap longer than a window, or someone back in
      // view after rows that showed nobody): so does the rest
      this.stepper.reset();
      if (this.ownWindow) this.window.reset();
      if (this.resumedAfter === null) this.resumedAfter = before;
    }
    const probs = [];
    const ats = [];
    const endAts = [];
    const mayStarts = [];
    const ratios = [];
    const events = [];
    const now = Number(timestamp);
    for (const [n, row] of rows.entries()) {
      const shown = Boolean(this.featurizer.rowsSeen[n]);
      this.seenRun = shown ? this.seenRun + 1 : 0;
      const p = await this.stepper.step(row);
      if (p === null) continue;
      probs.push(p);
      let r = null;
      if (this.window !== null) {
        if (this.ownWindow) this.window.push(row);
        r = this.rejection.ratios(this.window.window(), this.model.classes);
      }
      ratios.push(r);
      // the answer is about the rows the classifier saw: events go among them
      const { context } = this.stepper;
      const { fps, window } = this.model.spec;
      const onset = this.model.onset ?? null;
      const [at, endAt] = answerTimes(now, context, fps, onset, this.placement);
      ats.push(at);
      endAts.push(endAt);
      const mayStart = settled(context, window, fps, onset, this.seenRun);
      mayStarts.push(mayStart);
      events.push(...this.decider.push(p, now, at, r, endAt, mayStart, this.resumedAfter, shown));
      this.resumedAfter = null;
    }
    return { rows, probs, ats, endAts, mayStarts, ratios, events };
  }
}

// ------------------------------------------------------------------ several people
/** Points at least this visible are compared (port of `core.tracking._SEEN`). */
const TRACK_SEEN = 0.5;
const TRACK_FORBIDDEN = 1e6;

/** `TrackerOptions` defaults (port of Python's `poseact.core.tracking.TrackerOptions`). */
export const TRACKER_DEFAULTS = Object.freeze({
  max_distance: 2.0,
  max_missing: 1.0,
  position_noise: 4.0,
  measurement_noise: 0.05,
});

/**
 * The pairing of rows with columns of least total cost (Hungarian method; port of
 * Python's `poseact.core.tracking.linear_assignment`).
 *
 * @param {number[][]} cost (n, m) finite costs.
 * @returns {number[][]} min(n, m) [row, column] pairs, by row.
 */
export function linearAssignment(cost) {
  if (!cost.length || !cost[0].length) return [];
  const transposed = cost.length > cost[0].length;
  const a = transposed ? cost[0].map((_, j) => cost.map((row) => row[j])) : cost;
  const n = a.length;
  const m = a[0].length;
  const u = new Float64Array(n + 1);
  const v = new Float64Array(m + 1);
  const p = new Int32Array(m + 1); // p[j]: the row (1-based) matched to column j
  const way = new Int32Array(m + 1);
  for (let i = 1; i <= n; i++) {
    p[0] = i;
    let j0 = 0;
    const minv = new Float64Array(m + 1).fill(Infinity);
    const used = new Uint8Array(m + 1);
    for (;;) {
      used[j0] = 1;
      const i0 = p[j0];
      let delta = Infinity;
      let j1 = 0;
      for (let j = 1; j <= m; j++) {
        if (used[j]) continue;
        const current = a[i0 - 1][j - 1] - u[i0] - v[j];
        if (current < minv[j]) {
          minv[j] = current;
          way[j] = j0;
        }
        if (minv[j] < delta) {
          delta = minv[j];
          j1 = j;
        }
      }
      for (let j = 0; j <= m; j++) {
        if (used[j]) {
          u[p[j]] += delta;
          v[j] -= delta;
        } else {
          minv[j] -= delta;
        }
      }
      j0 = j1;
      if (p[j0] === 0) break;
    }
    while (j0) {
      const j1 = way[j0];
      p[j0] = p[j1];
      j0 = j1;
    }
  }
  let pairs = [];
  for (let j = 1; j <= m; j++) if (p[j]) pairs.push([p[j] - 1, j - 1]);
  if (transposed) pairs = pairs.map(([r, c]) => [c, r]);
  return pairs.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
}

/** The mean of the found (x, y) points and their RMS spread around it (>= 0.02). */
function centreSize(points) {
  let cx = 0;
  let cy = 0;
  let n = 0;
  for (const [x, y] of points) {
    if (Number.isNaN(x)) continue;
    cx += x;
    cy += y;
    n += 1;
  }
  cx /= n;
  cy /= n;
  let spread = 0;
  for (const [x, y] of points) {
    if (!Number.isNaN(x)) spread += (x - cx) ** 2 + (y - cy) ** 2;
  }
  return [[cx, cy], Math.max(Math.sqrt(spread / n), 0.02)];
}

const matmul = (a, b) =>
  a.map((row) => b[0].map((_, j) => row.reduce((sum, x, k) => sum + x * b[k][j], 0)));
const transpose = (a) => a[0].map((_, j) => a.map((row) => row[j]));

/**
 * Links each frame's detections into tracks with stable ids (port of Python's
 * `poseact.core.tracking.Tracker`: a constant-velocity Kalman filter on each track's
 * centre, landmark distance in body sizes, the Hungarian method; the same ids on the
 * same detections, checked on shared vectors).
 */
/** The points people are linked by in a layout definition (Python's
 * `tracked_points`): its body parts' points when it has a body and other parts, else
 * null (all). */
export function trackedPoints(layout) {
  const body = layout.parts.filter((part) => part.kind === "body");
  if (!body.length || body.length === layout.parts.length) return null;
  return [...new Set(body.flatMap((part) => part.indices))].sort((a, b) => a - b);
}

export class Tracker {
  /**
   * @param {object} options TrackerOptions (TRACKER_DEFAULTS).
   * @param {number[]|null} points the indices of the points people are linked by
   *     (`trackedPoints` of the layout); null: all.
   */
  constructor(options = {}, points = null) {
    this.options = { ...TRACKER_DEFAULTS, ...options };
    this.points = points;
    this.reset();
  }

  /** Forget every track; ids count from 0 again. */
  reset() {
    this.tracks = [];
    this.nextId = 0;
    this.lastT = null;
  }

  /** The ids of the tracks going on, oldest first. */
  get ids() {
    return this.tracks.map((track) => track.id);
  }

  /**
   * Link one frame's detections to the tracks.
   *
   * @param {number} timestamp seconds, increasing.
   * @param {ArrayLike<number>[]} landmarks N people's (K*3) normalized coordinates, NaN
   *     where not found.
   * @param {ArrayLike<number>[]} visibility N people's (K) visibility.
   * @param {number[]|null} imageSize [width, height] in pixels, or null (square).
   * @returns {{ids: number[], ended: number[][]}} each detection's track id, and the
   *     [id, last seen seconds] of the tracks that ended.
   */
  update(timestamp, landmarks, visibility, imageSize = null) {
    const t = Number(timestamp);
    if (!Number.isFinite(t) || (this.lastT !== null && t <= this.lastT)) {
      throw new Error(`tracker timestamps must be finite and increasing, got ${timestamp} after ${this.lastT}`);
    }
    const dt = this.lastT === null ? 0 : t - this.lastT;
    this.lastT = t;
    const aspect = imageSize === null ? 1 : imageSize[0] / imageSize[1];
    const n = landmarks.length;
    const points = [];
    const keep = [];
    const only = this.points;
    for (let i = 0; i < n; i++) {
      const lm = only === null ? landmarks[i] : only.flatMap((j) => [0, 1, 2].map((c) => landmarks[i][j * 3 + c]));
      const vis = only === null ? visibility[i] : only.map((j) => visibility[i][j]);
      const k = vis.length;
      let seenCount = 0;
      for (let j = 0; j < k; j++) if (vis[j] >= TRACK_SEEN) seenCount += 1;
      const person = [];
      let any = false;
      for (let j = 0; j < k; j++) {
        const use = seenCount >= 3 ? vis[j] >= TRACK_SEEN : vis[j] > 0;
        const x = lm[j * 3] * aspect;
        const y = lm[j * 3 + 1];
        if (use && !Number.isNaN(x) && !Number.isNaN(y)) {
          person.push([x, y]);
          any = true;
        } else {
          person.push([NaN, NaN]);
        }
      }
      points.push(person);
      keep.push(any);
    }
    for (const track of this.tracks) this.predict(track, dt);
    const ids = new Array(n).fill(-1);
    const centres = [];
    const sizes = [];
    for (let i = 0; i < n; i++) {
      if (keep[i]) {
        const [centre, size] = centreSize(points[i]);
        centres.push(centre);
        sizes.push(size);
      } else {
        centres.push([NaN, NaN]);
        sizes.push(0);
      }
    }
    const rows = [];
    for (let i = 0; i < n; i++) if (keep[i]) rows.push(i);
    if (this.tracks.length && rows.length) {
      const gate = this.options.max_distance;
      const cost = rows.map((i) => this.tracks.map((track) => this.distance(track, points[i], centres[i])));
      const gated = cost.map((row) => row.map((c) => (c <= gate ? c : TRACK_FORBIDDEN)));
      for (const [r, c] of linearAssignment(gated)) {
        if (cost[r][c] <= gate) {
          const track = this.tracks[c];
          const i = rows[r];
          this.correct(track, t, points[i], centres[i], sizes[i]);
          ids[i] = track.id;
        }
      }
    }
    // new people, left to right, so that ids are in a reproducible order
    const fresh = rows.filter((i) => ids[i] < 0);
    fresh.sort((a, b) => centres[a][0] - centres[b][0] || centres[a][1] - centres[b][1] || a - b);
    for (const i of fresh) {
      const size = sizes[i];
      const noise = this.options.measurement_noise;
      this.tracks.push({
        id: this.nextId,
        state: [centres[i][0], centres[i][1], 0, 0],
        cov: [
          [noise ** 2 * size ** 2, 0, 0, 0],
          [0, noise ** 2 * size ** 2, 0, 0],
          [0, 0, size ** 2, 0],
          [0, 0, 0, size ** 2],
        ],
        points: points[i],
        centre: centres[i],
        size,
        first: t,
        last: t,
      });
      ids[i] = this.nextId;
      this.nextId += 1;
    }
    const ended = this.tracks
      .filter((track) => t - track.last > this.options.max_missing)
      .map((track) => [track.id, track.last]);
    if (ended.length) {
      const gone = new Set(ended.map(([id]) => id));
      this.tracks = this.tracks.filter((track) => !gone.has(track.id));
    }
    return { ids, ended };
  }

  /** End every track; returns [id, last seen seconds] of those going on. */
  finish() {
    const ended = this.tracks.map((track) => [track.id, track.last]);
    this.tracks = [];
    return ended;
  }

  predict(track, dt) {
    if (dt <= 0) return;
    const f = [
      [1, 0, dt, 0],
      [0, 1, 0, dt],
      [0, 0, 1, 0],
      [0, 0, 0, 1],
    ];
    const q = (this.options.position_noise * track.size) ** 2;
    const g = [(dt * dt) / 2, dt];
    const noise = [0, 1, 2, 3].map(() => [0, 0, 0, 0]);
    for (const [a, b] of [[0, 2], [1, 3]]) {
      const idx = [a, b];
      for (let r = 0; r < 2; r++) for (let c = 0; c < 2; c++) noise[idx[r]][idx[c]] = q * g[r] * g[c];
    }
    track.state = f.map((row) => row.reduce((sum, x, k) => sum + x * track.state[k], 0));
    const moved = matmul(matmul(f, track.cov), transpose(f));
    track.cov = moved.map((row, r) => row.map((x, c) => x + noise[r][c]));
  }

  correct(track, t, points, centre, size) {
    const r = (this.options.measurement_noise * track.size) ** 2;
    const cov = track.cov;
    const s = [
      [cov[0][0] + r, cov[0][1]],
      [cov[1][0], cov[1][1] + r],
    ];
    const det = s[0][0] * s[1][1] - s[0][1] * s[1][0];
    const inv = [
      [s[1][1] / det, -s[0][1] / det],
      [-s[1][0] / det, s[0][0] / det],
    ];
    const gain = matmul(cov.map((row) => [row[0], row[1]]), inv); // (4, 2)
    const innovation = [centre[0] - track.state[0], centre[1] - track.state[1]];
    track.state = track.state.map((x, i) => x + gain[i][0] * innovation[0] + gain[i][1] * innovation[1]);
    const kh = gain.map((row) => [row[0], row[1], 0, 0]);
    const left = kh.map((row, i) => row.map((x, j) => (i === j ? 1 : 0) - x));
    track.cov = matmul(left, cov);
    track.points = points;
    track.centre = centre;
    track.size = size;
    track.last = t;
  }

  distance(track, points, centre) {
    const dx = track.state[0] - track.centre[0];
    const dy = track.state[1] - track.centre[1];
    let sum = 0;
    let count = 0;
    for (let j = 0; j < points.length; j++) {
      const [tx, ty] = track.points[j];
      const [x, y] = points[j];
      if (Number.isNaN(tx) || Number.isNaN(x)) continue;
      sum += Math.hypot(tx + dx - x, ty + dy - y);
      count += 1;
    }
    const distance = count
      ? sum / count
      : Math.hypot(track.state[0] - centre[0], track.state[1] - centre[1]);
    return distance / track.size;
  }
}

/**
 * Several people in, each person's gesture events out (port of Python's
 * `poseact.runtime.people.PeopleRecognizer`): one `StreamingRecognizer` per track,
 * events tagged with the track id (`person`), a track that ends closes its gesture
 * at the time the person was last seen; its recognizer is reset and reused.
 */
export class PeopleRecognizer {
  constructor(model, options = {}, tracker = {}) {
    this.model = model;
    this.options = options;
    this.tracker = new Tracker(tracker, trackedPoints(model.spec.layoutDefinition));
    this.active = new Map(); // person -> StreamingRecognizer
    this.gestures = new Map(); // person -> label of the gesture going on, or null
    this.idle = [];
    this.people = [];
  }

  /** Start a new stream: no tracks, ids from 0. */
  reset() {
    this.tracker.reset();
    for (const recognizer of this.active.values()) {
      recognizer.reset();
      this.idle.push(recognizer);
    }
    this.active.clear();
    this.gestures.clear();
    this.people = [];
  }

  /**
   * Feed one frame's people.
   *
   * @param {number} timestamp seconds, increasing.
   * @param {Float64Array[]} landmarks N people's (K*3) landmarks.
   * @param {Float64Array[]} visibility N people's (K) visibility.
   * @param {number[]|null} imageSize [width, height].
   * @returns {Promise<{events: object[], people: object[], ids: number[], rows: number, probs: number}>}
   *     the events begun or ended (each with `person`), each person's state (person,
   *     label, confidence, current gesture, landmarks, visibility, seen), the track id
   *     of each of the N people given (-1: none), and the rows and answers computed
   *     over everyone.
   */
  async push(timestamp, landmarks, visibility, imageSize = null) {
    const t = Number(timestamp);
    const update = this.tracker.update(t, landmarks, visibility, imageSize);
    const events = [];
    for (const [person, lastSeen] of update.ended) events.push(...this.end(person, lastSeen));
    const k = this.model.spec.numPoints;
    const found = new Map();
    update.ids.forEach((person, n) => {
      if (person >= 0) found.set(person, n);
    });
    const everyone = [...new Set([...found.keys(), ...this.active.keys()])].sort((a, b) => a - b);
    const people = [];
    let rows = 0;
    let probs = 0;
    for (const person of everyone) {
      let recognizer = this.active.get(person);
      if (recognizer === undefined) {
        recognizer = this.idle.pop() ?? (await StreamingRecognizer.create(this.model, this.options));
        this.active.set(person, recognizer);
        this.gestures.set(person, null);
      }
      const n = found.get(person);
      const points = n === undefined ? new Float64Array(k * 3).fill(NaN) : landmarks[n];
      const seen = n === undefined ? new Float64Array(k) : visibility[n];
      const result = await recognizer.push(t, points, seen, imageSize);
      rows += result.rows.length;
      probs += result.probs.length;
      for (const event of result.events) {
        this.gestures.set(person, event.end === null ? event.label : null);
        events.push({ ...event, person });
      }
      people.push({
        person,
        label: recognizer.label,
        confidence: recognizer.confidence,
        gesture: this.gestures.get(person),
        landmarks: points,
        visibility: seen,
        seen: n !== undefined,
      });
    }
    this.people = people;
    return { events, people, ids: Array.from(update.ids), rows, probs };
  }

  /** End the stream at `timestamp`: closes every gesture going on. */
  finish(timestamp) {
    this.tracker.finish();
    const events = [];
    for (const person of [...this.active.keys()].sort((a, b) => a - b)) {
      events.push(...this.end(person, Number(timestamp)));
    }
    this.people = [];
    return events;
  }

  end(person, when) {
    const recognizer = this.active.get(person);
    this.active.delete(person);
    this.gestures.delete(person);
    if (recognizer === undefined) return [];
    const events = recognizer.decider
      .finish(when)
      .map((e) => ({ ...e, person, end: Math.max(e.end, e.start) }));
    recognizer.reset();
    this.idle.push(recognizer);
    return events;
  }
}

// Port of poseact/extract/people.py (`PoseFollowers`): MediaPipe's PoseLandmarker in
// VIDEO mode does not follow several people, so a finder (IMAGE mode, numPoses N)
// looks for people while fewer than N are followed, and each person found gets a
// follower, a VIDEO-mode PoseLandmarker with numPoses 1 that sees only its person's
// share of the frame (every part nearer another person followed blacked out, and the
// others' head and trunk).
const FOLLOW_MARGIN = 0.25;
const FOLLOW_TRUNK = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 23, 24];
const FOLLOW_GHOST_FRAMES = 30;
const FOLLOW_SAME_PERSON = 0.35;
const FOLLOW_FRUITLESS_LOOKS = 10; // the finder looks half as often after this many finding nobody new
const FOLLOW_SLOWEST_FIND = 4; // ... down to every findEvery x this many frames

function imageSize(image) {
  if (image.videoWidth) return [image.videoWidth, image.videoHeight];
  if (image.displayWidth) return [image.displayWidth, image.displayHeight];
  return [image.width, image.height];
}

const bodyPixels = (points, [w, h]) => points.map((p) => [p.x * w, p.y * h]);

function meanDistance(a, b) {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.hypot(a[i][0] - b[i][0], a[i][1] - b[i][1]);
  return sum / a.length;
}

/** True when two bodies' points lie on one another (within 0.35 of two shoulder widths). */
function sameBody(a, b) {
  const size = Math.max(2 * Math.hypot(a[11][0] - a[12][0], a[11][1] - a[12][1]), 1);
  return meanDistance(a, b) < FOLLOW_SAME_PERSON * size;
}

const boxesOverlap = (a, b) => a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3];

function growBox([x0, y0, x1, y1], margin) {
  const dx = margin * (x1 - x0);
  const dy = margin * (y1 - y0);
  return [x0 - dx, y0 - dy, x1 + dx, y1 + dy];
}

function span(low, high, limit) {
  const clamp = (v) => Math.min(Math.max(Math.round(v), 0), limit);
  return [clamp(low), clamp(high)];
}

/** Squared distance from v to the span [low, high] (0 inside). */
function spanDistance(low, high, v) {
  const d = Math.max(low - v, v - high, 0);
  return d * d;
}

/** The pixels nearer another person's box than this person's (Python's
 * `_nearer_others`: "nearer the other" is gapX[x] < gapY[y] for each other box), as
 * [x, y, width, height] rectangles: runs of each row, rows with the same runs joined. */
export function nearerOthers(own, others, [w, h]) {
  const gapsX = others.map((box) =>
    Float64Array.from({ length: w }, (_, x) => spanDistance(box[0], box[2], x + 0.5) - spanDistance(own[0], own[2], x + 0.5)));
  const rects = [];
  let open = []; // rectangles still growing downwards, one per run of the last row
  for (let y = 0; y < h; y++) {
    const gapsY = others.map((box) => spanDistance(own[1], own[3], y + 0.5) - spanDistance(box[1], box[3], y + 0.5));
    const runs = [];
    let start = -1;
    for (let x = 0; x <= w; x++) {
      let near = false;
      for (let i = 0; x < w && i < others.length && !near; i++) near = gapsX[i][x] < gapsY[i];
      if (near && start < 0) start = x;
      if (!near && start >= 0) {
        runs.push([start, x]);
        start = -1;
      }
    }
    const same = runs.length === open.length && runs.every(([a, b], i) => open[i][0] === a && open[i][2] === b - a);
    if (same) {
      for (const rect of open) rect[3] += 1;
    } else {
      rects.push(...open);
      open = runs.map(([a, b]) => [a, y, b - a, 1]);
    }
  }
  return rects.concat(open);
}

/** Up to N people per frame, each followed by its own VIDEO-mode PoseLandmarker. */
export class PoseFollowers {
  /**
   * @param {object} finder a PoseLandmarker in IMAGE mode with numPoses N.
   * @param {object[]} followers N PoseLandmarkers in VIDEO mode with numPoses 1.
   * @param {number} findEvery look for new people every this many frames while fewer
   *     than N are followed (the first frame always).
   */
  constructor(finder, followers, findEvery = 5) {
    this.finder = finder;
    this.free = followers.map((landmarker) => ({
      landmarker, pixels: null, core: null, velocity: [0, 0], age: 0, lastMs: -1,
    }));
    this.busy = [];
    this.ghosts = []; // {box, velocity, frames} of people lost
    this.findEvery = findEvery;
    this.frame = 0;
    this.fruitless = 0; // the finder's looks in a row that found nobody new
    this.canvas = null;
  }

  /** The bodies of one frame: a list of MediaPipe landmark lists (33 points each). */
  detect(image, ms) {
    const size = imageSize(image);
    for (const ghost of this.ghosts) {
      const [vx, vy] = ghost.velocity;
      ghost.box = [ghost.box[0] + vx, ghost.box[1] + vy, ghost.box[2] + vx, ghost.box[3] + vy];
      ghost.frames -= 1;
    }
    this.ghosts = this.ghosts.filter((ghost) => ghost.frames > 0);
    const moves = [];
    const followed = this.busy.length;
    for (const follower of [...this.busy]) {
      const before = follower.pixels;
      const previous = [follower.core, follower.velocity];
      const points = this.follow(follower, image, ms, size);
      if (points === null) {
        this.ghosts.push({ box: follower.core, velocity: follower.velocity, frames: FOLLOW_GHOST_FRAMES });
        this.release(follower);
      } else {
        moves.push({ follower, points, jump: meanDistance(follower.pixels, before), previous });
      }
    }
    const bodies = this.merge(moves);
    if (bodies.length < followed) this.fruitless = 0; // someone was lost: look at once again
    const slower = Math.min(2 ** Math.floor(this.fruitless / FOLLOW_FRUITLESS_LOOKS), FOLLOW_SLOWEST_FIND);
    if (this.free.length && this.frame % (this.findEvery * slower) === 0) {
      const found = this.find(image, ms, bodies, size);
      this.fruitless = found.length ? 0 : this.fruitless + 1;
      bodies.push(...found);
    }
    this.frame += 1;
    return bodies.map((body) => body.points);
  }

  follow(follower, image, ms, size) {
    const result = follower.landmarker.detectForVideo(this.masked(follower, image, size), ms);
    follower.lastMs = ms;
    if (!result.landmarks.length) return null;
    const points = result.landmarks[0].map((p) => ({ ...p, visibility: p.visibility ?? 1.0 }));
    this.aim(follower, points, size);
    follower.age += 1;
    return points;
  }

  /** The frame with the other people followed blacked out (where they do not overlap
   * this one): every part nearer another person followed than this one, the others'
   * head and trunk grown, the places of people just lost; the frame itself when
   * nobody else is followed. */
  masked(follower, image, [w, h]) {
    const boxes = this.busy
      .filter((other) => other !== follower && other.core !== null)
      .map((other) => growBox(other.core, FOLLOW_MARGIN))
      .concat(this.ghosts.map((ghost) => growBox(ghost.box, FOLLOW_MARGIN)));
    if (!boxes.length) return image;
    if (this.canvas === null || this.canvas.width !== w || this.canvas.height !== h) {
      this.canvas = new OffscreenCanvas(w, h);
      this.context = this.canvas.getContext("2d", { willReadFrequently: true });
    }
    const ctx = this.context;
    ctx.drawImage(image, 0, 0, w, h);
    ctx.fillStyle = "#000";
    const others = this.busy.filter((other) => other !== follower && other.core !== null);
    if (follower.core !== null && others.length) {
      for (const [x, y, dx, dy] of nearerOthers(follower.core, others.map((o) => o.core), [w, h])) {
        ctx.fillRect(x, y, dx, dy);
      }
    }
    for (const [x0, y0, x1, y1] of boxes) {
      const [xa, xb] = span(x0, x1, w);
      const [ya, yb] = span(y0, y1, h);
      if (xb > xa && yb > ya) ctx.fillRect(xa, ya, xb - xa, yb - ya);
    }
    if (follower.core !== null) {
      const [xa, xb] = span(follower.core[0], follower.core[2], w);
      const [ya, yb] = span(follower.core[1], follower.core[3], h);
      if (xb > xa && yb > ya) ctx.drawImage(image, xa, ya, xb - xa, yb - ya, xa, ya, xb - xa, yb - ya);
    }
    return this.canvas;
  }

  find(image, ms, bodies, size) {
    const result = this.finder.detect(image);
    const found = [];
    const known = bodies.map((body) => body.follower.pixels);
    for (const landmarks of result.landmarks || []) {
      // a follower freed on this very frame has seen `ms` already: not before the next
      const ready = this.free.filter((f) => f.lastMs < ms);
      if (!ready.length) break;
      const points = landmarks.map((p) => ({ ...p, visibility: p.visibility ?? 1.0 }));
      const pixels = bodyPixels(points, size);
      if (known.some((other) => sameBody(pixels, other))) continue;
      const follower = ready[ready.length - 1];
      this.free.splice(this.free.indexOf(follower), 1);
      follower.age = 0;
      this.aim(follower, points, size);
      this.busy.push(follower);
      const body = this.follow(follower, image, ms, size);
      if (body === null || known.some((other) => sameBody(follower.pixels, other))) {
        this.release(follower);
        continue;
      }
      known.push(follower.pixels);
      found.push({ follower, points: body });
      this.ghosts = this.ghosts.filter((g) => !boxesOverlap(g.box, follower.core));
    }
    return found;
  }

  /** Two followers on one person: the one that moved least keeps them. */
  merge(moves) {
    const kept = [];
    for (const move of [...moves].sort((a, b) => a.jump - b.jump)) {
      if (kept.some((other) => sameBody(move.follower.pixels, other.follower.pixels))) {
        const [box, [vx, vy]] = move.previous;
        this.ghosts.push({
          box: [box[0] + vx, box[1] + vy, box[2] + vx, box[3] + vy],
          velocity: [vx, vy],
          frames: FOLLOW_GHOST_FRAMES,
        });
        this.release(move.follower);
      } else {
        kept.push(move);
      }
    }
    return moves.filter((move) => kept.includes(move));
  }

  /** Keep the person's landmarks and the box of their well-seen head and trunk. */
  aim(follower, points, size) {
    const pixels = bodyPixels(points, size);
    const inside = pixels.map(([x, y]) => x >= 0 && x <= size[0] && y >= 0 && y <= size[1]);
    let core = FOLLOW_TRUNK.filter((i) => points[i].visibility >= TRACK_SEEN && inside[i]);
    if (core.length < 3) core = FOLLOW_TRUNK.filter((i) => inside[i]);
    if (!core.length) core = FOLLOW_TRUNK;
    const xs = core.map((i) => pixels[i][0]);
    const ys = core.map((i) => pixels[i][1]);
    const box = [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
    if (follower.core !== null && follower.age > 0) {
      const step = [0, 1].map((d) => (box[d] + box[d + 2] - follower.core[d] - follower.core[d + 2]) / 2);
      follower.velocity = follower.velocity.map((v, d) => 0.5 * v + 0.5 * step[d]);
    } else {
      follower.velocity = [0, 0];
    }
    follower.pixels = pixels;
    follower.core = box;
  }

  release(follower) {
    this.busy.splice(this.busy.indexOf(follower), 1);
    follower.pixels = null;
    follower.core = null;
    this.free.push(follower);
  }
}

/** Landmarkers for several people: a PoseFollowers and a HandLandmarker that looks
 * for num_hands × N hands (as Python's `LandmarkExtractor` with max_people N). */
export async function createPeopleLandmarkers(mp, fileset, layout, options, maxPeople) {
  const x = options.extractor || {};
  const perPerson = { ...options, extractor: { ...x, num_hands: (x.num_hands ?? 2) * maxPeople } };
  const { hands } = await createLandmarkers(mp, fileset, layout.replace("pose", "").includes("hands") ? "hands" : "", perPerson);
  let people = null;
  if (layout.includes("pose")) {
    const base = {
      baseOptions: { modelAssetPath: options.pose_model, delegate: options.delegate || "CPU" },
      minPoseDetectionConfidence: x.min_detection_confidence ?? 0.5,
      minPosePresenceConfidence: x.min_presence_confidence ?? 0.5,
      minTrackingConfidence: x.min_tracking_confidence ?? 0.5,
      outputSegmentationMasks: false,
    };
    const finder = await mp.PoseLandmarker.createFromOptions(fileset, {
      ...base, runningMode: "IMAGE", numPoses: maxPeople,
    });
    const followers = [];
    for (let i = 0; i < maxPeople; i++) {
      followers.push(await mp.PoseLandmarker.createFromOptions(fileset, {
        ...base, runningMode: "VIDEO", numPoses: 1,
      }));
    }
    people = new PoseFollowers(finder, followers);
  }
  return { people, hands, maxPeople };
}

const HAND_TO_BODY = 1.5;
const HAND_TO_HAND = 6.0;

/**
 * Every person of one frame in poseact's layout (port of Python's
 * `LandmarkExtractor.process_people` with max_people N): bodies in the followers'
 * order, each hand given to the body whose wrist is nearest its own (within 1.5
 * shoulder widths), left and right hands without a body paired when their wrists are
 * within 6 hand lengths, leftover hands alone; at most N people.
 *
 * @returns {{landmarks: Float64Array, visibility: Float64Array, count: number}} the
 *     people's (count*K*3) landmarks and (count*K) visibility, one after the other.
 */
export function extractPeople(landmarkers, image, ms, k) {
  const size = imageSize(image);
  const people = [];
  const blank = () => ({ landmarks: new Float64Array(k * 3).fill(NaN), visibility: new Float64Array(k) });
  const wrists = [];
  const reach = [];
  let offset = 0;
  if (landmarkers.people) {
    for (const points of landmarkers.people.detect(image, ms)) {
      const person = blank();
      points.forEach((p, i) => {
        person.landmarks.set([p.x, p.y, p.z], i * 3);
        person.visibility[i] = p.visibility;
      });
      people.push(person);
      const xy = bodyPixels(points, size);
      wrists.push([xy[15], xy[16]]);
      const shoulders = Math.hypot(xy[11][0] - xy[12][0], xy[11][1] - xy[12][1]);
      reach.push(HAND_TO_BODY * Math.max(shoulders, 0.05 * Math.max(...size)));
    }
    offset = POSE_POINTS;
  }
  if (landmarkers.hands) {
    const result = landmarkers.hands.detectForVideo(image, ms);
    const found = [];
    (result.handedness || []).forEach((categories, i) => {
      if (!categories.length) return;
      const slot = HAND_SLOTS[categories[0].categoryName];
      if (slot !== undefined) found.push([i, slot, categories[0].score]);
    });
    const put = (person, i, slot, score) => {
      const start = offset + slot * HAND_POINTS;
      result.landmarks[i].forEach((p, j) => {
        person.landmarks.set([p.x, p.y, p.z], (start + j) * 3);
        person.visibility[start + j] = score;
      });
    };
    const handPixels = (i) => bodyPixels(result.landmarks[i], size);
    const pairs = [];
    for (const [i, slot, score] of found) {
      const [wx, wy] = handPixels(i)[0];
      wrists.forEach((bodyWrists, body) => {
        const distance = Math.min(...bodyWrists.map(([x, y]) => Math.hypot(x - wx, y - wy)));
        if (distance <= reach[body]) pairs.push([distance, -score, i, body, slot]);
      });
    }
    pairs.sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2] || a[3] - b[3] || a[4] - b[4]);
    const taken = new Set();
    const placed = new Set();
    for (const [, negative, i, body, slot] of pairs) {
      if (placed.has(i) || taken.has(`${body}/${slot}`)) continue;
      put(people[body], i, slot, -negative);
      taken.add(`${body}/${slot}`);
      placed.add(i);
    }
    const rest = found.filter(([i]) => !placed.has(i));
    const restPairs = [];
    rest.forEach(([i, slotI], a) => {
      for (const [j, slotJ] of rest.slice(a + 1)) {
        if (slotI === slotJ) continue;
        const xi = handPixels(i);
        const xj = handPixels(j);
        const length = Math.max(
          Math.hypot(xi[9][0] - xi[0][0], xi[9][1] - xi[0][1]),
          Math.hypot(xj[9][0] - xj[0][0], xj[9][1] - xj[0][1]),
        );
        const distance = Math.hypot(xi[0][0] - xj[0][0], xi[0][1] - xj[0][1]);
        if (distance <= HAND_TO_HAND * length) restPairs.push([distance, i, j]);
      }
    });
    const alone = new Map(rest.map(([i, slot, score]) => [i, [slot, score]]));
    restPairs.sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2]);
    for (const [, i, j] of restPairs) {
      if (!alone.has(i) || !alone.has(j)) continue;
      const person = blank();
      for (const hand of [i, j]) {
        const [slot, score] = alone.get(hand);
        alone.delete(hand);
        put(person, hand, slot, score);
      }
      people.push(person);
    }
    for (const [i, [slot, score]] of alone) {
      const person = blank();
      put(person, i, slot, score);
      people.push(person);
    }
  }
  const count = Math.min(people.length, landmarkers.maxPeople);
  const landmarks = new Float64Array(count * k * 3);
  const visibility = new Float64Array(count * k);
  for (let n = 0; n < count; n++) {
    const person = people[n];
    for (let i = 0; i < k; i++) {
      if (Number.isNaN(person.landmarks[i * 3])) person.visibility[i] = 0;
      person.visibility[i] = Math.min(1, Math.max(0, person.visibility[i]));
    }
    landmarks.set(person.landmarks, n * k * 3);
    visibility.set(person.visibility, n * k);
  }
  return { landmarks, visibility, count };
}

/** Split `extractPeople`'s flat arrays into one (K*3) and one (K) array per person. */
export function splitPeople({ landmarks, visibility, count }, k) {
  const people = { landmarks: [], visibility: [] };
  for (let n = 0; n < count; n++) {
    people.landmarks.push(landmarks.subarray(n * k * 3, (n + 1) * k * 3));
    people.visibility.push(visibility.subarray(n * k, (n + 1) * k));
  }
  return people;
}

/** One colour per person ("#rrggbb"), by track id modulo its length: Python's
 * `poseact.apps.drawing.PERSON_COLORS` (BGR there), checked on the shared vectors. */
export const PERSON_COLORS = Object.freeze([
  "#3cc850", // green
  "#dc5ae6", // magenta
  "#f0c828", // yellow
  "#28a0f0", // blue
  "#e63c3c", // red
  "#28c8c8", // teal
]);

/** The colour of a person's skeleton and label, from their track id. */
export const personColor = (person) => PERSON_COLORS[person % PERSON_COLORS.length];
