"""Helpers for the checkpoint-note tests (ours and the third-party verifier's)."""

from __future__ import annotations

import base64


def tampered(note: str, what: str) -> str:
    """``note`` with one part changed: its tree size, root, origin (line and key name) or signature."""
    lines = note.split("\n")
    if what == "size":
        lines[1] = str(int(lines[1]) + 1)
    elif what == "root":
        lines[2] = base64.b64encode(bytes(32)).decode()
    elif what == "origin":
        return note.replace("batterytrace/", "batterytrace.example/")
    else:  # the last signature byte
        sig = base64.b64decode(lines[4].rsplit(" ", 1)[1])
        lines[4] = lines[4].rsplit(" ", 1)[0] + " " + base64.b64encode(sig[:-1] + bytes([sig[-1] ^ 1])).decode()
    return "\n".join(lines)
