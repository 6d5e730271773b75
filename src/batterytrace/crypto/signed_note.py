"""C2SP signed notes (c2sp.org/signed-note) with Ed25519 signatures.

A signed note is a text ending in a newline, a blank line, then signature lines
``— <key name> <base64(4-byte key ID || signature)>``. For Ed25519 (signature type 0x01) the key
ID is the first four bytes of SHA-256(key name || 0x0A || 0x01 || 32-byte public key) and the
signature is Ed25519 over the note text. A verifier key ("vkey") is the text
``<key name>+<hex key ID>+<base64(0x01 || public key)>``.

``open_note`` refuses with a :class:`NoteError` whose ``rule`` names the reason (``note.size``,
``note.malformed``, ``note.key_id``, ``note.signature``, ``note.vkey``). Signatures by other keys
are ignored, as the specification requires (witness cosignatures, key rotation).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from batterytrace.crypto.signing import SigningKey, verify_signature
from batterytrace.errors import VerificationError

__all__ = [
    "ED25519_TYPE",
    "MAX_NOTE_BYTES",
    "MAX_NOTE_SIGNATURES",
    "NoteError",
    "NoteVerifier",
    "check_key_name",
    "note_key_id",
    "open_note",
    "sign_note",
]

ED25519_TYPE = 0x01
#: the specification asks verifiers to accept at least 16 signatures of up to ~5 kB (post-quantum)
MAX_NOTE_BYTES = 128 * 1024
MAX_NOTE_SIGNATURES = 64
_EM_DASH = "\u2014"


class NoteError(VerificationError):
    """A signed note refused; ``rule`` names why (``note.*``)."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(f"[{rule}] {message}")
        self.rule = rule
        self.detail = message


def _b64decode(text: str) -> bytes:
    """Strict standard base64 (RFC 4648 §4, padded); ``binascii.Error`` otherwise."""
    raw = base64.b64decode(text.encode("ascii"), validate=True)
    if base64.b64encode(raw).decode("ascii") != text:  # non-canonical padding bits
        raise binascii.Error("non-canonical base64")
    return raw


def check_key_name(name: str) -> str:
    """A key name is non-empty, without Unicode spaces, plus signs or control characters."""
    if not name or "+" in name or any(c.isspace() or ord(c) < 0x20 or c == "\x7f" for c in name):
        raise NoteError("note.malformed", f"invalid key name {name[:80]!r}")
    return name


def note_key_id(name: str, public_key: bytes) -> bytes:
    """The four-byte Ed25519 key ID of ``name`` and ``public_key``."""
    return hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([ED25519_TYPE]) + public_key).digest()[:4]


@dataclass(frozen=True)
class NoteVerifier:
    """An Ed25519 note verifier key: its name, key ID and public key."""

    name: str
    key_id: bytes
    public_key: bytes

    @classmethod
    def of(cls, name: str, public_key: bytes) -> NoteVerifier:
        if len(public_key) != 32:
            raise NoteError("note.vkey", "an Ed25519 public key has 32 bytes")
        return cls(check_key_name(name), note_key_id(name, public_key), public_key)

    @classmethod
    def parse(cls, vkey: str) -> NoteVerifier:
        """Parse ``<name>+<hex key ID>+<base64(0x01 || public key)>``; the key ID must be the one
        the name and key imply."""
        if not isinstance(vkey, str) or len(vkey) > 1024:
            raise NoteError("note.vkey", "a verifier key is a text of at most 1024 characters")
        parts = vkey.split("+", 2)  # the base64 key may contain plus signs
        if len(parts) != 3:
            raise NoteError("note.vkey", "a verifier key is <name>+<hex key id>+<base64 key>")
        name, hex_id, b64 = parts
        try:
            check_key_name(name)
        except NoteError as exc:
            raise NoteError("note.vkey", exc.detail) from exc
        if len(hex_id) != 8 or hex_id != hex_id.lower():
            raise NoteError("note.vkey", "the key id of a verifier key is 8 lowercase hex digits")
        try:
            key_id = bytes.fromhex(hex_id)
            material = _b64decode(b64)
        except (ValueError, binascii.Error) as exc:
            raise NoteError("note.vkey", f"verifier key does not decode: {exc}") from exc
        if len(material) != 33 or material[0] != ED25519_TYPE:
            raise NoteError("note.vkey", "only Ed25519 verifier keys (type 0x01, 32-byte key) are supported")
        verifier = cls.of(name, material[1:])
        if verifier.key_id != key_id:
            raise NoteError("note.vkey", "the key id of the verifier key does not match its name and key")
        return verifier

    def encode(self) -> str:
        material = base64.b64encode(bytes([ED25519_TYPE]) + self.public_key).decode("ascii")
        return f"{self.name}+{self.key_id.hex()}+{material}"


