"""Every command, fed the mistakes users make with files, prints one line on stderr and exits
non-zero, never a traceback: a missing input file, a file of the wrong type (a PNG where JSON, a
key or a presentation is expected), a directory where a file is expected, an output with an
extension the command cannot write or in a directory that does not exist, an unreadable key
file, and a ledger database that does not exist for a command that reads one. The shared checks
live in ``batterytrace.cli.inputs`` and ``main()``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from batterytrace.crypto.signing import SigningKey
from batterytrace.demo.master_data import VOLTARA_VM75
from batterytrace.keys import save_key
from batterytrace.ledger.ledger import Ledger
from batterytrace.passport.master import master_to_dict
from batterytrace.storage.sqlite import SQLiteStore
from cli_support import bt, run_main

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))
DID = SigningKey.from_label("errors/did").did


class Files:
    """One directory of good and bad inputs: a ledger, keys, master data, a PNG, a directory."""

    def __init__(self, d: Path) -> None:
        self.d = d
        self.db = d / "l.db"
        operator = SigningKey.from_label("errors/operator")
        Ledger(SQLiteStore(str(self.db)), operator.did).close()
        save_key(operator, d / "l.db.operator.key")
        self.key = d / "good.key"
        save_key(SigningKey.from_label("errors/key"), self.key)
        self.master = d / "master.json"
        self.master.write_text(json.dumps(master_to_dict(VOLTARA_VM75)))
        self.png = d / "picture.png"
        self.png.write_bytes(PNG)
        self.text_key = d / "text.key"
        self.text_key.write_text("not a seed\n")
        self.folder = d / "folder"
        self.folder.mkdir()
        self.missing = d / "missing.json"
        self.nodb = d / "nowhere.db"
        self.nodir = d / "no-such-dir"


# (case id, command builder): each builder returns the arguments of one bad invocation
Case = Callable[[Files], list[object]]

CASES: dict[str, Case] = {
    # missing input file / wrong file type / a directory
    "submit/missing": lambda f: ["submit", f.missing, "--db", f.db],
    "submit/directory": lambda f: ["submit", f.folder, "--db", f.db],
    "event-sign/missing": lambda f: ["event", "sign", f.missing, "--key", f.key, "--db", f.db],
    "event-sign/png": lambda f: ["event", "sign", f.png, "--key", f.key, "--db", f.db],
    "event-sign/directory": lambda f: ["event", "sign", f.folder, "--key", f.key, "--db", f.db],
    "passport-verify/missing": lambda f: ["passport", "verify", f.missing, "--operator", DID],
    "passport-verify/png": lambda f: ["passport", "verify", f.png, "--operator", DID],
    "passport-verify/status-list-png": lambda f: ["passport", "verify", f.master, "--operator", DID, "--status-list", f.png],
    "passport-status/key-png": lambda f: ["passport", "status", "urn:x:1", "--key", f.png, "--passports", f.folder],
    "init/db-dir-missing": lambda f: ["init", "--db", f.nodir / "l.db", "--operator-key", f.key],
    "passport-show/png": lambda f: ["passport", "show", f.png, "--operator", DID],
    "passport-show/missing": lambda f: ["passport", "show", f.missing, "--operator", DID],
    "passport-issue/master-missing": lambda f: ["passport", "issue", "1/2", "--key", f.key, "--master", f.missing, "--db", f.db],
    "passport-issue/master-png": lambda f: ["passport", "issue", "1/2", "--key", f.key, "--master", f.png, "--db", f.db],
    "passport-export/master-png": lambda f: ["passport", "export", "1/2", "--master", f.png, "--out", f.d / "x.json", "--db", f.db],
    "anchor-passport/png": lambda f: ["anchor", "passport", f.png, "--db", f.db],
    "serve/config-missing": lambda f: ["serve", "--config", f.missing, "--db", f.db],
    "serve/config-png": lambda f: ["serve", "--config", f.png, "--db", f.db],
    # outputs: wrong extension, missing directory, a directory
    "passport-qr/extension": lambda f: ["passport", "qr", "1/2", "--out", f.d / "x.txt", "--db", f.db],
    "passport-qr/no-dir": lambda f: ["passport", "qr", "1/2", "--out", f.nodir / "x.png", "--db", f.db],
    "passport-export/extension": lambda f: ["passport", "export", "1/2", "--master", f.master, "--out", f.d / "x.csv", "--db", f.db],
    "passport-export/no-dir": lambda f: ["passport", "export", "1/2", "--master", f.master, "--out", f.nodir / "x.json", "--db", f.db],
    "passport-issue/out-is-a-file": lambda f: ["passport", "issue", "1/2", "--key", f.key, "--master", f.master, "--out", f.png, "--db", f.db],
    "passport-issue/out-no-parent": lambda f: ["passport", "issue", "1/2", "--key", f.key, "--master", f.master, "--out", f.nodir / "a" / "b", "--db", f.db],
    "key-new/no-dir": lambda f: ["key", "new", "--out", f.nodir / "k.key"],
    "key-new/directory": lambda f: ["key", "new", "--out", f.folder],
    "event-sign/out-no-dir": lambda f: ["event", "sign", f.master, "--key", f.key, "--db", f.db, "--out", f.nodir / "x.jsonl"],
    # unreadable key files
    "participant-register/key-missing": lambda f: ["participant", "register", "--did", DID, "--role", "mine", "--legal-name", "X", "--country", "CD", "--operator-key", f.missing, "--db", f.db],
    "participant-register/key-png": lambda f: ["participant", "register", "--did", DID, "--role", "mine", "--legal-name", "X", "--country", "CD", "--operator-key", f.png, "--db", f.db],
    "participant-rotate/key-text": lambda f: ["participant", "rotate-key", "--participant", DID, "--new-did", DID, "--operator-key", f.text_key, "--db", f.db],
    "site-register/key-directory": lambda f: ["site", "register", "--site-id", "s", "--owner", DID, "--site-kind", "mine", "--name", "n", "--country", "CD", "--operator-key", f.folder, "--db", f.db],
    "attest/key-png": lambda f: ["attest", "--subject", "s", "--scheme", "RMAP", "--valid-from", "2025-01-01T00:00:00Z", "--valid-until", "2026-01-01T00:00:00Z", "--key", f.png, "--db", f.db],
    "event-sign/key-text": lambda f: ["event", "sign", f.master, "--key", f.text_key, "--db", f.db],
    "log-head/key-png": lambda f: ["log", "head", "--operator-key", f.png, "--db", f.db],
    "passport-issue/key-missing": lambda f: ["passport", "issue", "1/2", "--key", f.missing, "--master", f.master, "--db", f.db],
    "token/key-png": lambda f: ["token", "--role", "repairer", "--subject", "x", "--key", f.png, "--db", f.db],
    "init/key-png": lambda f: ["init", "--db", f.d / "new.db", "--operator-key", f.png],
    "anchor-setup/chain-key-png": lambda f: ["anchor", "setup", "--db", f.db, "--chain-key", f.png],
    # a ledger database that does not exist (or is not one)
    "lots/no-db": lambda f: ["lots", "--participant", DID, "--db", f.nodb],
    "log-head/no-db": lambda f: ["log", "head", "--db", f.nodb],
    "log-prove/no-db": lambda f: ["log", "prove", "00", "--db", f.nodb],
    "log-verify/no-db": lambda f: ["log", "verify", "--db", f.nodb],
    "trace-backward/no-db": lambda f: ["trace", "backward", "1/2", "--db", f.nodb],
    "trace-forward/no-db": lambda f: ["trace", "forward", "--site", "s", "--db", f.nodb],
    "submit/no-db": lambda f: ["submit", f.master, "--db", f.nodb],
    "event-sign/no-db": lambda f: ["event", "sign", f.master, "--key", f.key, "--db", f.nodb],
    "participant-register/no-db": lambda f: ["participant", "register", "--did", DID, "--role", "mine", "--legal-name", "X", "--country", "CD", "--operator-key", f.key, "--db", f.nodb],
    "attest/no-db": lambda f: ["attest", "--subject", "s", "--scheme", "RMAP", "--valid-from", "2025-01-01T00:00:00Z", "--valid-until", "2026-01-01T00:00:00Z", "--key", f.key, "--db", f.nodb],
    "passport-qr/no-db": lambda f: ["passport", "qr", "1/2", "--out", f.d / "x.png", "--db", f.nodb],
    "passport-issue/no-db": lambda f: ["passport", "issue", "1/2", "--key", f.key, "--master", f.master, "--db", f.nodb],
    "passport-verify/no-db": lambda f: ["passport", "verify", f.master, "--operator", DID, "--db", f.nodb],
    "anchor-list/no-db": lambda f: ["anchor", "list", "--db", f.nodb],
    "token-list/no-db": lambda f: ["token", "list", "--db", f.nodb],
    "token-revoke/no-db": lambda f: ["token", "revoke", "t1", "--db", f.nodb],
    "hosted-key-list/no-db": lambda f: ["hosted-key", "list", "--db", f.nodb],
    "hosted-key-new/kek-png": lambda f: ["hosted-key", "new", "--kek", f.png, "--db", f.db],
    "import-csv/missing": lambda f: ["import", "csv", f.missing, "--kind", "extraction", "--key", f.key, "--db", f.db],
    "import-csv/png": lambda f: ["import", "csv", f.png, "--kind", "extraction", "--key", f.key, "--db", f.db],
    "import-csv/no-db": lambda f: ["import", "csv", f.master, "--kind", "extraction", "--key", f.key, "--db", f.nodb],
    "import-pact/png": lambda f: ["import", "pact", f.png, "--stage", "raw_material"],
    "schema/markdown-no-dir": lambda f: ["schema", "--markdown", f.nodir / "events.md"],
    "lots/png-db": lambda f: ["lots", "--participant", DID, "--db", f.png],
    "trace-backward/directory-db": lambda f: ["trace", "backward", "1/2", "--db", f.folder],
    # usage mistakes: Click's own errors, one line naming the command's help, not a usage block
    "usage/unknown-command": lambda f: ["nosuch"],
    "usage/unknown-option": lambda f: ["log", "verify", "--nosuch", "--db", f.db],
    "usage/missing-argument": lambda f: ["passport", "export"],
    "usage/not-an-integer": lambda f: ["passport", "export", "1/2", "--passport-version", "abc", "--db", f.db],
    "usage/option-without-value": lambda f: ["log", "verify", "--db"],
    "bench/unknown-group": lambda f: ["bench", "--quick", "--only", "nothing"],
}


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Files:
    return Files(tmp_path_factory.mktemp("errors"))


def listing(d: Path) -> list[str]:
    """The files in ``d`` but SQLite's own (-wal, -shm: opening the ledger creates them)."""
    return sorted(p.name for p in d.iterdir() if not p.name.endswith(("-wal", "-shm")))


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_one_line_and_a_failure(case: str, files: Files, capsys: pytest.CaptureFixture[str]) -> None:
    args = CASES[case](files)
    before = listing(files.d)
    code, _, err = run_main(capsys, *map(str, args))
    lines = err.strip().splitlines()
    assert code != 0, f"{case}: exit 0 ({err})"
    assert len(lines) == 1, f"{case}: {err}"
    assert "Traceback" not in err and lines[0].strip()
    assert listing(files.d) == before, f"{case} left files behind"
    if case.startswith("usage/"):
        assert "--help)" in lines[0] and "Usage:" not in err, err


def test_the_console_script_prints_no_traceback(files: Files) -> None:
    """The same through a real process (what a user's shell runs)."""
    for case in ("submit/missing", "passport-qr/extension", "event-sign/png", "lots/no-db", "usage/not-an-integer"):
        proc = bt(*CASES[case](files), ok=False)
        assert proc.returncode != 0 and "Traceback" not in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
