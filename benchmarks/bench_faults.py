"""The fault matrix: every reliability case, with real faults, and what was lost.

    python benchmarks/bench_faults.py [--quick] [--json benchmarks/results/faults.json]

Runs the reliability tests (issue 6's kill, disk-full and two-writer cases in
tests/test_bad_input_faults.py, issue 13's cases in tests/test_reliability_*.py, and
issue 28's hostile files, destroyed inputs and web server in tests/test_security_*.py)
with pytest in this process: real processes killed with SIGKILL, real tmpfs mounts that
fill up (as root), two real recorders into one folder, the CLI in child processes read
at the file-descriptor level. It prints one line per issue item and then::

    cases tried  N
    cases ok     N
    data lost    0

"data lost" counts the failed cases among those that guard data (an input overwritten,
a clip overwritten by another recorder, a partial file under a final name, a file that
cannot be read back, a write outside the dataset folder); it must be 0. `--quick`
leaves out the cases marked slow. Exit code 0 only if every case is ok.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FILES = (
    "tests/test_bad_input_faults.py",
    "tests/test_reliability_cli.py",
    "tests/test_reliability_data.py",
    "tests/test_security_files.py",
    "tests/test_security_cli.py",
    "tests/test_security_web.py",
    "tests/test_security_sweep.py",
)

#: test function → (item, what it guards); "data" items count towards "data lost".
ITEMS: dict[str, tuple[str, str]] = {
    # issue 6: killed processes, full disks, two writers of one cache entry
    "test_killed_extraction_leaves_complete_entries_and_a_rerun_resumes": ("6.kill", "data"),
    "test_kill_inside_a_cache_write": ("6.kill", "data"),
    "test_kill_while_overwriting_a_dataset_clip_keeps_the_old_clip": ("6.kill", "data"),
    "test_killed_recording_keeps_finished_clips_and_continues": ("6.kill", "data"),
    "test_interrupted_model_save_keeps_the_previous_model": ("6.kill", "data"),
    "test_full_disk_when_saving_clips_and_datasets": ("6.disk", "data"),
    "test_full_disk_when_saving_a_model": ("6.disk", "data"),
    "test_full_disk_under_the_cache_and_the_command_line": ("6.disk", "data"),
    "test_two_processes_writing_the_same_cache_entry": ("6.writers", "data"),
    # issue 13
    "test_extract_never_overwrites_its_input_video": ("13.1 own input", "data"),
    "test_extract_of_a_folder_into_itself_is_refused": ("13.1 own input", "data"),
    "test_train_and_export_never_overwrite_their_input": ("13.1 own input", "data"),
    "test_compare_render_never_overwrites_its_json": ("13.1 own input", "data"),
    "test_two_recorders_into_one_folder_keep_every_clip": ("13.2 two recorders", "data"),
    "test_two_record_commands_at_once": ("13.2 two recorders", "data"),
    "test_recorded_video_on_a_full_disk_is_never_left_unreadable": ("13.3 full disk", "data"),
    "test_write_video_on_a_full_disk": ("13.3 full disk", "data"),
    "test_web_onto_a_full_disk_leaves_no_partial_site": ("13.3 full disk", "data"),
    "test_float16_save_refuses_values_it_cannot_hold": ("13.4 dataset files", "data"),
    "test_to_folder_refuses_labels_that_are_not_folder_names": ("13.4 dataset files", "data"),
    "test_a_huge_timestamp_gap_does_not_allocate_empty_time": ("13.5 memory", "crash"),
    "test_streaming_featurizer_gap_does_not_emit_empty_time": ("13.5 memory", "crash"),
    "test_live_with_a_preview_and_no_display_does_not_abort": ("13.6 no display", "crash"),
    "test_record_with_a_preview_and_no_display_does_not_abort": ("13.6 no display", "crash"),
    "test_streaming_recognizer_refuses_bad_timestamps": ("13.7 timestamps", "crash"),
    "test_bad_group_patterns_are_one_line": ("13.8 tracebacks", "message"),
    "test_web_serve_on_an_impossible_port_is_one_line": ("13.8 tracebacks", "message"),
    "test_numbers_out_of_range_are_one_line": ("13.8 tracebacks", "message"),
    "test_compare_render_of_json_without_its_keys_is_one_line": ("13.8 tracebacks", "message"),
    "test_a_clip_given_as_a_dataset_says_so": ("13.8 tracebacks", "message"),
    "test_model_file_member_that_inflates_to_a_gibibyte": ("13.9 model files", "crash"),
    "test_model_metadata_is_validated_at_load": ("13.9 model files", "result"),
    "test_extract_writes_what_the_suffix_says": ("13.10 wrong results", "result"),
    "test_demo_with_zero_epochs_is_refused": ("13.10 wrong results", "result"),
    "test_video_claiming_12800_fps_is_reported": ("13.10 wrong results", "result"),
    "test_errors_after_loading_mediapipe_are_one_line": ("13.11 native logs", "message"),
    "test_errors_after_loading_tensorflow_and_litert_are_one_line": (
        "13.11 native logs",
        "message",
    ),
    "test_native_logs_come_back_with_debug": ("13.11 native logs", "message"),
    "test_csv_with_a_byte_order_mark_is_read": ("13.12 messages", "message"),
    "test_one_clip_per_class_says_test_fraction_0": ("13.12 messages", "message"),
    "test_report_dir_that_is_a_file": ("13.12 messages", "message"),
    "test_unreadable_video_says_permission_denied": ("13.12 messages", "message"),
    "test_ten_thousand_group_names_are_summarized": ("13.12 messages", "message"),
    # issue 28: hostile files, destroyed inputs, the web server
    "test_a_character_device_is_never_replaced": ("28.1 outputs", "data"),
    "test_a_fifo_is_refused_without_blocking": ("28.1 outputs", "data"),
    "test_a_symbolic_link_is_followed_on_purpose": ("28.1 outputs", "data"),
    "test_a_registered_input_is_never_written_even_through_a_hard_link": ("28.1 outputs", "data"),
    "test_a_folder_output_keeps_user_files_and_refuses_to_replace_them": ("28.1 outputs", "data"),
    "test_predict_never_writes_onto_any_of_its_inputs": ("28.1 outputs", "data"),
    "test_outputs_onto_device_nodes_fifos_and_links": ("28.1 outputs", "data"),
    "test_web_never_replaces_the_users_own_page": ("28.1 outputs", "data"),
    "test_the_users_own_index_html_is_never_replaced": ("28.1 outputs", "data"),
    "test_a_report_on_a_full_disk_is_all_or_nothing": ("28.2 units", "data"),
    "test_evaluate_report_on_a_full_disk_is_whole_or_absent": ("28.2 units", "data"),
    "test_extract_of_a_dataset_onto_a_full_disk_leaves_no_partial_folder": ("28.2 units", "data"),
    "test_a_malicious_pickle_never_runs": ("28.3 pickle", "data"),
    "test_a_real_pyskl_pickle_still_reads": ("28.3 pickle", "result"),
    "test_a_malicious_pickle_runs_nothing_in_any_command": ("28.3 pickle", "data"),
    "test_a_landmark_npz_bomb_is_refused_before_inflating": ("28.4 bombs", "crash"),
    "test_an_npy_header_declaring_more_than_its_member_holds": ("28.4 bombs", "crash"),
    "test_an_all_nan_hour_long_clip_is_not_taken_for_a_bomb": ("28.4 bombs", "result"),
    "test_a_model_whose_nested_rehearsal_npz_is_a_bomb": ("28.4 bombs", "crash"),
    "test_image_bombs_are_measured_before_decoding": ("28.4 bombs", "crash"),
    "test_labels_with_control_characters_or_spaces_are_refused": ("28.5 injection", "message"),
    "test_unicode_forms_of_one_name_are_one_class": ("28.5 injection", "result"),
    "test_formula_labels_are_escaped_in_csv_and_read_back": ("28.5 injection", "result"),
    "test_model_files_with_escape_sequences_in_their_classes_are_refused": (
        "28.5 injection",
        "message",
    ),
    "test_labels_with_escape_sequences_are_refused_and_never_printed_raw": (
        "28.5 injection",
        "message",
    ),
    "test_only_the_sites_own_files_are_served": ("28.6 web server", "data"),
    "test_half_open_connections_hold_no_threads": ("28.6 web server", "crash"),
    "test_https_with_a_certificate_made_on_the_spot": ("28.6 web server", "result"),
    "test_a_folder_poseact_did_not_write_is_not_served": ("28.6 web server", "data"),
    "test_busy_and_impossible_addresses_are_one_clear_line": ("28.6 web server", "message"),
    "test_web_serve_prints_the_real_addresses_and_serves_https": ("28.6 web server", "result"),
    "test_landmarks_that_make_nonsense_are_refused": ("28.7 nonsense", "result"),
    "test_options_that_grow_without_bound_are_refused": ("28.7 nonsense", "crash"),
    "test_a_network_with_nan_weights_is_never_saved_or_exported": ("28.7 nonsense", "data"),
    "test_values_that_make_nonsense_are_one_line": ("28.7 nonsense", "message"),
    "test_a_200_class_report_is_bounded": ("28.7 nonsense", "crash"),
    "test_one_model_shared_by_threads_gives_each_its_own_answer": ("28.8 threads", "result"),
    "test_one_stepper_used_from_two_threads_says_so": ("28.8 threads", "result"),
    "test_a_fifo_given_as_input_is_named_and_does_not_hang": ("28.9 words", "message"),
    "test_export_given_a_tflite_and_a_truncated_tflite": ("28.9 words", "message"),
    "test_unicode_paths_with_an_ascii_terminal": ("28.9 words", "message"),
    "test_two_exports_to_one_file_at_once": ("28.9 words", "data"),
    "test_offline_means_no_download_even_when_asked": ("28.9 words", "result"),
    "test_busy_and_bad_host_or_port_for_web_serve": ("28.9 words", "message"),
    # issue 28: the engineer's own sweep, cases the issue did not list
    "test_a_crafted_manifest_cannot_delete_or_serve_files_outside_its_folder": ("28.sweep", "data"),
    "test_a_link_inside_the_site_never_leads_the_server_out": ("28.sweep", "data"),
    "test_a_clip_that_is_a_link_to_a_device_does_not_hang_a_dataset": ("28.sweep", "data"),
    "test_an_object_array_inside_an_npz_runs_nothing": ("28.sweep", "data"),
    "test_a_zip_with_a_member_twice_is_refused": ("28.sweep", "result"),
    "test_a_deeply_nested_pickle_ends_in_one_error_not_a_crash": ("28.sweep", "crash"),
    "test_a_label_of_ten_thousand_characters_is_refused": ("28.sweep", "message"),
    "test_a_model_whose_metadata_asks_for_a_huge_window": ("28.sweep", "crash"),
    "test_a_file_name_with_escape_sequences_is_printed_escaped": ("28.sweep", "message"),
    "test_huge_request_lines_and_header_floods_are_refused_quietly": ("28.sweep", "crash"),
    "test_a_report_dir_that_is_a_link_is_followed": ("28.sweep", "data"),
    "test_csv_landmarks_of_1e30_are_refused_at_the_door": ("28.sweep", "result"),
    "test_a_damaged_manifest_means_no_file_is_poseacts": ("28.sweep", "data"),
    "test_a_model_whose_keras_config_asks_for_a_python_lambda": ("28.sweep", "message"),
}


class _Collector:
    """A pytest plugin recording each case's outcome (call phase, or a setup error)."""

    def __init__(self) -> None:
        self.outcomes: dict[str, str] = {}

    def pytest_runtest_logreport(self, report) -> None:  # noqa: D401 - pytest hook
        if report.when == "call" or report.outcome != "passed":
            if report.nodeid not in self.outcomes or report.outcome != "passed":
                self.outcomes[report.nodeid] = report.outcome


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="leave out the slow cases")
    parser.add_argument("--json", default=None, help="also write the results here")
    args = parser.parse_args(argv)
    import pytest

    os.chdir(REPO)
    collector = _Collector()
    started = time.perf_counter()
    pytest_args = ["-q", "-p", "no:cacheprovider", "--tb=line", *FILES]
    if args.quick:
        pytest_args += ["-m", "not slow"]
    pytest.main(pytest_args, plugins=[collector])
    seconds = time.perf_counter() - started

    per_item: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    tried = ok = lost = skipped = 0
    failures = []
    for nodeid, outcome in collector.outcomes.items():
        function = nodeid.split("::")[-1].split("[")[0]
        item, guards = ITEMS.get(function, ("other", "message"))
        if outcome == "skipped":
            skipped += 1
            continue
        tried += 1
        per_item[item][0] += 1
        if outcome == "passed":
            ok += 1
            per_item[item][1] += 1
        else:
            failures.append(nodeid)
            lost += guards == "data"
    print("\nfault matrix (real faults; see docs/reliability.md)")
    for item in sorted(
        per_item,
        key=lambda k: [
            (0, int(p), "") if p.isdigit() else (1, 0, p) for p in k.replace(".", " ").split()[:2]
        ],
    ):
        n, good = per_item[item]
        print(f"  {item:<22} {good:>3} of {n:>3} ok")
    print(f"cases tried  {tried}")
    print(f"cases ok     {ok}")
    print(f"data lost    {lost}")
    if skipped:
        print(f"skipped      {skipped} (e.g. tmpfs needs root)")
    for nodeid in failures:
        print(f"  failed: {nodeid}")
    print(f"({seconds / 60:.1f} min)")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(
            json.dumps(
                {
                    "tried": tried,
                    "ok": ok,
                    "data_lost": lost,
                    "skipped": skipped,
                    "failed": failures,
                    "seconds": seconds,
                    "items": per_item,
                },
                indent=1,
            )
            + "\n"
        )
    return 0 if ok == tried and lost == 0 else 1


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    sys.exit(main())
