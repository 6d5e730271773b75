"""What a passport viewer shows, computed from verified passport claims only.

``passport_view`` reads nothing but the claims a presentation disclosed, so a public view cannot
contain a field the public presentation did not carry. ``verification_checks`` explains what
``verify_passport`` established for those claims.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from batterytrace.passport.verification import CheckResult as Check

__all__ = ["Check", "PassportView", "passport_view", "verification_checks"]

ELEMENT_NAMES = {"Co": "Cobalt", "Ni": "Nickel", "Li": "Lithium", "Mn": "Manganese", "Pb": "Lead"}


MAX_TEXT = 200  # characters of one shown value
MAX_ITEMS = 100  # entries of one shown list or mapping
MAX_ROWS = 200  # rows of one restricted section
MAX_DEPTH = 6  # nesting shown in a restricted section


@dataclass
class PassportView:
    """What the viewer shows. Claims are the issuer's: signed, but of any shape its software
    produced; each one that is not of the shape shown here is left out and named in
    ``not_shown`` (path: reason), never rendered as is."""

    level: str
    identity: dict[str, Any]
    carbon_per_stage_kg: list[tuple[str, float]]
    carbon_per_kwh_kg: float | None
    carbon_class: str | None
    primary_data_percent: float | None
    recycled: list[dict[str, Any]]  # element, pre, post, targets [(year, target, met)]
    origin_mix: list[tuple[str, list[tuple[str, float]]]]
    certified_percent: list[tuple[str, float]]
    diligence: list[dict[str, Any]]
    certifications: list[dict[str, Any]]
    restricted: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # above-public data, by section
    primary_data_percent_per_stage: dict[str, float] = field(default_factory=dict)
    not_shown: list[str] = field(default_factory=list)


def _get(obj: Any, *path: str) -> Any:
    for name in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(name)
    return obj


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return f"a text of {len(value):,} characters" if len(value) > MAX_TEXT else "a text"
    if isinstance(value, list):
        return f"a list of {len(value):,} items"
    if isinstance(value, dict):
        return f"an object of {len(value):,} members"
    return "null"


class _Shapes:
    """Reads claims by the shape the viewer expects, noting each one that is not."""

    def __init__(self) -> None:
        self.not_shown: list[str] = []

    def note(self, path: str, value: Any, expected: str) -> None:
        if len(self.not_shown) < MAX_ROWS:
            self.not_shown.append(f"{path}: expected {expected}, found {_kind(value)}")

    def mapping(self, value: Any, path: str) -> dict[str, Any]:
        """An object's members with short text names (at most ``MAX_ITEMS``); {} when absent."""
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.note(path, value, "an object")
            return {}
        out: dict[str, Any] = {}
        for k, v in value.items():
            if len(k) > MAX_TEXT or not k.isprintable():
                self.note(f"{path}.{k[:40]}…", k, f"a printable name of at most {MAX_TEXT} characters")
            elif len(out) == MAX_ITEMS:
                self.note(path, value, f"at most {MAX_ITEMS} members")
                break
            else:
                out[k] = v
        return out

    def listing(self, value: Any, path: str) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.note(path, value, "a list")
            return []
        if len(value) > MAX_ITEMS:
            self.note(path, value, f"at most {MAX_ITEMS} items")
        return value[:MAX_ITEMS]

    def number(self, value: Any, path: str) -> float | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or abs(value) > 1e15:
            self.note(path, value, "a number (at most 10^15)")
            return None
        return float(value)

    def text(self, value: Any, path: str) -> str | None:
        """A short text (numbers shown as written); None when absent or of another shape."""
        if value is None:
            return None
        if isinstance(value, int | float) and not isinstance(value, bool):
            return f"{value:g}" if isinstance(value, float) else str(value)
        if not isinstance(value, str) or len(value) > MAX_TEXT:
            self.note(path, value, f"a text of at most {MAX_TEXT} characters")
            return None
        return value

    def flag(self, value: Any, path: str) -> bool | None:
        if isinstance(value, bool):
            return value
        self.note(path, value, "true or false")
        return None

    def rows(self, value: Any, path: str, label: str = "", depth: int = 0, out: list[tuple[str, str]] | None = None
             ) -> list[tuple[str, str]]:
        """Restricted data as (name, text) rows, nested objects flattened; bounded in depth,
        rows and text length (the rest is named in ``not_shown``)."""
        out = [] if out is None else out
        if len(out) >= MAX_ROWS:
            if len(out) == MAX_ROWS:
                self.note(path, value, f"at most {MAX_ROWS} rows")
                out.append(("…", "more not shown"))
            return out
        if isinstance(value, dict) or (isinstance(value, list) and value and all(isinstance(x, dict) for x in value)):
            if depth >= MAX_DEPTH:
                self.note(path, value, f"at most {MAX_DEPTH} levels of nesting")
                return out
            items = (self.mapping(value, path).items() if isinstance(value, dict)
                     else enumerate(self.listing(value, path)))
            for k, v in items:
                name = f"{label} · {k}" if label else str(k)
                self.rows(v, f"{path}.{k}", name, depth + 1, out)
            return out
        if isinstance(value, list):
            if len(value) > MAX_ITEMS or not all(x is None or isinstance(x, str | int | float) for x in value):
                self.note(path, value, f"a list of at most {MAX_ITEMS} plain values")
                return out
            texts = [self.text(x, f"{path}[{i}]") for i, x in enumerate(value)]
            out.append((label, ", ".join(t for t in texts if t is not None)))
            return out
        text = self.text(value, path) if not isinstance(value, bool) else ("yes" if value else "no")
        if text is not None:
            out.append((label, text))
        return out


