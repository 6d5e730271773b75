"""The GS1 Digital Link resolver a ledger's passports live under: configuration, kept in the
ledger store's meta table (``passport/resolver``), so ``passport issue``, ``passport qr`` and
``serve`` agree on it once one of them was given ``--resolver``.

A resolver base is an absolute URL: ``https`` (``http`` only for a loopback host, for local
testing), a host, an optional port and path prefix, no user information, query or fragment. It is
normalised to a lower-case scheme and host and a path ending in ``/``; links are then
``{base}01/{GTIN-14}/21/{serial}`` (item) and ``{base}01/{GTIN-14}`` (model).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from batterytrace.errors import ConfigError
from batterytrace.model.identifiers import digital_link_path
from batterytrace.storage.base import Store, WriteBatch

__all__ = [
    "DEFAULT_RESOLVER",
    "GS1_VOC",
    "RESOLVER_KEY",
    "Resolver",
    "default_passport_dir",
    "load_resolver",
    "parse_resolver",
    "resolver_for",
    "save_resolver",
]

RESOLVER_KEY = "passport/resolver"
GS1_VOC = "https://gs1.org/voc/"  # link relation types of a GS1-conformant resolver's linksets
DEFAULT_RESOLVER = "https://id.batterytrace.example/"
_LOOPBACK = frozenset({"localhost", "127.0.0.1", "[::1]", "::1"})
_MAX_LENGTH = 200  # a QR code of base + /01/<14>/21/<20> stays small enough to print on a label


@dataclass(frozen=True)
class Resolver:
    """A validated, normalised resolver base URL (``parse_resolver``)."""

    base: str  # ends with "/"

    @property
    def prefix(self) -> str:
        """The path the resolver answers under: ``/`` or e.g. ``/dpp/``."""
        return urlsplit(self.base).path

    def model_link(self, gtin14: str) -> str:
        return f"{self.base}01/{gtin14}"

    def item_link(self, gtin14: str, serial: str) -> str:
        return self.base + digital_link_path(gtin14, serial)

    def linkset(self, gtin14: str, serial: str, levels: tuple[str, ...]) -> dict[str, Any]:
        """The RFC 9264 linkset (JSON) of a battery, as a GS1-conformant resolver answers
        ``?linkType=all``: the link relation types are GS1 Web Vocabulary IRIs — the default link
        and product information page (the HTML viewer), and the digital product passport in each
        representation this service serves (verified claims as JSON; the SD-JWT VC presentation of
        each access level, above public with an operator-issued bearer token) — and ``collection``
        (RFC 6573), the model the battery belongs to."""
        item = self.item_link(gtin14, serial)
        html = {"href": item, "title": "Battery passport", "type": "text/html", "hreflang": ["en"]}
        dpp: list[dict[str, Any]] = [{"href": item, "title": "Battery passport: verified claims", "type": "application/json"}]
        for level in levels:
            token = "" if level == "public" else " (bearer token granting it required)"
            dpp.append({"href": f"{item}?level={level}", "title": f"Battery passport: SD-JWT VC, {level} presentation{token}",
                        "type": "application/dc+sd-jwt"})
        return {"linkset": [{
            "anchor": item,
            f"{GS1_VOC}defaultLink": [html],
            f"{GS1_VOC}pip": [html],
            f"{GS1_VOC}dpp": dpp,
            "collection": [{"href": self.model_link(gtin14), "title": "Battery model", "type": "application/json"}],
        }]}


def parse_resolver(url: str) -> Resolver:
    """Validate and normalise a resolver base URL; ``ConfigError`` naming what is wrong."""
    where = f"resolver {url!r}"
    if not isinstance(url, str) or not url or len(url) > _MAX_LENGTH:
        raise ConfigError(f"{where}: a resolver is a URL of 1 to {_MAX_LENGTH} characters")
    if not url.isascii() or not url.isprintable() or any(c.isspace() for c in url):
        raise ConfigError(f"{where}: only printable ASCII without spaces (percent-encode the rest)")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ConfigError(f"{where}: not a URL ({exc})") from exc
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if scheme not in ("https", "http"):
        raise ConfigError(f"{where}: the scheme must be https")
    if not host:
        raise ConfigError(f"{where}: no host")
    if scheme == "http" and host not in _LOOPBACK:
        raise ConfigError(f"{where}: http is only allowed for localhost; use https")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise ConfigError(f"{where}: no user information (user@host) in a resolver URL")
    if parts.query or parts.fragment or "?" in url or "#" in url:
        raise ConfigError(f"{where}: no query or fragment in a resolver URL")
    path = parts.path or "/"
    segments = path.strip("/").split("/") if path.strip("/") else []
    if any(s in ("", ".", "..") for s in segments):
        raise ConfigError(f"{where}: the path has an empty, '.' or '..' segment")
    if "01" in segments:
        raise ConfigError(f"{where}: the path prefix may not contain a GS1 '01' segment (give the base, "
                          "not a battery's link)")
    netloc = host if ":" not in host else f"[{host.strip('[]')}]"
    if port is not None:
        netloc += f":{port}"
    prefix = "/" + "".join(f"{s}/" for s in segments)
    return Resolver(f"{scheme}://{netloc}{prefix}")


def load_resolver(store: Store) -> Resolver:
    """The ledger's configured resolver (``DEFAULT_RESOLVER`` when none was set)."""
    stored = store.get_meta(RESOLVER_KEY)
    return parse_resolver(stored if stored is not None else DEFAULT_RESOLVER)


def save_resolver(store: Store, resolver: Resolver) -> None:
    with store.write_lock():
        store.apply(WriteBatch(meta={RESOLVER_KEY: resolver.base}))


def resolver_for(store: Store, url: str | None) -> Resolver:
    """``url`` validated and stored as the ledger's resolver when given, else the stored one."""
    if url is None:
        return load_resolver(store)
    resolver = parse_resolver(url)
    if store.get_meta(RESOLVER_KEY) != resolver.base:
        save_resolver(store, resolver)
    return resolver


def default_passport_dir(db: str) -> Path:
    """Where ``passport issue`` writes and ``serve`` reads passports unless told otherwise: beside
    a SQLite ledger ``<db without suffix>-passports`` (``demo.db`` → ``demo-passports``); for a
    PostgreSQL or in-memory ledger ``./batterytrace-passports``."""
    if db.startswith(("postgresql://", "postgres://")) or db in ("", ":memory:"):
        return Path("batterytrace-passports")
    path = Path(db.removeprefix("sqlite:///").removeprefix("sqlite://"))
    return path.with_name(f"{path.stem if path.suffix else path.name}-passports")
