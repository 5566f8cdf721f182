"""Class names and other text from files, made safe to store, print and export.

Labels come from folder names, CSV cells, pickles and model files, i.e. from whoever
made the file. They are checked at the door (`label_problem`, `normalize_label`):
printable, no control or bidirectional-override characters, no surrounding spaces,
and Unicode NFC-normalized so that "café" typed two ways is one class. Text printed
from a file goes through `printable` (control characters shown as escapes), and CSV
cells through `csv_cell` (a leading `= + - @` cannot start a spreadsheet formula).
"""

from __future__ import annotations

import unicodedata

__all__ = [
    "MAX_LABEL_LENGTH",
    "label_problem",
    "normalize_label",
    "printable",
    "csv_cell",
    "csv_uncell",
]

#: Longest class name accepted (characters).
MAX_LABEL_LENGTH = 200

#: Characters that reorder or hide text on a terminal (bidirectional overrides and
#: isolates, used to disguise what is shown).
_BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")


def _bad_character(ch: str) -> bool:
    return ch in _BIDI or unicodedata.category(ch) in ("Cc", "Cs", "Co", "Cn", "Zl", "Zp")


def normalize_label(label: str) -> str:
    """The NFC form of `label` (one code point sequence for one written name)."""
    return unicodedata.normalize("NFC", label)


def label_problem(label: object) -> str | None:
    """Why `label` cannot be a class name, or None if it can.

    Refused: not a string, empty, longer than `MAX_LABEL_LENGTH`, spaces around it,
    control characters (ESC, newline, NUL, tab, ...), line separators, unassigned or
    private-use code points, bidirectional overrides. Everything else printable, in
    any script, emoji included, is a class name.
    """
    if not isinstance(label, str):
        return f"it is a {type(label).__name__}, not text"
    if not label:
        return "it is empty"
    if len(label) > MAX_LABEL_LENGTH:
        return f"it is {len(label)} characters long (at most {MAX_LABEL_LENGTH})"
    if label != label.strip():
        return "it has spaces around it"
    bad = sorted({ch for ch in label if _bad_character(ch)})
    if bad:
        shown = ", ".join(f"U+{ord(ch):04X}" for ch in bad[:5])
        return f"it holds control or invisible characters ({shown})"
    return None


def printable(text: object) -> str:
    """`text` safe for a terminal: control, bidirectional and line-separator
    characters are shown as escapes (`\\x1b`, `\\n`, `\\u202e`), the rest as is."""
    text = str(text)
    if not any(_bad_character(ch) for ch in text):
        return text
    return "".join(
        ch.encode("unicode_escape").decode("ascii") if _bad_character(ch) else ch for ch in text
    )


def csv_cell(text: object) -> str:
    """`text` safe as a CSV cell opened by a spreadsheet: a leading `=`, `+`, `-`, `@`
    (or tab / carriage return) would start a formula, so such cells get a leading `'`
    (the OWASP advice); numbers written as numbers are left alone by callers."""
    text = str(text)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def csv_uncell(text: str) -> str:
    """The text `csv_cell` escaped (its leading `'` dropped before `= + - @`)."""
    if len(text) > 1 and text[0] == "'" and text[1] in ("=", "+", "-", "@", "\t", "\r"):
        return text[1:]
    return text
