// MediaPipe off the main thread: frames in, landmarks out (a module worker).
//
// Messages in: {type: "init", visionUrl, wasmBase, layout, options} once, then
// {type: "frame", image, ms, k} with the image (VideoFrame or ImageBitmap) transferred.
// Messages out: {type: "ready"}, {type: "landmarks", landmarks, visibility, detectMs}
// (with options.max_people > 1: every person's, one after the other, and their
// `count`) or {type: "error", message}.

import {
  createLandmarkers,
  createPeopleLandmarkers,
  extractLandmarks,
  extractPeople,
} from "./poseact.js";

let landmarkers = null;

// MediaPipe loads its wasm loader for every landmarker it creates and clears
// `self.ModuleFactory` after each one. In a module worker the loader is an ES module,
// evaluated once, so the second landmarker (hands beside pose, or the followers of
// several people) found no factory ("ModuleFactory not set") and the page fell back
// to the main thread. MediaPipe imports through `self.import` when there is one:
// hand it the loader's factory every time.
self.import = async (url) => {
  self.ModuleFactory = (await import(url)).default;
};

function message(error) {
  return String(error && error.message ? error.message : error);
}

self.onmessage = async ({ data }) => {
  if (data.type === "init") {
    try {
      // Import maps do not reach workers: the page passes the resolved URL.
      const mp = await import(data.visionUrl);
      const fileset = await mp.FilesetResolver.forVisionTasks(data.wasmBase, true);
      const people = data.options.max_people ?? 1;
      landmarkers =
        people > 1
          ? await createPeopleLandmarkers(mp, fileset, data.layout, data.options, people)
          : await createLandmarkers(mp, fileset, data.layout, data.options);
      self.postMessage({ type: "ready" });
    } catch (error) {
      self.postMessage({ type: "error", message: message(error) });
    }
    return;
  }
  if (data.type === "frame") {
    const begin = performance.now();
    try {
      const { landmarks, visibility, count } =
        landmarkers.maxPeople > 1
          ? extractPeople(landmarkers, data.image, data.ms, data.k)
          : extractLandmarks(landmarkers.pose, landmarkers.hands, data.image, data.ms, data.k);
      const detectMs = performance.now() - begin;
      self.postMessage({ type: "landmarks", landmarks, visibility, count, detectMs }, [
        landmarks.buffer,
        visibility.buffer,
      ]);
    } catch (error) {
      self.postMessage({ type: "error", message: message(error) });
    } finally {
      data.image.close();
    }
  }
};
