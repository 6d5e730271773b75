"""What every command reads from and writes to the user's files, checked once: an input file
that is missing, a directory, unreadable or not JSON (a PNG where JSON was expected), an output
whose directory does not exist or whose extension the command cannot write, a ledger that is not
there for a command that only reads it. Each raises ``InputError`` with one line naming the file;
``main()`` prints it and exits non-zero (never a traceback)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from batterytrace.canonical import parse_json
from batterytrace.errors import BatterytraceError, EncodingError
from batterytrace.storage.base import Store, open_store

__all__ = ["InputError", "check_output", "check_output_dir", "open_ledger_store", "read_bytes", "read_json", "read_json_objects", "read_text"]


class InputError(BatterytraceError):
    """A file or database the user named cannot be used as given."""


def read_bytes(path: Path, what: str = "input file") -> bytes:
    """The bytes of ``path`` (``-``: standard input)."""
    if str(path) == "-":
        return sys.stdin.buffer.read()
    if not path.exists():
        raise InputError(f"{what} {path} does not exist")
    if path.is_dir():
        raise InputError(f"{what} {path} is a directory, not a file")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {what} {path}: {exc.strerror}") from exc


def read_text(path: Path, what: str = "input file") -> str:
    """The UTF-8 text of ``path``; a binary file (an image, a database) is refused by name."""
    data = read_bytes(path, what)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{what} {path} is not text (a binary file{_kind(data)}?)") from exc


def _kind(data: bytes) -> str:
    for magic, name in ((b"\x89PNG", ": a PNG image"), (b"SQLite format 3", ": an SQLite database"),
                        (b"%PDF", ": a PDF"), (b"PK\x03\x04", ": a ZIP archive"), (b"<svg", ": an SVG image")):
        if data.startswith(magic):
            return name
    return ""


def read_json(path: Path, what: str = "JSON file") -> Any:
    """The JSON value in ``path``, or one line saying why there is none."""
    data = read_bytes(path, what)
    if not data.strip():
        raise InputError(f"{what} {path} is empty")
    try:
        return parse_json(data)
    except (EncodingError, RecursionError) as exc:
        raise InputError(f"{what} {path} is not JSON{_kind(data)}: {exc}") from exc


def read_json_objects(path: Path, what: str = "events file") -> list[dict[str, Any]]:
    """JSON objects from ``path``: one object, an array of objects, or JSON lines (one object a
    line, blank lines skipped)."""
    data = read_bytes(path, what)
    if not data.strip():
        raise InputError(f"{what} {path} is empty")
    try:
        doc: Any = orjson.loads(data)
        items = doc if isinstance(doc, list) else [doc]
    except orjson.JSONDecodeError:
        items = []
        for n, line in enumerate(data.splitlines(), 1):
            if not line.strip():
                continue
            try:
                items.append(orjson.loads(line))
            except orjson.JSONDecodeError as exc:
                raise InputError(f"{what} {path} is neither JSON nor JSON lines{_kind(data)} (line {n}: {exc})") from exc
    for n, item in enumerate(items, 1):
        if not isinstance(item, dict):
            raise InputError(f"{what} {path}: item {n} is not a JSON object")
    return items


def check_output(path: Path, suffixes: Sequence[str] = (), what: str = "output file") -> Path:
    """``path`` can be written: its directory exists, it is not a directory, and its extension is
    one of ``suffixes`` (when given)."""
    if suffixes and path.suffix.lower() not in suffixes:
        raise InputError(f"{what} {path} must end in {' or '.join(suffixes)}")
    if path.is_dir():
        raise InputError(f"{what} {path} is a directory")
    parent = path.parent
    if not parent.is_dir():
        raise InputError(f"the directory of {what} {path} does not exist ({parent})")
    return path


def check_output_dir(path: Path, what: str = "output directory") -> Path:
    """``path`` is a directory or can be created as one (its parent exists)."""
    if path.exists() and not path.is_dir():
        raise InputError(f"{what} {path} is a file, not a directory")
    if not path.exists() and not path.parent.is_dir():
        raise InputError(f"{what} {path} cannot be created: {path.parent} does not exist")
    return path


def open_ledger_store(db: str) -> Store:
    """The store of an existing ledger (for commands that read or extend one, never create it)."""
    if not db.startswith(("postgresql://", "postgres://")) and db != ":memory:":
        path = Path(db.removeprefix("sqlite:///").removeprefix("sqlite://"))
        if not path.exists():
            raise InputError(f"no ledger database at {db} (create one with 'batterytrace init --db {db}')")
        if path.is_dir():
            raise InputError(f"ledger database {db} is a directory")
    return open_store(db, create=False)
