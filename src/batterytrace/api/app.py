"""The FastAPI application: REST API, EPCIS 2.0 capture and query, passport viewer."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from batterytrace.api import (
    epcis_routes,
    import_routes,
    ledger_routes,
    passport_routes,
    schema_routes,
    status_routes,
)
from batterytrace.api.auth import RateLimitMiddleware
from batterytrace.api.cache import PublicPageCache
from batterytrace.api.config import ApiConfig
from batterytrace.api.epcis_routes import CaptureJobs, capture_limit_headers
from batterytrace.api.limits import BodyLimitMiddleware
from batterytrace.api.problems import install_problem_handlers
from batterytrace.keys import load_key
from batterytrace.ledger.hosted_keys import KeyEncryptionKey
from batterytrace.ledger.ledger import Ledger
from batterytrace.passport.master import master_from_dict
from batterytrace.passport.registry import PassportDesk, PassportIssuer
from batterytrace.passport.resolver import resolver_for
from batterytrace.storage.base import open_store
from batterytrace.web.render import STATIC_DIR

__all__ = ["anchor_verifier", "app_from_env", "create_app", "desk_from_config"]


def desk_from_config(ledger: Ledger, config: ApiConfig) -> PassportDesk:
    import json

    from batterytrace.errors import ConfigError

    issuers = []
    for key_file, master_file in config.issuers:
        try:
            master = master_from_dict(json.loads(Path(master_file).read_text()))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read master data {master_file}: {exc}") from exc
        issuers.append(PassportIssuer(load_key(Path(key_file)), master))
    operator = load_key(Path(config.operator_key)) if config.operator_key else None
    return PassportDesk(ledger, config.passport_dir, issuers, operator, anchor_verifier(ledger))


def anchor_verifier(ledger: Ledger) -> Callable[[dict[str, Any]], None] | None:
    """When this ledger anchors its checkpoints, a check of a passport's anchor against that chain
    (the in-process chain is re-read from its journal first, so anchors made by other processes
    count); None when the ledger is not set up for anchoring."""
    from batterytrace.anchoring import Anchoring, verify_passport_anchor
    from batterytrace.anchoring.records import load_config

    config = load_config(ledger.store)
    if config is None:
        return None
    anchoring = Anchoring.open(ledger)
    lock = threading.Lock()  # the in-process chain is not thread-safe

    def verify(claims: dict[str, Any]) -> None:
        with lock:
            if anchoring.chain is not None:
                anchoring.chain.sync()
            # the registry and operator this ledger is configured with, never the passport's own
            verify_passport_anchor(claims, anchoring.client.w3, registry=config.contract,
                                   registry_operator=config.operator)

    return verify


def create_app(config: ApiConfig, ledger: Ledger | None = None, desk: PassportDesk | None = None) -> FastAPI:
    """The service over ``ledger`` (default: the ledger at ``config.db``, which must exist)."""
    if ledger is None:
        ledger = Ledger(open_store(config.db, create=False))
    if desk is None:
        desk = desk_from_config(ledger, config)
    app = FastAPI(
        title="batterytrace",
        version="0.1.0",
        description="Battery mineral traceability ledger: signed events, EPCIS 2.0 capture and query, "
                    "transparency-log proofs and battery passports (GS1 Digital Link).",
        docs_url=None,  # the interactive pages load scripts from a CDN; the spec stays at /openapi.json
        redoc_url=None,
    )
    app.state.config = config
    app.state.ledger = ledger
    app.state.desk = desk
    app.state.write_lock = threading.Lock()
    app.state.capture_jobs = CaptureJobs()
    app.state.kek = KeyEncryptionKey.load(Path(config.kek_file)) if config.kek_file else None
    app.state.public_generation = 0  # bumped when what is public changes (api/cache.py)
    app.state.rendered_pages = {}  # (passport id, level, status) → HTML
    install_problem_handlers(app)
    app.include_router(epcis_routes.router)
    app.include_router(ledger_routes.router)
    app.include_router(passport_routes.router)
    app.include_router(schema_routes.router)
    app.include_router(status_routes.router)
    app.include_router(import_routes.router)
    # GS1 Digital Link paths: at the root and under the resolver's path prefix (resolver.py)
    resolver = resolver_for(ledger.store, config.resolver)
    app.state.resolver = resolver
    app.include_router(passport_routes.link_router)
    if resolver.prefix != "/":  # and the status lists, whose URIs are under the resolver too (status.py)
        for router in (passport_routes.link_router, status_routes.router):
            app.include_router(router, prefix=resolver.prefix.rstrip("/"), include_in_schema=False)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_middleware(PublicPageCache, ttl=config.page_cache_s)
    # the limits of the configuration in force (app.state.config), read per request
    app.add_middleware(BodyLimitMiddleware, limit_of=lambda route: app.state.config.body_limit(route),
                       headers_of=lambda route: capture_limit_headers(app.state.config) if route == "capture" else {})
    app.add_middleware(RateLimitMiddleware, rate=config.rate_per_s, burst=config.rate_burst,  # outermost
                       trusted_proxies=config.trusted_proxies)
    return app


def app_from_env() -> FastAPI:
    """Factory for uvicorn worker processes: configuration from ``BATTERYTRACE_*`` variables
    (and ``BATTERYTRACE_CONFIG``, a JSON file)."""
    import os

    file = os.environ.get("BATTERYTRACE_CONFIG")
    return create_app(ApiConfig.load(Path(file) if file else None))
