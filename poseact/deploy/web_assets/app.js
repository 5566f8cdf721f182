// The poseact recognizer page: camera → MediaPipe landmarks → poseact model → label.
//
// MediaPipe Tasks Vision (PoseLandmarker / HandLandmarker, VIDEO mode) finds the
// landmarks in module workers when the browser can (else on the main thread);
// poseact.js normalizes them and LiteRT.js runs the exported model; the page draws the
// skeleton over the video and shows the gesture, its confidence and the frame rate.
// A worker looks at frame n+1 while the main thread classifies and draws frame n; with
// two workers (the default on 2+ cores) two frames are in MediaPipe at once. Results
// are used in camera order.
//
// Settings come from the JSON block `poseact-config` that `poseact web` writes into
// index.html; query parameters override some: ?camera=environment, ?delegate=GPU,
// ?workers=N (MediaPipe in N workers; 0 keeps it on the main thread), ?maxSide=N
// (downscale frames before MediaPipe), ?maxPeople=N (follow up to N people, each with
// their own track, recognizer, colour and label: docs/people.md), ?record=N (keep the last N frames' landmarks,
// features and probabilities in `window.poseactApp.record`, for tests).

import {
  GestureModel,
  PeopleRecognizer,
  StreamingRecognizer,
  createLandmarkers,
  createPeopleLandmarkers,
  extractLandmarks,
  extractPeople,
  personColor,
  splitPeople,
} from "./poseact.js";

const config = JSON.parse(document.getElementById("poseact-config").textContent);
const query = new URLSearchParams(location.search);
const $ = (id) => document.getElementById(id);
const video = $("video");
const canvas = $("overlay");
const ctx = canvas.getContext("2d");
const POSE_POINTS = 33;
// Up to this many people (1: the single-person page, exactly as before).
const MAX_PEOPLE = Math.max(1, Math.min(10, Number(query.get("maxPeople") || config.max_people || 1)));
// The two npm packages, imported when the page loads (not statically: a blocked CDN or
// no network must end in a visible error that names them, not "Loading…" forever).
let vision = null;
let litert = null;
const PACKAGES = {
  vision: ["@mediapipe/tasks-vision", "MediaPipe"],
  litert: ["@litertjs/core", "LiteRT.js"],
};
const HAND_POINTS = 21;

// Everything a test or a curious user may want to look at.
const app = {
  state: "loading",
  error: null,
  config,
  timings: {}, // ms since navigation start
  stats: {
    mode: null, frames: 0, poseFrames: 0, handFrames: 0, rows: 0, predictions: 0,
    fps: 0, detectMs: 0, modelMs: 0, frameMs: 0,
  },
  label: null,
  confidence: 0,
  current: null,
  events: [],
  record: null,
  recordCapacity: Number(query.get("record") || 0),
  model: null,
  recognizer: null,
  maxPeople: MAX_PEOPLE,
  people: [], // with maxPeople > 1: each person of the last frame (track id, label, ...)
  peopleRecognizer: null,
  detector: null,
  pendingReset: false,
  paused: false,
  /** Start a new stream at the next frame (and clear the record). */
  reset() {
    this.pendingReset = true;
  },
  /** Stop processing camera frames (the page does so while it is hidden). */
  pause() {
    this.paused = true;
  },
  /** Go on processing camera frames, as a new stream. */
  resume() {
    if (this.paused) this.reset();
    this.paused = false;
  },
};
window.poseactApp = app;
if (app.recordCapacity > 0) app.record = [];

function mark(name) {
  if (app.timings[name] === undefined) app.timings[name] = performance.now();
}

function setStatus(text, isError = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", isError);
}

function landmarkerOptions() {
  return {
    pose_model: config.pose_model && new URL(config.pose_model, location.href).href,
    hand_model: config.hand_model && new URL(config.hand_model, location.href).href,
    delegate: query.get("delegate") || config.delegate || "CPU",
    extractor: config.extractor || {},
    max_people: MAX_PEOPLE,
  };
}

// ------------------------------------------------------------------ detectors
/** MediaPipe on the main thread: `detect` runs synchronously. */
class MainThreadDetector {
  mode = "main";
  size = 1;

  idle() {
    return true; // detect() runs to the end before it returns
  }

