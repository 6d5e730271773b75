"""The shared checks of the CLI's files (``batterytrace.cli.inputs``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from batterytrace.cli.inputs import (
    InputError,
    check_output,
    check_output_dir,
    open_ledger_store,
    read_json,
    read_json_objects,
    read_text,
)


def test_json_objects_from_an_object_an_array_or_json_lines(tmp_path: Path) -> None:
    p = tmp_path / "x.json"
    for text, n in (('{"a": 1}', 1), ('[{"a": 1}, {"b": 2}]', 2), ('{"a": 1}\n\n{"b": 2}\n', 2)):
        p.write_text(text)
        assert len(read_json_objects(p)) == n
    for data, words in ((b"", "empty"), (b"[1]", "not a JSON object"), (b'{"a": 1}\nnope', "line 2"),
                        (b"\x89PNG\r\n\x1a\n", "a PNG image")):
        p.write_bytes(data)
        with pytest.raises(InputError, match=words):
            read_json_objects(p)


def test_files_that_cannot_be_read(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        read_json(tmp_path / "none.json")
    with pytest.raises(InputError, match="is a directory"):
        read_text(tmp_path)
    png = tmp_path / "a.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    with pytest.raises(InputError, match=r"not text .*PNG"):
        read_text(png)
    with pytest.raises(InputError, match="not JSON: a PNG image"):
        read_json(png)
    ok = tmp_path / "ok.json"
    ok.write_text(json.dumps({"a": [1]}))
    assert read_json(ok) == {"a": [1]}


def test_outputs(tmp_path: Path) -> None:
    assert check_output(tmp_path / "a.PNG", (".png", ".svg")) == tmp_path / "a.PNG"
    with pytest.raises(InputError, match=r"must end in \.png or \.svg"):
        check_output(tmp_path / "a.txt", (".png", ".svg"))
    with pytest.raises(InputError, match="does not exist"):
        check_output(tmp_path / "no" / "a.png")
    with pytest.raises(InputError, match="is a directory"):
        check_output(tmp_path)
    (tmp_path / "file").write_text("")
    with pytest.raises(InputError, match="is a file"):
        check_output_dir(tmp_path / "file")
    with pytest.raises(InputError, match="cannot be created"):
        check_output_dir(tmp_path / "no" / "deeper")
    assert check_output_dir(tmp_path / "new") == tmp_path / "new"


def test_a_ledger_that_is_not_there(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"no ledger database .*batterytrace init"):
        open_ledger_store(str(tmp_path / "none.db"))
    with pytest.raises(InputError, match="is a directory"):
        open_ledger_store(str(tmp_path))
    assert not (tmp_path / "none.db").exists()
