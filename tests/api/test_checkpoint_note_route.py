"""GET /ledger/checkpoint: the latest tree head as a C2SP checkpoint note (text/plain), verifiable
with the vkey /ledger/head publishes; 404 problem before any tree head has a note."""

from __future__ import annotations

from pathlib import Path

import pytest

from api_support import serve
from batterytrace.crypto.signed_note import NoteError
from batterytrace.demo.scenario import Scenario
from batterytrace.ledger.checkpoint import Checkpoint, verify_checkpoint_note
from note_support import tampered


def test_checkpoint_note_route(scenario: Scenario, tmp_path: Path) -> None:
    s = serve(scenario, tmp_path, chain=False)
    try:
        missing = s.client.get("/ledger/checkpoint")
        assert missing.status_code == 404 and missing.headers["content-type"].startswith("application/problem+json")
        s.ledger.submit_batch(scenario.events[:5])
        cp = s.ledger.sign_tree_head(scenario.actors["operator"].signing_key)
        got = s.client.get("/ledger/checkpoint")
        assert got.status_code == 200 and got.headers["content-type"] == "text/plain; charset=utf-8"
        head = s.client.get("/ledger/head").json()
        assert head["checkpoint_origin"] == got.text.split("\n")[0] == "batterytrace/" + s.ledger.ledger_id
        found = verify_checkpoint_note(got.text, head["checkpoint_vkey"],
                                       expect=Checkpoint.from_dict(head["checkpoint"]))
        assert (found.tree_size, found.root_hash.hex()) == (cp.tree_size, head["checkpoint"]["root_hash"]) == (
            5, s.ledger.root(5).hex())
        with pytest.raises(NoteError) as err:
            verify_checkpoint_note(tampered(got.text, "size"), head["checkpoint_vkey"])
        assert err.value.rule == "note.signature"
        assert "/ledger/checkpoint" in s.client.get("/openapi.json").json()["paths"]
    finally:
        s.client.close()