  async init(layout) {
    const fileset = await vision.FilesetResolver.forVisionTasks(config.mediapipe_wasm);
    const options = landmarkerOptions();
    this.landmarkers =
      MAX_PEOPLE > 1
        ? await createPeopleLandmarkers(vision, fileset, layout, options, MAX_PEOPLE)
        : await createLandmarkers(vision, fileset, layout, options);
  }

  async detect(image, ms, k) {
    const begin = performance.now();
    const result =
      MAX_PEOPLE > 1
        ? extractPeople(this.landmarkers, image, ms, k)
        : extractLandmarks(this.landmarkers.pose, this.landmarkers.hands, image, ms, k);
    result.detectMs = performance.now() - begin;
    if (image !== video) image.close();
    return result;
  }
}

/** MediaPipe in a module worker; frames go over as VideoFrames or ImageBitmaps. */
class WorkerDetector {
  mode = "worker";

  init(layout) {
    this.worker = new Worker(new URL("./landmarks-worker.js", import.meta.url), {
      type: "module",
    });
    this.pending = null;
    return new Promise((resolve, reject) => {
      this.worker.onerror = (event) => {
        const error = new Error(event.message || "the landmark worker failed to start");
        if (this.pending) this.pending.reject(error);
        reject(error);
      };
      this.worker.onmessage = ({ data }) => {
        if (data.type === "ready") return resolve();
        const pending = this.pending;
        this.pending = null;
        if (data.type === "error") {
          const error = new Error(data.message);
          return pending ? pending.reject(error) : reject(error);
        }
        if (pending) pending.resolve(data);
      };
      this.worker.postMessage({
        type: "init",
        visionUrl: import.meta.resolve("@mediapipe/tasks-vision"),
        wasmBase: new URL(config.mediapipe_wasm, location.href).href,
        layout,
        options: landmarkerOptions(),
      });
    });
  }

  detect(image, ms, k) {
    const frame = image === video ? new VideoFrame(video, { timestamp: ms * 1000 }) : image;
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.worker.postMessage({ type: "frame", image: frame, ms, k }, [frame]);
    });
  }

  terminate() {
    this.worker?.terminate();
  }
}

/** MediaPipe in N module workers; each frame goes to a free one (one landmarker
 * per worker, each tracking the frames it is given), so N frames are in work at once. */
class WorkerPool {
  mode = "worker";

  constructor(size) {
    this.workers = Array.from({ length: size }, () => new WorkerDetector());
  }

  get size() {
    return this.workers.length;
  }

  async init(layout) {
    await Promise.all(this.workers.map((w) => w.init(layout)));
  }

  idle() {
    return this.workers.some((w) => w.pending === null);
  }

  detect(image, ms, k) {
    return this.workers.find((w) => w.pending === null).detect(image, ms, k);
  }

  terminate() {
    for (const w of this.workers) w.terminate();
  }
}

async function createDetector(layout) {
  // workers: ?workers=N, else the config's, else 2 where there are 2+ cores (the
  // frame rate a second worker adds: benchmarks/results/web.md).
  // With several people one worker: each worker's followers track the people of the
  // frames it is given, and two sets of followers, each on every other frame, find
  // people at different times and disagree (docs/people.md).
  const asked = query.get("workers") ?? config.workers;
  const cores = navigator.hardwareConcurrency || 1;
  const fallback = MAX_PEOPLE > 1 ? 1 : Math.min(2, cores);
  const size = asked === null || asked === undefined ? fallback : Number(asked);
  if (size > 0 && typeof VideoFrame === "function" && typeof Worker === "function") {
    const pool = new WorkerPool(size);
    try {
      await pool.init(layout);
      return pool;
    } catch (error) {
      console.warn(`MediaPipe workers unavailable (${error.message}); using the main thread`);
      pool.terminate();
    }
  }
  const detector = new MainThreadDetector();
  await detector.init(layout);
  return detector;
}

// ------------------------------------------------------------------ loading
/** Where the page loads a package from (its import map entry). */
function packageUrl(name) {
  try {
    return import.meta.resolve(name);
  } catch {
    return name;
  }
}

/** An error that says which part could not load, from where, and what to do. */
function loadError(what, url, error) {
  const cause = String(error && error.message ? error.message : error);
  const online = /^https?:/.test(url) && new URL(url, location.href).origin !== location.origin;
  const hint = online
    ? " The page loads it from the internet: check the connection (or a blocker of" +
      " that site), or build a site that works offline with `poseact web MODEL SITE" +
      " --offline`."
    : " The site's copy is missing or damaged: build the site again.";
  const wrapped = new Error(`${what} could not be loaded from ${url} (${cause}).${hint}`);
  wrapped.name = "LoadError";
  return wrapped;
}

