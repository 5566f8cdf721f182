"""One frame's MediaPipe results as people: bodies and hands grouped into persons.

`LandmarkExtractor` (in `poseact.extract.extractor`) calls `_one_person` (with
`max_people` 1) or `_people` on the pose and hand landmarker results of a frame; each
person is a `_Person` tuple of (K, 3) landmarks, (K,) visibility and (K, 3) world
landmarks or None, NaN where not found.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from poseact.extract.options import _NUM_HAND_POINTS, _NUM_POSE_POINTS, ExtractorOptions

_HAND_SLOTS = {"Left": 0, "Right": 1}  # MediaPipe handedness label -> slot in "hands"

_Person = tuple[np.ndarray, np.ndarray, "np.ndarray | None"]  # landmarks, visibility, world


def _blank(options: ExtractorOptions) -> _Person:
    k = options.num_points
    landmarks = np.full((k, 3), np.nan, dtype=np.float32)
    visibility = np.zeros((k,), dtype=np.float32)
    world = np.full((k, 3), np.nan, dtype=np.float32) if options.world_landmarks else None
    return landmarks, visibility, world


def _put_body(person: _Person, result: Any, i: int) -> None:
    landmarks, visibility, world = person
    points = result.pose_landmarks[i]
    landmarks[:_NUM_POSE_POINTS] = [(p.x, p.y, p.z) for p in points]
    visibility[:_NUM_POSE_POINTS] = [1.0 if p.visibility is None else p.visibility for p in points]
    if world is not None and i < len(result.pose_world_landmarks or []):
        world[:_NUM_POSE_POINTS] = [(p.x, p.y, p.z) for p in result.pose_world_landmarks[i]]


def _put_hand(person: _Person, result: Any, i: int, offset: int, slot: int, score: float) -> None:
    landmarks, visibility, world = person
    start = offset + slot * _NUM_HAND_POINTS
    stop = start + _NUM_HAND_POINTS
    landmarks[start:stop] = [(p.x, p.y, p.z) for p in result.hand_landmarks[i]]
    visibility[start:stop] = score
    if world is not None and i < len(result.hand_world_landmarks or []):
        world[start:stop] = [(p.x, p.y, p.z) for p in result.hand_world_landmarks[i]]


def _hand_list(result: Any) -> list[tuple[int, int, float]]:
    """(hand index, slot, score) of each hand MediaPipe labelled Left or Right."""
    hands = []
    for i, categories in enumerate(result.handedness or []):
        if not categories:
            continue
        slot = _HAND_SLOTS.get(categories[0].category_name)
        if slot is not None:
            hands.append((i, slot, float(categories[0].score)))
    return hands


def _one_person(options: ExtractorOptions, pose: Any, hands: Any) -> _Person:
    """The one person of `max_people` 1: the first body, the best hand of each side."""
    person = _blank(options)
    offset = 0
    if pose is not None:
        if pose.pose_landmarks:
            _put_body(person, pose, 0)
        offset = _NUM_POSE_POINTS
    if hands is not None:
        best: dict[int, tuple[float, int]] = {}  # slot -> (score, hand index)
        for i, slot, score in _hand_list(hands):
            if slot not in best or score > best[slot][0]:
                best[slot] = (score, i)
        for slot, (score, i) in best.items():
            _put_hand(person, hands, i, offset, slot, score)
    return person


#: A hand belongs to a body whose wrist is within this many shoulder widths of its wrist.
_HAND_TO_BODY = 1.5
#: Two hands (left, right) are one person's when their wrists are this many hand lengths apart.
_HAND_TO_HAND = 6.0
_WRISTS = (15, 16)  # pose left and right wrist
_SHOULDERS = (11, 12)


def _pixels(points: Any, size: tuple[int, int]) -> np.ndarray:
    return np.array([(p.x * size[0], p.y * size[1]) for p in points], dtype=np.float64)


def _people(
    options: ExtractorOptions, pose: Any, hands: Any, size: tuple[int, int]
) -> list[_Person]:
    """Every person: bodies in MediaPipe's order, hands given to the nearest body's
    wrists (pose+hands) or paired left with right (hands), leftover hands alone."""
    people: list[_Person] = []
    offset = 0
    wrists: list[np.ndarray] = []  # per body: (2, 2) wrist pixels
    reach: list[float] = []  # per body: how far from a wrist its hand may be, pixels
    if pose is not None:
        for i, points in enumerate(pose.pose_landmarks or []):
            person = _blank(options)
            _put_body(person, pose, i)
            people.append(person)
            xy = _pixels(points, size)
            wrists.append(xy[list(_WRISTS)])
            shoulders = float(np.linalg.norm(xy[_SHOULDERS[0]] - xy[_SHOULDERS[1]]))
            reach.append(_HAND_TO_BODY * max(shoulders, 0.05 * max(size)))
        offset = _NUM_POSE_POINTS
    if hands is None:
        return people
    found = _hand_list(hands)
    taken: set[tuple[int, int]] = set()  # (person, slot)
    placed: set[int] = set()
    pairs = []
    for i, slot, score in found:
        wrist = _pixels(hands.hand_landmarks[i][:1], size)[0]
        for body, body_wrists in enumerate(wrists):
            distance = float(np.min(np.linalg.norm(body_wrists - wrist, axis=1)))
            if distance <= reach[body]:
                pairs.append((distance, -score, i, body, slot))
    for _distance, negative_score, i, body, slot in sorted(pairs):
        if i in placed or (body, slot) in taken:
            continue
        _put_hand(people[body], hands, i, offset, slot, -negative_score)
        taken.add((body, slot))
        placed.add(i)
    # hands without a body: a left and a right hand near each other are one person
    rest = [(i, slot, score) for i, slot, score in found if i not in placed]
    rest_pairs = []
    for a, (i, slot_i, _) in enumerate(rest):
        for j, slot_j, _ in rest[a + 1 :]:
            if slot_i == slot_j:
                continue
            xy_i = _pixels(hands.hand_landmarks[i], size)
            xy_j = _pixels(hands.hand_landmarks[j], size)
            length = max(
                float(np.linalg.norm(xy_i[9] - xy_i[0])), float(np.linalg.norm(xy_j[9] - xy_j[0]))
            )
            distance = float(np.linalg.norm(xy_i[0] - xy_j[0]))
            if distance <= _HAND_TO_HAND * length:
                rest_pairs.append((distance, i, j))
    alone = {i: (slot, score) for i, slot, score in rest}
    for _distance, i, j in sorted(rest_pairs):
        if i not in alone or j not in alone:
            continue
        person = _blank(options)
        for hand in (i, j):
            slot, score = alone.pop(hand)
            _put_hand(person, hands, hand, offset, slot, score)
        people.append(person)
    for i, (slot, score) in alone.items():
        person = _blank(options)
        _put_hand(person, hands, i, offset, slot, score)
        people.append(person)
    return people[: options.max_people]
