"""``batterytrace schema``: print the JSON Schema of an event kind, of the signed wire form or of
master data, or the index of every schema; write docs/events.md and docs/master-data.md."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from batterytrace.cli import app, console
from batterytrace.errors import NotFoundError

__all__ = ["schema_by_name"]


def schema_by_name(name: str) -> dict[str, object]:
    """The schema called ``name`` (an event kind, ``signed-event`` or ``master-data``); NotFoundError
    naming the known ones otherwise."""
    from batterytrace.model.event_spec import EVENT_SPECS, event_schema, wire_schema
    from batterytrace.passport.master import master_schema

    if name in EVENT_SPECS:
        return event_schema(name)
    if name == "signed-event":
        return wire_schema()
    if name == "master-data":
        return master_schema()
    raise NotFoundError(f"no schema {name!r}: name an event kind (batterytrace schema lists them), "
                        "signed-event or master-data")


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise NotFoundError(f"cannot write {path}: {exc.strerror or exc}") from exc
    console.print(f"wrote {path}")


@app.command("schema")
def schema(
    name: str = typer.Argument("", help="An event kind (extract, ship, …), signed-event or master-data; "
                                        "none: the index of every schema."),
    markdown: Path | None = typer.Option(None, "--markdown", help="Write the event reference (docs/events.md) here."),
    master_markdown: Path | None = typer.Option(None, "--master-markdown",
                                                help="Write the master-data reference (docs/master-data.md) here."),
) -> None:
    """Print a JSON Schema (draft 2020-12) of the event bodies the ledger takes, or of master data."""
    if markdown is not None or master_markdown is not None:
        if markdown is not None:
            from batterytrace.ledger.event_reference import render_events_markdown

            _write(markdown, render_events_markdown())
        if master_markdown is not None:
            from batterytrace.demo.master_data import VOLTARA_VM75
            from batterytrace.passport.master import render_master_markdown

            _write(master_markdown, render_master_markdown(VOLTARA_VM75))
        return
    if not name:
        from batterytrace.model.event_spec import schema_index

        typer.echo(json.dumps(schema_index(), indent=2))
        return
    typer.echo(json.dumps(schema_by_name(name), indent=2, ensure_ascii=False))