/** Import both packages (in parallel); an error names every one that failed. */
async function importPackages() {
  const names = Object.keys(PACKAGES);
  const results = await Promise.allSettled(names.map((key) => import(PACKAGES[key][0])));
  const failed = [];
  results.forEach((result, i) => {
    const [name, what] = PACKAGES[names[i]];
    if (result.status === "rejected") failed.push(loadError(what, packageUrl(name), result.reason));
  });
  if (failed.length) throw new Error(failed.map((e) => e.message).join(" "));
  [vision, litert] = results.map((r) => r.value);
  mark("packagesLoaded");
}

async function fetchModel() {
  const response = await fetch(config.model);
  if (!response.ok) throw new Error(`cannot load ${config.model}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

async function load() {
  setStatus("Loading the gesture model and MediaPipe…");
  const modelBytes = fetchModel();
  modelBytes.catch(() => {}); // reported where it is awaited
  await importPackages();
  try {
    await litert.loadLiteRt(config.litert_wasm);
  } catch (error) {
    throw loadError("LiteRT.js's WebAssembly", new URL(config.litert_wasm, location.href).href, error);
  }
  const model = await GestureModel.load(await modelBytes, litert, "wasm");
  app.model = model;
  app.layout = model.spec.layout;
  app.recognizer = await StreamingRecognizer.create(model, config.decision);
  if (MAX_PEOPLE > 1) app.peopleRecognizer = new PeopleRecognizer(model, config.decision);
  mark("modelLoaded");
  // LiteRT.js and MediaPipe both load their wasm through `self.ModuleFactory`: on the
  // main thread they must load one after the other.
  try {
    app.detector = await createDetector(model.spec.layout);
  } catch (error) {
    throw loadError(
      "MediaPipe's WebAssembly or landmark models",
      new URL(config.mediapipe_wasm, location.href).href,
      error,
    );
  }
  app.stats.mode = app.detector.mode;
  app.stats.workers = app.detector.mode === "worker" ? app.detector.size : 0;
  mark("landmarkersLoaded");
  return model;
}

async function startCamera() {
  setStatus("Waiting for the camera…");
  const facingMode = query.get("camera") || config.camera || "user";
  const stream = await navigator.mediaDevices.getUserMedia({
    audio: false,
    video: { facingMode, width: { ideal: 640 }, height: { ideal: 480 } },
  });
  video.srcObject = stream;
  await video.play();
  $("stage").classList.toggle("mirror", facingMode === "user");
  mark("cameraReady");
}

// ------------------------------------------------------------------ drawing
function draw(landmarks, visibility, k, minVisibility, colour = null, clear = true) {
  if (canvas.width !== video.videoWidth || canvas.height !== video.videoHeight) {
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
  }
  const w = canvas.width;
  const h = canvas.height;
  if (clear) ctx.clearRect(0, 0, w, h);
  const seen = (i) => i < k && visibility[i] >= minVisibility && !Number.isNaN(landmarks[i * 3]);
  const xy = (i) => [landmarks[i * 3] * w, landmarks[i * 3 + 1] * h];
  const groups = [];
  if (app.layout.includes("pose")) {
    groups.push([0, vision.PoseLandmarker.POSE_CONNECTIONS, "#00e676"]);
  }
  if (app.layout.includes("hands")) {
    const first = app.layout === "hands" ? 0 : POSE_POINTS;
    groups.push([first, vision.HandLandmarker.HAND_CONNECTIONS, "#40c4ff"]);
    groups.push([first + HAND_POINTS, vision.HandLandmarker.HAND_CONNECTIONS, "#ff80ab"]);
  }
  ctx.lineWidth = Math.max(2, w / 240);
  for (const [first, connections, groupColour] of groups) {
    ctx.strokeStyle = colour ?? groupColour;
    ctx.beginPath();
    for (const { start, end } of connections) {
      if (!seen(first + start) || !seen(first + end)) continue;
      ctx.moveTo(...xy(first + start));
      ctx.lineTo(...xy(first + end));
    }
    ctx.stroke();
  }
  ctx.fillStyle = colour ?? "#ffffff";
  const radius = Math.max(2.5, w / 200);
  for (let i = 0; i < k; i++) {
    if (!seen(i)) continue;
    ctx.beginPath();
    ctx.arc(...xy(i), radius, 0, 2 * Math.PI);
    ctx.fill();
  }
}

function showResult() {
  const recognizer = app.recognizer;
  const current = recognizer.current;
  const top = recognizer.label;
  const confidence = recognizer.confidence;
  const label = $("label");
  label.textContent = current ?? top ?? "…";
  label.dataset.accepted = current !== null ? "true" : "false";
  const percent = (x) => `${(100 * x).toFixed(0)}%`;
  const threshold = recognizer.decider.threshold;
  const rejection = recognizer.decider.rejection;
  let why = "not yet accepted"; // hysteresis (min_frames) or cooldown
  if (rejection !== null && top === rejection.unknown) why = "unlike the clips it knows";
  else if (confidence < threshold) why = `below ${percent(threshold)}`;
  else if (top === recognizer.decider.background) why = "background";
  $("confidence").textContent =
    top === null
      ? ""
      : current !== null
        ? `${percent(confidence)} confident`
        : `${top} ${percent(confidence)} (${why})`;
  const s = app.stats;
  $("fps").textContent =
    `${s.fps.toFixed(1)} FPS · landmarks ${s.detectMs.toFixed(1)} ms · model ${s.modelMs.toFixed(1)} ms`;
}

// Several people: each skeleton in the person's colour, and over the video a tag at
// their head with their id, label and confidence (DOM elements, so that text is not
// mirrored with a front camera's picture).
function drawPeople(people, k, minVisibility) {
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  for (const p of people) {
    if (p.seen) draw(p.landmarks, p.visibility, k, minVisibility, personColor(p.person), false);
  }
  const layer = $("people");
  const mirrored = $("stage").classList.contains("mirror");
  const tags = new Map([...layer.children].map((tag) => [Number(tag.dataset.person), tag]));
  for (const p of people) {
    let tag = tags.get(p.person);
    tags.delete(p.person);
    if (!tag) {
      tag = document.createElement("div");
      tag.className = "person";
      tag.dataset.person = String(p.person);
      tag.style.borderColor = personColor(p.person);
      layer.append(tag);
    }
    const label = p.gesture ?? p.label;
    tag.textContent =
      `person ${p.person}: ${label ?? "…"}` +
      (label === null ? "" : ` ${(100 * p.confidence).toFixed(0)}%`);
    tag.dataset.accepted = p.gesture !== null ? "true" : "false";
    tag.dataset.seen = p.seen ? "true" : "false";
    // above the highest well-seen point, centred on the seen points
    let x = 0;
    let n = 0;
    let top = Infinity;
    for (let i = 0; i < k; i++) {
      if (p.visibility[i] < minVisibility || Number.isNaN(p.landmarks[i * 3])) continue;
      x += p.landmarks[i * 3];
      n += 1;
      top = Math.min(top, p.landmarks[i * 3 + 1]);
    }
    if (n) {
      x /= n;
      tag.style.left = `${100 * Math.min(Math.max(mirrored ? 1 - x : x, 0.05), 0.95)}%`;
      tag.style.top = `${100 * Math.min(Math.max(top - 0.02, 0.1), 0.95)}%`;
    }
  }
  for (const tag of tags.values()) tag.remove(); // tracks that ended
  app.people = people.map(({ person, label, confidence, gesture, seen }) => ({
    person, label, confidence, gesture, seen, color: personColor(person),
  }));
}

function showPeople(people) {
  const going = people.filter((p) => p.gesture !== null);
  const label = $("label");
  label.textContent = going.length
    ? going.map((p) => `${p.person}: ${p.gesture}`).join(" · ")
    : `${people.filter((p) => p.seen).length} of ${MAX_PEOPLE} people`;
  label.dataset.accepted = going.length ? "true" : "false";
  $("confidence").textContent = "";
  const s = app.stats;
  $("fps").textContent =
    `${s.fps.toFixed(1)} FPS · landmarks ${s.detectMs.toFixed(1)} ms · model ${s.modelMs.toFixed(1)} ms`;
}

function logEvents(events) {
  const list = $("events");
  for (const event of events) {
    app.events.push(event);
    const item = document.createElement("li");
    const who = event.person === undefined ? "" : `person ${event.person}: `;
    item.textContent =
      event.end === null
        ? `${event.start.toFixed(2)} s  ${who}${event.label} (${(100 * event.confidence).toFixed(0)}%)`
        : `${event.end.toFixed(2)} s  ${who}${event.label} ended`;
    if (event.person !== undefined) item.style.color = personColor(event.person);
    list.prepend(item);
    while (list.children.length > 6) list.lastChild.remove();
  }
}

// Running mean over (at most) the last 30 values.
function average(old, value, count) {
  return count <= 1 ? value : old + (value - old) / Math.min(count, 30);
}

// ------------------------------------------------------------------ the loop
async function run() {
  const model = await load();
  $("model-name").textContent = `${config.title} · ${model.classes.join(", ")}`;
  await startCamera();
  app.state = "running";
  setStatus("");
  const k = model.spec.numPoints;
  const minVisibility = model.spec.min_visibility;
  const maxSide = Number(query.get("maxSide") || config.max_image_side || 0);
  let start = null;
  let lastT = -Infinity;
  let lastMs = -1;
  const finishedAt = []; // performance.now() of the last finished frames
  let newest = null; // the newest camera frame not yet sent to MediaPipe: {stamp}

  // A frame for MediaPipe: the video itself, or a downscaled copy.
  const grab = async () => {
    if (!maxSide) return video;
    const scale = Math.min(1, maxSide / Math.max(video.videoWidth, video.videoHeight));
    return createImageBitmap(video, {
      resizeWidth: Math.round(video.videoWidth * scale),
      resizeHeight: Math.round(video.videoHeight * scale),
      resizeQuality: "low",
    });
  };

  // The frame-rate figures of a finished frame.
  const timing = (frame, detection, begin, done, modelRan) => {
    const s = app.stats;
    s.detectMs = average(s.detectMs, detection.detectMs, s.frames);
    if (modelRan) s.modelMs = average(s.modelMs, done - begin, s.predictions);
    s.frameMs = average(s.frameMs, done - frame.sentAt, s.frames);
    finishedAt.push(done);
    if (finishedAt.length > 30) finishedAt.shift();
    if (finishedAt.length > 1) {
      s.fps = (1000 * (finishedAt.length - 1)) / (done - finishedAt[0]);
    }
    mark("firstFrame");
  };

  // Several people: everyone's landmarks to their track's recognizer, each drawn.
  const finishPeople = async (frame, detection) => {
    const size = [video.videoWidth, video.videoHeight];
    const people = splitPeople(detection, k);
    const begin = performance.now();
    const result = await app.peopleRecognizer.push(frame.t, people.landmarks, people.visibility, size);
    const done = performance.now();
    const s = app.stats;
    s.frames += 1;
    const seen = (from) => people.visibility.some((v) => v.slice(from).some((x) => x > 0));
    if (app.layout.includes("pose") && detection.count > 0) s.poseFrames += 1;
    if (app.layout.includes("hands") && seen(app.layout === "hands" ? 0 : POSE_POINTS)) {
      s.handFrames += 1;
    }
    s.people = detection.count;
    s.rows += result.rows;
    s.predictions += result.probs;
    timing(frame, detection, begin, done, result.rows > 0);
    if (detection.count > 0) mark("firstLandmarks");
    if (result.probs) mark("firstPrediction");
    drawPeople(result.people, k, minVisibility);
    showPeople(result.people);
    logEvents(result.events);
    if (app.record) {
      app.record.push({
        t: frame.t,
        imageSize: size,
        count: detection.count,
        people: app.people,
        ids: result.ids, // the track of each one found
        // what the page's MediaPipe found, in its order: each person's (K*3) and (K)
        found: people.landmarks.map((l, n) => ({
          landmarks: Array.from(l, (v) => (Number.isNaN(v) ? null : v)),
          visibility: Array.from(people.visibility[n]),
        })),
        events: result.events,
      });
      if (app.record.length > app.recordCapacity) app.record.shift();
    }
  };

  // Everything after MediaPipe for one frame: classify, draw, show, record.
  const finish = async (frame, detection) => {
    if (MAX_PEOPLE > 1) return finishPeople(frame, detection);
    const size = [video.videoWidth, video.videoHeight];
    const { landmarks, visibility } = detection;
    const begin = performance.now();
    const result = await app.recognizer.push(frame.t, landmarks, visibility, size);
    const done = performance.now();
    const s = app.stats;
    s.frames += 1;
    if (app.layout.includes("pose") && visibility.slice(0, POSE_POINTS).some((v) => v > 0)) {
      s.poseFrames += 1;
    }
    if (app.layout.includes("hands") && visibility.slice(app.layout === "hands" ? 0 : POSE_POINTS).some((v) => v > 0)) {
      s.handFrames += 1;
    }
    s.rows += result.rows.length;
    s.predictions += result.probs.length;
    timing(frame, detection, begin, done, result.rows.length > 0);
    if (s.poseFrames + s.handFrames > 0) mark("firstLandmarks");
    if (result.probs.length) mark("firstPrediction");
    app.label = app.recognizer.label;
    app.confidence = app.recognizer.confidence;
    app.current = app.recognizer.current;
    draw(landmarks, visibility, k, minVisibility);
    showResult();
    logEvents(result.events);
    if (app.record) {
      app.record.push({
        t: frame.t,
        imageSize: size,
        landmarks: Array.from(landmarks, (v) => (Number.isNaN(v) ? null : v)),
        visibility: Array.from(visibility),
        rows: result.rows.map((r) => Array.from(r)),
        probs: result.probs.map((p) => Array.from(p)),
        ats: result.ats,
        endAts: result.endAts,
        mayStarts: result.mayStarts,
        ratios: result.ratios.map((r) => (r === null ? null : Array.from(r))),
        smoothed: Array.from(app.recognizer.decider.probabilities),
        label: app.label,
        confidence: app.confidence,
        events: result.events,
      });
      if (app.record.length > app.recordCapacity) app.record.shift();
    }
  };

  // Frames go to MediaPipe as soon as a detector is free; their results are finished
  // (classified, drawn, shown) one after the other, in camera order.
  let chain = Promise.resolve();
  let unfinished = 0; // frames sent and not finished yet
  let sending = false;

  const applyReset = () => {
    app.pendingReset = false;
    app.recognizer.reset();
    if (app.peopleRecognizer) {
      app.peopleRecognizer.reset();
      app.people = [];
      $("people").replaceChildren();
    }
    if (app.record) app.record.length = 0;
    app.events.length = 0;
    $("events").replaceChildren();
    finishedAt.length = 0;
    start = null;
    lastT = -Infinity;
  };

  const send = async () => {
    if (sending) return;
    sending = true;
    try {
      while (newest !== null && !app.paused && app.state === "running" && app.detector.idle()) {
        if (app.pendingReset) {
          if (unfinished > 0) break; // reset once the frames in work are finished
          applyReset();
        }
        const { stamp } = newest;
        newest = null;
        if (start === null) start = stamp;
        const t = Math.max((stamp - start) / 1000, lastT + 1e-6);
        lastT = t;
        const ms = Math.max(Math.round(stamp), lastMs + 1); // MediaPipe wants increasing ms
        lastMs = ms;
        const frame = { t, ms, sentAt: performance.now() };
        unfinished += 1;
        const detection = app.detector.detect(await grab(), ms, k);
        chain = chain
          .then(async () => {
            const result = await detection;
            await finish(frame, result);
          })
          .catch(fail)
          .finally(() => {
            unfinished -= 1;
            send();
          });
      }
    } catch (error) {
      fail(error);
    } finally {
      sending = false;
    }
  };

  const onFrame = (now, metadata) => {
    newest = { stamp: metadata?.captureTime ?? metadata?.expectedDisplayTime ?? now };
    send();
    watch();
  };
  const watch = () => {
    if ("requestVideoFrameCallback" in HTMLVideoElement.prototype) {
      video.requestVideoFrameCallback(onFrame);
    } else {
      // Without requestVideoFrameCallback: poll, and skip frames already seen.
      let lastTime = video.currentTime;
      const poll = (now) => {
        if (video.currentTime === lastTime) return requestAnimationFrame(poll);
        onFrame(now, null);
      };
      requestAnimationFrame(poll);
    }
  };
  watch();
}

function fail(error) {
  console.error(error);
  app.state = "error";
  app.error = String(error && error.message ? error.message : error);
  const hint =
    error && error.name === "NotAllowedError"
      ? " Allow the camera and reload the page (it must be served over https or from localhost)."
      : "";
  const text = `Error: ${app.error.replace(/\.$/, "")}.${hint}`;
  setStatus(text, true);
  const box = $("error");
  if (box) {
    box.textContent = text;
    box.hidden = false;
  }
}

// Hidden pages (another tab, a locked phone) do no work.
document.addEventListener("visibilitychange", () =>
  document.hidden ? app.pause() : app.resume(),
);

mark("scriptStart");
run().catch(fail);
