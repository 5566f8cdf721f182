"""Command-line flags made from the options dataclasses, so the CLI never types a default.

Each flag takes its name, type, default and help text from a field of an options
dataclass (`TrainingOptions.epochs` → `--epochs`, help from the "Attributes:" section
of the class docstring, "(default: 60)" from the field). Parsed flags default to None:
`options_from_args` applies only those the user gave, with `dataclasses.replace`, onto
a base (the dataclass's defaults unless a command passes others).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import inspect
import re
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["field_help", "add_option_flags", "options_from_args", "user_words"]


@functools.cache
def _attribute_docs(cls: type) -> dict[str, str]:
    """Field name → its text in the class docstring's "Attributes:" section."""
    doc = inspect.getdoc(cls) or ""
    match = re.search(r"^Attributes:\n(.*?)(?:^\S|\Z)", doc, re.S | re.M)
    if not match:
        return {}
    docs: dict[str, str] = {}
    current = None
    for line in match.group(1).splitlines():
        entry = re.match(r"^\s{4}(\w+(?:, \w+)*):\s*(.*)$", line)
        if entry:
            names, text = entry.groups()
            current = [n.strip() for n in names.split(",")]
            for name in current:
                docs[name] = text.strip()
        elif current and line.strip():
            for name in current:
                docs[name] += " " + line.strip()
    return docs


def _field_type(cls: type, field: dataclasses.Field) -> Any:
    hints = typing.get_type_hints(cls)
    hint = hints.get(field.name, str)
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        hint = args[0] if len(args) == 1 else str
    return hint


def _default(field: dataclasses.Field) -> Any:
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return dataclasses.MISSING


#: "(see `poseact.train.auto`)", "(`poseact.runtime.rejection`)": pointers into the code.
_CODE_POINTER = re.compile(r"\s*\((?:see )?`[\w.]+`\)")


def user_words(text: str, flags: Mapping[str, str] | None = None) -> str:
    """Docstring text in a command-line user's words: another field of the same class
    becomes its flag (`majority_frames` → --majority-frames), pointers into the code
    ("(see `poseact.train.auto`)") go, and the remaining backticks are dropped.

    Args:
        text: the docstring text.
        flags: field name → its flag (with dashes) for the fields the command offers.
    """
    text = _CODE_POINTER.sub("", text)
    for field, flag in (flags or {}).items():
        text = text.replace(f"`{field}`", flag)
    return text.replace("`", "")


def field_help(
    cls: type,
    name: str,
    *,
    default: Any = dataclasses.MISSING,
    flags: Mapping[str, str] | None = None,
) -> str:
    """The help text of `cls.name` in a user's words (`user_words`) and its default."""
    field = {f.name: f for f in dataclasses.fields(cls)}[name]
    text = user_words(_attribute_docs(cls).get(name, ""), flags).rstrip(".")
    value = _default(field) if default is dataclasses.MISSING else default
    if value is dataclasses.MISSING:
        return text
    shown = "none" if value is None else value
    return f"{text} (default: {shown})" if text else f"default: {shown}"


def add_option_flags(
    parser: argparse.ArgumentParser | Any,
    cls: type,
    names: Sequence[str],
    *,
    prefix: str = "",
    flags: Mapping[str, str] | None = None,
    choices: Mapping[str, Sequence[str]] | None = None,
    defaults: Mapping[str, Any] | None = None,
) -> None:
    """Add one flag per field of `cls` in `names` to `parser` (or an argument group).

    Args:
        parser: where the flags go.
        cls: an options dataclass.
        names: the fields to expose, in order.
        prefix: prefix of the argparse destinations (to keep classes apart), e.g.
            "training." gives `args.__dict__["training.epochs"]`.
        flags: field → flag name (without dashes) where it is not the field's name.
        choices: field → allowed values.
        defaults: field → the default shown in the help where the command's base
            differs from the dataclass's.
    """
    fields = {f.name: f for f in dataclasses.fields(cls)}
    flags, choices, defaults = dict(flags or {}), dict(choices or {}), dict(defaults or {})
    offered = {name: "--" + flags.get(name, name).replace("_", "-") for name in names}
    for name in names:
        field = fields[name]
        flag = offered[name]
        kind = _field_type(cls, field)
        help_text = field_help(
            cls, name, default=defaults.get(name, dataclasses.MISSING), flags=offered
        )
        dest = prefix + name
        if kind is bool:
            parser.add_argument(
                flag, dest=dest, action=argparse.BooleanOptionalAction, default=None, help=help_text
            )
            continue
        caster = kind if kind in (int, float, str) else str
        metavar = None if name in choices else name.upper()
        parser.add_argument(
            flag,
            dest=dest,
            type=caster,
            default=None,
            choices=choices.get(name),
            metavar=metavar,
            help=help_text,
        )


def options_from_args(
    args: argparse.Namespace, cls: type, *, prefix: str = "", base: Any = None, **changes: Any
):
    """`base` (default `cls()`) with the flags the user gave, and `changes`, applied.

    Raises:
        ValueError: the resulting options are invalid (the dataclass's own check).
    """
    given = {}
    for field in dataclasses.fields(cls):
        value = getattr(args, prefix + field.name, None)
        if value is not None:
            given[field.name] = value
    given.update(changes)
    return dataclasses.replace(base if base is not None else cls(), **given)
