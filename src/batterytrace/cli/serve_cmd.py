"""``batterytrace serve``: the REST API and passport viewer under uvicorn."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from batterytrace.cli import DB_HELP, app, console

__all__ = ["UVICORN_OPTIONS", "run_server"]

#: uvicorn never rewrites the client address from X-Forwarded-For (its default does so for
#: loopback peers, which let any local client pick its rate-limit identity): the application
#: honours forwarding headers only from configured trusted proxies (``trusted_proxies``)
UVICORN_OPTIONS: dict[str, Any] = {"log_level": "warning", "access_log": False, "proxy_headers": False,
                                   "server_header": False}


def run_server(host: str, port: int, config_file: Path | None = None, workers: int = 1, **overrides: Any) -> None:
    """Build the app from configuration (file, environment, then ``overrides``) and serve it;
    with several workers each process builds it from the same configuration."""
    import os

    import uvicorn

    from batterytrace.api.app import create_app
    from batterytrace.api.config import ApiConfig

    config = ApiConfig.load(config_file, **overrides)
    application = create_app(config)  # also checks the configuration before forking workers
    resolver = application.state.resolver
    console.print(f"serving {config.db} at http://{host}:{port}/  (OpenAPI: /openapi.json, passports: "
                  f"{resolver.prefix}01/<gtin>/21/<serial>, links under {resolver.base})")
    if workers == 1:
        uvicorn.run(application, host=host, port=port, **UVICORN_OPTIONS)
        return
    application.state.ledger.close()
    os.environ["BATTERYTRACE_CONFIG"] = str(config_file) if config_file else ""
    for name, var in (("db", "BATTERYTRACE_DB"), ("passports", "BATTERYTRACE_PASSPORTS"),
                      ("operator_key", "BATTERYTRACE_OPERATOR_KEY"), ("rate_per_s", "BATTERYTRACE_RATE_PER_S"),
                      ("kek_file", "BATTERYTRACE_KEK_FILE"), ("resolver", "BATTERYTRACE_RESOLVER")):
        value = getattr(config, name)
        if value is not None:
            os.environ[var] = str(value)
    if config.trusted_proxies:
        os.environ["BATTERYTRACE_TRUSTED_PROXIES"] = ",".join(config.trusted_proxies)
    if config.issuers:
        os.environ["BATTERYTRACE_ISSUERS"] = ",".join(f"{k}={m}" for k, m in config.issuers)
    uvicorn.run("batterytrace.api.app:app_from_env", factory=True, host=host, port=port, workers=workers,
                **UVICORN_OPTIONS)


@app.command()
def serve(
    db: str | None = typer.Option(None, "--db", help=DB_HELP + " Overrides BATTERYTRACE_DB."),
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, min=1, max=65535, help="TCP port."),
    config: Path | None = typer.Option(None, help="JSON configuration file (keys as in batterytrace.api.config)."),
    passports: str | None = typer.Option(None, help="Directory of issued passports (default: <db>-passports beside "
                                         "a SQLite ledger, else ./batterytrace-passports; as passport issue)."),
    resolver: str | None = typer.Option(None, "--resolver", help="GS1 Digital Link resolver base URL "
                                        "(https://host or https://host/prefix); stored as the ledger's resolver; the viewer also "
                                        "answers under its path prefix."),
    issuer: list[str] = typer.Option([], help="KEY_FILE=MASTER_JSON of an economic operator; repeatable."),
    operator_key: str | None = typer.Option(None, help="Operator key file (signs tree heads before issuing)."),
    rate: float | None = typer.Option(None, help="Requests per second per client (0: no limit)."),
    kek: str | None = typer.Option(None, "--kek", help="Key-encryption key file opening hosted keys (plain EPCIS capture)."),
    workers: int = typer.Option(1, min=1, max=64, help="Server processes (each keeps its own caches and rate limits)."),
) -> None:
    """Serve the REST API, EPCIS 2.0 capture/query and the passport viewer."""
    issuers = tuple(tuple(i.split("=", 1)) for i in issuer) if issuer else None
    if issuers and any(len(p) != 2 for p in issuers):
        raise typer.BadParameter("--issuer takes KEY_FILE=MASTER_JSON")
    run_server(host, port, config, workers, db=db, passports=passports, issuers=issuers, operator_key=operator_key,
               rate_per_s=rate, kek_file=kek, resolver=resolver)
