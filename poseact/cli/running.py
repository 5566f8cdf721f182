"""Commands that run a trained model: `predict`, `evaluate-stream`, `live`, `web`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from poseact.cli.common import (
    add_extractor_flags,
    add_force_flag,
    extractor_options,
    model_layout,
    refuse_own_input,
)
from poseact.core.atomic import check_output
from poseact.core.choices import (
    SMOOTHINGS,
)
from poseact.core.errors import PoseactError
from poseact.core.labels import printable
from poseact.flags import add_option_flags, options_from_args


def cmd_predict(args: argparse.Namespace) -> int:
    from poseact.apps.events import check_events_path, input_files, write_events
    from poseact.core.errors import NoPoseDetected
    from poseact.data.dataset import VIDEO_SUFFIXES
    from poseact.loading import IMAGE_SUFFIXES, load_model, load_sequence
    from poseact.runtime.decider import DecisionOptions

    events_path = check_events_path(args.events) if args.events else None
    args.inputs = input_files(args.inputs, (*VIDEO_SUFFIXES, *IMAGE_SUFFIXES, ".npz", ".csv"))
    refuse_own_input(args.events, *args.inputs)
    model = load_model(args.model)
    layout = model_layout(model)
    options = extractor_options(args, layout)
    if options.max_people > 1:
        return _predict_people(args, model, options)
    decision = options_from_args(args, DecisionOptions, prefix="decision.")
    outputs = _annotated_outputs(args)
    skipped, recordings = [], []
    for item in args.inputs:
        try:
            sequence = load_sequence(item, options, cache=False if args.no_cache else None)
        except NoPoseDetected:
            if not args.allow_missing:
                raise
            skipped.append(str(item))
            continue
        if args.allow_missing and not sequence.detected.any():
            skipped.append(str(item))
            continue
        window = model.features([sequence])
        probs = model.predict_proba(window)[0]
        order = probs.argsort()[::-1]
        answer = str(model.predict(window)[0])  # "unknown" where the model's rule says so
        decisions = None
        if item in outputs or events_path is not None:
            from poseact.train.stream_eval import decide_stream

            # frame by frame, what the live recognizer decides (as `live` does)
            decisions = decide_stream(model, sequence, decision)
            recordings.append((str(item), decisions))
        if item in outputs:
            from poseact.apps.render import annotate_video

            annotate_video(
                item, sequence, outputs[item], decisions, clip=(answer, float(probs[order[0]]))
            )
        if args.json:
            print(
                json.dumps(
                    {
                        "input": str(item),
                        "label": answer,
                        "probabilities": {str(model.classes_[i]): float(probs[i]) for i in order},
                    },
                    allow_nan=False,  # strict JSON; the model refuses NaN answers anyway
                )
            )
        else:
            top = ", ".join(f"{model.classes_[i]} {probs[i]:.2f}" for i in order[:3])
            print(f"{printable(item)}: {answer}  ({top})")  # a file name cannot drive the terminal
        stream = sys.stderr if args.json else sys.stdout
        if decisions is not None and not args.json:
            for d in decisions.detections:
                print(f"  {d.start:7.2f}s → {d.end:7.2f}s  {d.label}  ({d.confidence:.2f})")
        if item in outputs:
            print(f"annotated video written to {outputs[item]}", file=stream)
    if events_path is not None:
        write_events(events_path, recordings)
        count = sum(len(d.detections) for _, d in recordings)
        print(
            f"{count} event{'' if count == 1 else 's'} of {len(recordings)}"
            f" input{'' if len(recordings) == 1 else 's'} written to {events_path}",
            file=sys.stderr if args.json else sys.stdout,
        )
    if skipped:
        args.skipped.append((len(args.inputs), tuple(skipped), layout))
    return 0


def _predict_people(args: argparse.Namespace, model, options) -> int:
    """predict --max-people N: each person of each video classified on their own track."""
    from poseact.data.dataset import VIDEO_SUFFIXES
    from poseact.extract.extractor import extract_people

    if args.output:
        raise ValueError(
            "--output with --max-people: draw each person's gestures with"
            " poseact live MODEL --source VIDEO --max-people N --no-preview --output OUT.mp4"
        )
    if args.events:
        raise ValueError(
            "--events with --max-people: each person's events come from"
            " poseact live MODEL --source VIDEO --max-people N --no-preview"
        )
    for item in args.inputs:
        if Path(item).suffix.lower() not in VIDEO_SUFFIXES:
            raise ValueError(f"--max-people follows the people of videos; {item} is not a video")
        tracks = extract_people(item, options)
        for track in tracks:
            window = model.features([track])
            probs = model.predict_proba(window)[0]
            order = probs.argsort()[::-1]
            answer = str(model.predict(window)[0])
            if args.json:
                record = {
                    "input": str(item),
                    "person": track.person,
                    "start_s": float(track.timestamps[0]),
                    "end_s": float(track.timestamps[-1]),
                    "label": answer,
                    "probabilities": {str(model.classes_[i]): float(probs[i]) for i in order},
                }
                print(json.dumps(record, allow_nan=False))
            else:
                top = ", ".join(f"{model.classes_[i]} {probs[i]:.2f}" for i in order[:3])
                print(
                    f"{printable(item)} person {track.person} ({track.timestamps[0]:.2f}-"
                    f"{track.timestamps[-1]:.2f} s): {answer}  ({top})"
                )
    return 0


def _annotated_outputs(args: argparse.Namespace) -> dict[str, Path]:
    """input video → the annotated .mp4 to write (--output: a file for one video, a
    folder for several)."""
    from poseact.data.dataset import VIDEO_SUFFIXES

    if not args.output:
        return {}
    videos = [item for item in args.inputs if Path(item).suffix.lower() in VIDEO_SUFFIXES]
    if not videos:
        raise ValueError("--output draws on videos, and none of the inputs is a video")
    out = Path(args.output)
    if len(videos) == 1 and out.suffix.lower() == ".mp4":
        check_output(out, inputs=args.inputs)
        return {videos[0]: out}
    if out.suffix:
        raise ValueError(f"--output {out}: give a folder for {len(videos)} videos")
    outputs = {item: out / f"{Path(item).stem}_annotated.mp4" for item in videos}
    for target in outputs.values():  # never onto another input, before any is read
        check_output(target, inputs=args.inputs)
    return outputs


def cmd_evaluate_stream(args: argparse.Namespace) -> int:
    from poseact.loading import load_sequence
    from poseact.runtime.decider import DecisionOptions
    from poseact.runtime.model import TFLiteGestureModel
    from poseact.train.stream_eval import evaluate_stream, read_annotations, sweep_stream

    model = TFLiteGestureModel(args.model)
    read_annotations(args.annotations, background=model.background)  # fails before extracting
    # the recording is extracted in the model's layout; frames with nobody are background
    options = extractor_options(args, model.spec.layout, require_detection=False)
    decision = options_from_args(args, DecisionOptions, prefix="decision.")
    if options.max_people > 1:
        return _evaluate_people(args, model, options, decision)
    recording = load_sequence(args.recording, options, cache=False if args.no_cache else None)
    if args.sweep:
        sweep = sweep_stream(
            model, recording, args.annotations, options=decision, min_iou=args.min_iou
        )
        print(sweep.summary(max_false_alarms=args.max_false_alarms))
        out = Path(args.report_dir or ".")
        sweep.save(out)
        print(f"sweep.json and sweep.png (the curve) written to {out}")
        return 0
    result = evaluate_stream(
        model, recording, args.annotations, options=decision, min_iou=args.min_iou
    )
    print(result.summary())
    if args.report_dir:
        result.save(args.report_dir, force=args.force)
        print(f"report.json, detections.csv and timeline.png written to {args.report_dir}")
    return 0


def _evaluate_people(args: argparse.Namespace, model, options, decision) -> int:
    """evaluate-stream --max-people N: a recognizer per person, scored per person."""
    from poseact.core.atomic import atomic_write_text
    from poseact.extract.extractor import extract_people
    from poseact.train.stream_eval import evaluate_people_stream

    tracks = extract_people(args.recording, options)
    result = evaluate_people_stream(
        model, tracks, args.annotations, options=decision, min_iou=args.min_iou
    )
    print(f"{len(tracks)} people tracked in {printable(args.recording)}")
    print(result.summary())
    if args.report_dir:
        out = Path(args.report_dir)
        if (out / "report.json").exists() and not args.force:
            raise PoseactError(f"{out / 'report.json'} exists (--force replaces it)")
        atomic_write_text(out / "report.json", json.dumps(result.to_dict(), indent=1) + "\n")
        print(f"report.json written to {out}")
    return 0


def cmd_live(args: argparse.Namespace) -> int:
    from poseact.apps.live import run_live
    from poseact.runtime.decider import DecisionOptions

    if args.model and args.model_flag and args.model != args.model_flag:
        raise ValueError(f"two models given: {args.model} and --model {args.model_flag}")
    model = args.model or args.model_flag
    if model is None:
        raise ValueError("give the model: poseact live MODEL.tflite")
    decision = options_from_args(args, DecisionOptions, prefix="decision.")

    def show(event) -> None:
        end = "…" if event.end is None else f"{event.end:7.2f}s"
        who = "" if event.person is None else f"person {event.person}: "
        print(
            f"{event.start:7.2f}s → {end}  {who}{event.label}  ({event.confidence:.2f})",
            flush=True,
        )

    extractor = None
    if args.max_people != 1:
        from poseact.extract.options import ExtractorOptions
        from poseact.runtime.model import TFLiteGestureModel

        model = TFLiteGestureModel(model)
        extractor = ExtractorOptions(
            layout=model_layout(model), require_detection=False, max_people=args.max_people
        )

    source = args.source
    if args.width or args.height:
        from poseact.extract.sources import is_camera, open_source

        if not is_camera(source):
            raise ValueError("--width and --height set a camera's resolution; the source is a file")

        source = open_source(source, width=args.width, height=args.height)
    try:
        stats = run_live(
            source,
            model,
            decision=decision,
            preview=not args.no_preview,
            on_event=show,
            max_frames=args.max_frames,
            output=args.output,
            extractor=extractor,
        )
    finally:
        if source is not args.source:
            source.close()
    print(stats.summary())
    return 0


def cmd_web(args: argparse.Namespace) -> int:
    from poseact.deploy.web import build_web_app, serve

    if not 0 <= args.port <= 65535:
        raise PoseactError(f"--port {args.port} is not a TCP port (0-65535; 0 picks a free one)")
    assets = args.assets
    if args.offline:
        if assets:
            raise PoseactError("give --offline or --assets, not both")
        from poseact.deploy.web import fetch_js_packages

        assets = fetch_js_packages()
    out = build_web_app(
        args.model, args.output_dir, assets=assets, max_people=args.max_people, force=args.force
    )
    where = "its JavaScript packages in vendor/, no internet needed" if assets else "CDN packages"
    print(f"wrote the recognizer page into {out} ({where})")
    if not args.serve:
        return 0
    server = serve(out, args.port, host=args.host, https=args.https)
    everywhere = args.host in ("0.0.0.0", "::", "")
    lines = [f"serving {out} (only the site's own files):"]
    if everywhere:
        lines.append(f"  on this machine: {server.url}")
        lines += [f"  from a phone on the same network: {url}" for url in server.urls]
    else:
        lines.append(f"  at {server.url}")
    if server.certificate is not None:
        lines += [
            "  the certificate is self-signed, made just now for"
            f" {', '.join(server.certificate.names)};"
            f" its SHA-256 fingerprint {server.certificate.fingerprint}",
            "  on the phone: open the address above; the browser warns that the connection"
            " is not private (the certificate is not from an authority). Check that the"
            " fingerprint in the certificate details is the one above, then choose Advanced"
            " > Proceed (Chrome) or Show Details > visit this website (Safari); allow the"
            " camera when the page asks",
        ]
    elif everywhere:
        lines.append(
            "  a phone's browser gives the camera only to HTTPS pages: add --https (a"
            " self-signed certificate made on the spot), see docs/deploy.md"
        )
    lines.append("Ctrl-C stops the server")
    print("\n".join(lines), flush=True)
    try:
        # a join with a timeout: Ctrl-C interrupts it wherever the signal lands (a
        # join without one waits on a lock Windows never interrupts, and that other
        # systems interrupt only when the signal reaches the main thread)
        while server.thread.is_alive():
            server.thread.join(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    return 0


def _add_decision_flags(parser: argparse.ArgumentParser) -> None:
    """The flags of DecisionOptions: how per-frame answers become events."""
    from poseact.runtime.decider import DecisionOptions

    add_option_flags(
        parser,
        DecisionOptions,
        [
            "smoothing",
            "ema_alpha",
            "majority_frames",
            "threshold",
            "min_frames",
            "evidence",
            "cooldown",
            "reject_starts",
        ],
        prefix="decision.",
        choices={"smoothing": SMOOTHINGS},
    )


def add_predict(sub: argparse._SubParsersAction) -> None:
    """The `poseact predict` command."""
    p = sub.add_parser("predict", help="classify videos, images or landmark files")
    p.add_argument("model", help=".poseact or .tflite; its layout and settings are used")
    p.add_argument(
        "inputs", nargs="+", help="videos, images, .npz or .csv landmark files, or folders of them"
    )
    p.add_argument("--json", action="store_true", help="one JSON object per input (default: text)")
    p.add_argument(
        "--output",
        default=None,
        help="write each video again with, frame by frame, the skeleton and what the live"
        " recognizer decides at that frame (and the whole clip's answer apart): an .mp4 for"
        " one video, a folder for several (default: none)",
    )
    p.add_argument(
        "--events",
        default=None,
        help="write the gesture events of every input (label, start, end, peak confidence),"
        " as the live recognizer finds them, to this .csv or .json (the .json also holds"
        " every frame's decision) (default: none)",
    )
    _add_decision_flags(p)
    add_extractor_flags(p, datasets=False, layout=False, people=True)
    p.set_defaults(func=cmd_predict)


def add_evaluate_stream(sub: argparse._SubParsersAction) -> None:
    """The `poseact evaluate-stream` command."""
    p = sub.add_parser(
        "evaluate-stream",
        help="event precision/recall/F1, latency and false alarms on an annotated recording",
    )
    p.add_argument("model", help="an exported .tflite")
    p.add_argument("recording", help="a video or a landmark file (.npz, .csv)")
    p.add_argument(
        "annotations",
        help="CSV, one row per gesture: start_s,end_s,label (with --max-people, a fourth"
        " column: person)",
    )
    p.add_argument("--report-dir", default=None, help="write report.json and timeline.png here")
    add_force_flag(p, "--report-dir")
    p.add_argument(
        "--sweep",
        action="store_true",
        help="decide at thresholds 0.30-0.95 instead: print event F1, false alarms/min,"
        " latency and the SHREC detection rate per threshold, write sweep.json and the"
        " curve sweep.png (in --report-dir, default: here) and suggest a threshold",
    )
    p.add_argument(
        "--max-false-alarms",
        type=float,
        default=1.0,
        help="with --sweep: the suggested threshold has the best event F1 with at most"
        " this many false alarms per minute of background (default: 1)",
    )
    p.add_argument(
        "--min-iou",
        type=float,
        default=0.5,
        help="interval IoU for a detection to match a true event (default: 0.5)",
    )
    _add_decision_flags(p)
    # the layout is the model's; every frame counts (frames with nobody are background)
    add_extractor_flags(p, datasets=False, layout=False, missing=False, people=True)
    p.set_defaults(func=cmd_evaluate_stream)


def add_live(sub: argparse._SubParsersAction) -> None:
    """The `poseact live` command."""
    p = sub.add_parser("live", help="recognize gestures live from a camera or a video file")
    p.add_argument(
        "model", nargs="?", default=None, help="an exported .tflite (its layout is used)"
    )
    p.add_argument(
        "--model", dest="model_flag", default=None, metavar="MODEL", help="the same, as a flag"
    )
    p.add_argument("--source", default="0", help="camera index or video file/URL (default: 0)")
    p.add_argument(
        "--width", type=int, default=None, help="camera frame width, pixels (default: the camera's)"
    )
    p.add_argument(
        "--height",
        type=int,
        default=None,
        help="camera frame height, pixels (default: the camera's)",
    )
    p.add_argument(
        "--no-preview", action="store_true", help="headless: print events only (default: a window)"
    )
    p.add_argument(
        "--output",
        default=None,
        help="also write the frames with skeleton, label and confidence to this .mp4 (default: none)",
    )
    _add_decision_flags(p)
    p.add_argument(
        "--max-frames", type=int, default=None, help="stop after this many frames (default: none)"
    )
    p.add_argument(
        "--max-people",
        type=int,
        default=1,
        help="follow up to this many people, each with their own track, colour, label and"
        " events (docs/people.md; default: 1)",
    )
    p.set_defaults(func=cmd_live)


def add_web(sub: argparse._SubParsersAction) -> None:
    """The `poseact web` command."""
    p = sub.add_parser("web", help="write an in-browser recognizer page for a .tflite model")
    p.add_argument("model", help="an exported .tflite")
    p.add_argument("output_dir", help="the site folder to write")
    p.add_argument(
        "--assets",
        default=None,
        help="local node_modules with the page's npm packages (default: none, the page loads them from a CDN)",
    )
    p.add_argument(
        "--offline",
        action="store_true",
        help="a site that needs no internet: the page's npm packages are downloaded once"
        " (checked against their pinned sha512) into poseact's cache and copied into the"
        " site (default: the page loads them from a CDN)",
    )
    p.add_argument("--serve", action="store_true", help="then serve it (default: only write it)")
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="interface --serve listens on (default: 127.0.0.1, this machine only). A phone"
        " needs --host 0.0.0.0, the same network, and a browser that lets the page use the"
        " camera: HTTPS, or http://localhost on the device itself (see docs/deploy.md)",
    )
    p.add_argument(
        "--port", type=int, default=8000, help="port for --serve, 0: any free one (default: 8000)"
    )
    p.add_argument(
        "--https",
        action="store_true",
        help="--serve over HTTPS with a self-signed certificate made on the spot, so that a"
        " phone's browser lets the page use the camera (default: plain HTTP)",
    )
    p.add_argument(
        "--max-people",
        type=int,
        default=1,
        help="the page follows up to this many people, each with their own track, colour,"
        " label and events (1 to 10; docs/people.md; default: 1)",
    )
    add_force_flag(p, "the site folder")
    p.set_defaults(func=cmd_web)