def signature_line(name: str, key_id: bytes, signature: bytes) -> str:
    return f"{_EM_DASH} {name} {base64.b64encode(key_id + signature).decode('ascii')}\n"


def sign_note(text: str, name: str, key: SigningKey) -> str:
    """The signed note of ``text`` (ending in a newline) signed by ``key`` under ``name``."""
    _check_text(text)
    signature = key.sign(text.encode("utf-8"))
    return text + "\n" + signature_line(check_key_name(name), note_key_id(name, key.public_key), signature)


def _check_text(text: str) -> None:
    if not text.endswith("\n"):
        raise NoteError("note.malformed", "the note text does not end with a newline")
    if any(ord(c) < 0x20 and c != "\n" for c in text):
        raise NoteError("note.malformed", "the note contains a control character")


def open_note(note: str | bytes, verifier: NoteVerifier) -> str:
    """Verify ``note`` with ``verifier`` and return its text.

    Refused: more than ``MAX_NOTE_BYTES`` (``note.size``); not UTF-8, control characters, no
    blank line, malformed signature lines, more than ``MAX_NOTE_SIGNATURES`` (``note.malformed``);
    no signature by the verifier's name and key ID (``note.key_id``); a signature by that key that
    does not verify (``note.signature``)."""
    size = len(note) if isinstance(note, bytes) else len(note.encode("utf-8", "surrogatepass"))
    if size > MAX_NOTE_BYTES:
        raise NoteError("note.size", f"the note has {size} bytes; at most {MAX_NOTE_BYTES} are read")
    if isinstance(note, bytes):
        try:
            note = note.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise NoteError("note.malformed", "the note is not UTF-8") from exc
    try:
        note.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise NoteError("note.malformed", "the note is not UTF-8 text") from exc
    _check_text(note)
    split = note.rfind("\n\n")
    if split < 0:
        raise NoteError("note.malformed", "no blank line separates the text from its signatures")
    text, block = note[: split + 1], note[split + 2 :]
    lines = block.split("\n")[:-1]  # block ends with a newline (checked above)
    if not lines:
        raise NoteError("note.malformed", "the note has no signature lines")
    if len(lines) > MAX_NOTE_SIGNATURES:
        raise NoteError("note.malformed", f"the note has {len(lines)} signatures; at most {MAX_NOTE_SIGNATURES} are read")
    matched = False
    for n, line in enumerate(lines, 1):
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != _EM_DASH:
            raise NoteError("note.malformed", f"signature line {n} is not '{_EM_DASH} <name> <base64>'")
        name = check_key_name(parts[1])
        try:
            raw = _b64decode(parts[2])
        except (ValueError, binascii.Error) as exc:
            raise NoteError("note.malformed", f"signature line {n} is not base64") from exc
        if len(raw) < 5:
            raise NoteError("note.malformed", f"signature line {n} is too short")
        if name != verifier.name or raw[:4] != verifier.key_id:
            continue  # another key's signature: ignored
        matched = True
        try:
            verify_signature(verifier.public_key, text.encode("utf-8"), raw[4:])
        except VerificationError as exc:
            raise NoteError("note.signature", f"the signature of {name} does not verify") from exc
    if not matched:
        raise NoteError("note.key_id", f"no signature by key {verifier.name} with key id {verifier.key_id.hex()}")
    return text
