"""The public passport cache serves anonymous readers only, and only within its lifetime."""

from __future__ import annotations

from pathlib import Path

from api_support import serve
from batterytrace.demo.scenario import Scenario


def test_cache_is_public_only_and_expires(scenario: Scenario, tmp_path: Path) -> None:
    s = serve(scenario, tmp_path, page_cache_s=60)
    calls = {"n": 0}
    desk = s.app.state.desk
    original = desk.verified

    def counting(*args: str) -> object:
        calls["n"] += 1
        return original(*args)

    desk.verified = counting
    html = {"accept": "text/html"}
    first = s.client.get(s.link_path, headers=html)
    second = s.client.get(s.link_path, headers=html)
    assert first.text == second.text and calls["n"] == 1  # the second answer came from the cache
    s.client.get(s.link_path, headers={"accept": "application/json"})
    assert calls["n"] == 2  # another representation, another entry
    auth = {**html, "authorization": f"Bearer {s.token('legitimate_interest')}"}
    li = s.client.get(s.link_path, headers=auth)
    assert calls["n"] == 3 and 'id="restricted"' in li.text
    # after a signed-in read, the anonymous answer is still the public one
    assert 'id="restricted"' not in s.client.get(s.link_path, headers=html).text
    missing = s.client.get("/01/00000000000000/21/none", headers=html)
    again = s.client.get("/01/00000000000000/21/none", headers=html)
    assert missing.status_code == again.status_code == 404 and calls["n"] == 5  # errors are not cached
    s0 = serve(scenario, tmp_path / "nocache", page_cache_s=0)
    s0.app.state.desk.verified = counting
    s0.client.get(s0.link_path, headers=html)
    s0.client.get(s0.link_path, headers=html)
    assert calls["n"] == 7