def passport_view(claims: dict[str, Any], level: str) -> PassportView:
    """The view of verified ``claims`` at ``level``; any claim of unexpected shape is left out and
    named in ``not_shown``."""
    sh = _Shapes()
    s = sh.mapping(claims.get("summary"), "summary")
    battery = sh.mapping(claims.get("battery"), "battery")
    aspects = sh.mapping(claims.get("aspects"), "aspects")
    gpi = sh.mapping(aspects.get("GeneralProductInformation"), "aspects.GeneralProductInformation")
    maker = sh.mapping(gpi.get("manufacturerInformation"), "aspects.GeneralProductInformation.manufacturerInformation")
    identity = {
        "gtin": sh.text(battery.get("gtin"), "battery.gtin"),
        "serial": sh.text(battery.get("serial"), "battery.serial"),
        "digital_link": sh.text(battery.get("digital_link"), "battery.digital_link"),
        "passport_id": sh.text(claims.get("passport_id"), "passport_id"),
        "passport_version": sh.text(claims.get("passport_version"), "passport_version"),
        "chemistry": sh.text(s.get("chemistry"), "summary.chemistry"),
        "capacity_kwh": sh.number(s.get("capacity_kwh"), "summary.capacity_kwh"),
        "category": sh.text(gpi.get("batteryCategory"), "aspects.GeneralProductInformation.batteryCategory"),
        "manufacturer": sh.text(maker.get("contactName"),
                                "aspects.GeneralProductInformation.manufacturerInformation.contactName"),
        "manufacturing_date": sh.text(gpi.get("manufacturingDate"), "aspects.GeneralProductInformation.manufacturingDate"),
        "mass_kg": sh.number(gpi.get("batteryMass"), "aspects.GeneralProductInformation.batteryMass"),
        "issuer": sh.text(claims.get("iss"), "iss"),
    }
    link = identity["digital_link"]
    if link is not None and not str(link).startswith(("https://", "http://")):
        sh.note("battery.digital_link", link, "an http(s) address")
        identity["digital_link"] = None
    art8 = sh.mapping(s.get("art8_targets"), "summary.art8_targets")
    recycled = []
    for element, shares in sorted(sh.mapping(s.get("recycled_percent"), "summary.recycled_percent").items()):
        where = f"summary.recycled_percent.{element}"
        shares = sh.mapping(shares, where)
        pre, post = sh.number(shares.get("pre", 0), f"{where}.pre"), sh.number(shares.get("post", 0), f"{where}.post")
        if pre is None or post is None:
            continue
        targets = []
        for year, t in sorted(sh.mapping(art8.get(element), f"summary.art8_targets.{element}").items()):
            t = sh.mapping(t, f"summary.art8_targets.{element}.{year}")
            target = sh.number(t.get("target"), f"summary.art8_targets.{element}.{year}.target")
            met = sh.flag(t.get("met"), f"summary.art8_targets.{element}.{year}.met")
            if target is not None and met is not None:
                targets.append((year, target, met))
        recycled.append({"element": element, "name": ELEMENT_NAMES.get(element, element), "pre": pre, "post": post,
                         "targets": targets})
    stages = []
    for stage, kg in sh.mapping(s.get("carbon_kgco2e_per_stage"), "summary.carbon_kgco2e_per_stage").items():
        value = sh.number(kg, f"summary.carbon_kgco2e_per_stage.{stage}")
        if value is not None:
            stages.append((stage, value))
    primary_per_stage = {}
    for stage, pct in sh.mapping(s.get("carbon_primary_data_percent_per_stage"),
                                 "summary.carbon_primary_data_percent_per_stage").items():
        value = sh.number(pct, f"summary.carbon_primary_data_percent_per_stage.{stage}")
        if value is not None:
            primary_per_stage[stage] = value
    origin_mix = []
    for el, mix in sorted(sh.mapping(s.get("origin_mix_percent"), "summary.origin_mix_percent").items()):
        parts = [(c, sh.number(p, f"summary.origin_mix_percent.{el}.{c}"))
                 for c, p in sh.mapping(mix, f"summary.origin_mix_percent.{el}").items()]
        origin_mix.append((el, sorted(((c, p) for c, p in parts if p is not None), key=lambda x: -x[1])))
    certified = [(el, sh.number(p, f"summary.certified_percent.{el}"))
                 for el, p in sorted(sh.mapping(s.get("certified_percent"), "summary.certified_percent").items())]
    diligence = []
    for scheme, entry in sorted(sh.mapping(s.get("due_diligence_indices"), "summary.due_diligence_indices").items()):
        where = f"summary.due_diligence_indices.{scheme}"
        fields_ = sh.mapping(entry, where)
        diligence.append({"scheme": scheme, **{k: sh.text(fields_.get(k), f"{where}.{k}") for k in (
            "score", "coverage_percent", "questions_answered", "questions_total", "companies_covered")}})
    certifications = []
    for i, a in enumerate(sh.listing(s.get("assurances"), "summary.assurances")):
        a = sh.mapping(a, f"summary.assurances[{i}]")
        certifications.append({k: sh.text(a.get(k), f"summary.assurances[{i}].{k}") for k in ("scheme", "level", "site")})
    view = PassportView(
        level=level,
        identity=identity,
        carbon_per_stage_kg=stages,
        carbon_per_kwh_kg=sh.number(s.get("carbon_kgco2e_per_kwh"), "summary.carbon_kgco2e_per_kwh"),
        carbon_class=sh.text(s.get("carbon_performance_class"), "summary.carbon_performance_class"),
        primary_data_percent=sh.number(s.get("carbon_primary_data_percent"), "summary.carbon_primary_data_percent"),
        primary_data_percent_per_stage=primary_per_stage,
        recycled=recycled,
        origin_mix=origin_mix,
        certified_percent=[(el, p) for el, p in certified if p is not None],
        diligence=diligence,
        certifications=certifications,
    )
    perf = sh.mapping(aspects.get("PerformanceAndDurability"), "aspects.PerformanceAndDurability")
    condition = perf.get("batteryCondition")
    if isinstance(condition, dict) and any(k in condition for k in ("stateOfCertifiedEnergy", "remainingCapacity")):
        view.restricted["state_of_health"] = sh.rows(condition, "aspects.PerformanceAndDurability.batteryCondition")
    technical = sh.mapping(perf.get("batteryTechicalProperties"), "aspects.PerformanceAndDurability.batteryTechicalProperties")
    lifetime = {k: technical[k] for k in ("expectedLifetime", "initialSelfDischarge") if k in technical}
    if lifetime:
        view.restricted["lifetime"] = sh.rows(lifetime, "aspects.PerformanceAndDurability.batteryTechicalProperties")
    status = {k: gpi[k] for k in ("batteryStatus", "puttingIntoService") if k in gpi}
    if status:
        view.restricted["status"] = sh.rows(status, "aspects.GeneralProductInformation")
    dismantling = _get(claims, "aspects", "Circularity", "dismantlingAndRemovalInformation")
    if dismantling:
        view.restricted["dismantling"] = sh.rows(dismantling, "aspects.Circularity.dismantlingAndRemovalInformation")
    view.restricted = {k: v for k, v in view.restricted.items() if v}
    view.not_shown = sh.not_shown
    return view


