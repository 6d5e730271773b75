"""The example in docs/zk.md runs."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[3] / "docs" / "zk.md"


def test_docs_example_runs() -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert blocks, "docs/zk.md has no python example"
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), {})