def verification_checks(claims: dict[str, Any], anchor_checked: bool = False) -> list[Check]:
    """What a successful ``verify_passport`` established for ``claims``, check by check;
    ``anchor_checked``: the caller also verified the checkpoint's anchor on chain."""
    ev = claims.get("evidence", {})
    cp = ev.get("checkpoint", {})
    checks = [
        Check("issuer signature", "passed", f"EdDSA signature of the economic operator {claims.get('iss')} over the passport"),
        Check("selective disclosures", "passed", "every disclosed field is committed to by the signed passport"),
        Check("ledger event", "passed", "the signed event that assembled this pack names its GTIN, serial and "
              + ("commitments to its element masses" if isinstance(ev.get("zk_figures"), dict) else "element masses")),
        Check("log inclusion", "passed", f"event is leaf {ev.get('leaf_index')} of the log's tree of "
              f"{cp.get('tree_size')} entries (RFC 9162 inclusion proof)"),
        Check("checkpoint", "passed", f"tree head signed by the ledger operator {cp.get('log_id')}"
              + (", in its JSON and its C2SP checkpoint note form" if cp.get("note_signature") is not None else "")),
    ]
    anchor = ev.get("anchor")
    if isinstance(anchor, dict) and anchor_checked:
        checks.append(Check("anchor", "passed", f"the checkpoint (tree size {anchor.get('tree_size')}) is recorded "
                            f"by contract {anchor.get('contract')} on chain {anchor.get('chain_id')}, block "
                            f"{anchor.get('block_number')}, transaction {str(anchor.get('tx_hash'))[:18]}…"))
    elif anchor is not None:
        checks.append(Check("anchor", "not checked", "the passport carries anchor evidence, not checked here: "
                            "verify it against the registry you pin (anchor passport)"))
    else:
        checks.append(Check("anchor", "absent", "the passport carries no on-chain anchor of its checkpoint"))
    zk = ev.get("zk_figures")
    if isinstance(zk, dict):
        proofs = sum(len(v) for v in zk.values() if isinstance(v, dict))
        checks.append(Check("ZK claims", "passed", f"{len(zk)} figures (recycled content, certified share, origin mix) "
                            f"proved by {proofs} zero-knowledge range proofs over the pack's commitments on the "
                            "ledger; the grams stay confidential"))
    else:
        checks.append(Check("ZK claims", "absent", "the passport carries no zero-knowledge threshold proofs"))
    return checks
