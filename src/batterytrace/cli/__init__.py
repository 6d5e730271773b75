"""The ``batterytrace`` command line: thin wrappers that open library objects and call one
method each; errors are printed as the library words them."""

from __future__ import annotations

import logging
import sys

import typer
from rich.console import Console
from rich.markup import escape

from batterytrace.errors import BatterytraceError

__all__ = ["app", "main"]

app = typer.Typer(
    name="batterytrace",
    help="Trace battery minerals from mine to car to recycler and issue verifiable passports.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console(emoji=False)
err_console = Console(stderr=True, emoji=False)

DB_HELP = "Ledger database: a SQLite file path (default) or a postgresql:// URL."


class _OneLine(logging.Formatter):
    """Log records as one line on stderr: the message and the exception's type, no traceback (the
    CLI never prints one; a service logs them in full)."""

    def format(self, record: logging.LogRecord) -> str:
        text = f"{record.levelname.lower()}: {record.getMessage()}"
        if record.exc_info and record.exc_info[1] is not None:
            text += f" ({type(record.exc_info[1]).__name__}: {record.exc_info[1]})"
        return text


def _configure_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLine())
    root = logging.getLogger("batterytrace")
    if not root.handlers:
        root.addHandler(handler)
        root.setLevel(logging.WARNING)
        root.propagate = False


def main() -> None:
    _configure_logging()
    from batterytrace.cli import (  # noqa: F401  (register commands)
        anchor_cmd,
        bench_cmd,
        credential_cmd,
        demo_cmd,
        event_cmd,
        import_cmd,
        keys_cmd,
        ledger_cmd,
        participant_cmd,
        passport_cmd,
        schema_cmd,
        serve_cmd,
    )

    try:
        # not standalone: usage errors come here as exceptions, to be printed as one line like
        # every other error (Click would print a usage block and a framed message)
        code = app(standalone_mode=False)
    except _CLICK_ERRORS as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # a group named alone: its help, as asked
            ctx = getattr(exc, "ctx", None)
            err_console.print(ctx.get_help() if ctx is not None else str(exc), soft_wrap=True, markup=False)
            sys.exit(2)
        _fail(_click_error(exc))
    except BatterytraceError as exc:
        _fail(str(exc))
    except OSError as exc:  # a file the user named: missing, unreadable, a directory, disk full
        what = exc.strerror or str(exc) or type(exc).__name__
        _fail(f"{what}: {exc.filename}" if exc.filename is not None else what)
    except (ValueError, UnicodeError) as exc:  # user input a command did not check itself
        _fail(f"invalid input ({type(exc).__name__}): {exc}")
    else:
        # a command's exit status (typer.Exit, --help: 0); commands themselves return None
        sys.exit(code if isinstance(code, int) and not isinstance(code, bool) else 0)


def _click_errors() -> tuple[type[Exception], ...]:
    """Click's exception base classes: the Click that recent Typer vendors (``typer._click``) and
    Click itself (older Typer), whichever are installed."""
    import importlib

    out: list[type[Exception]] = []
    for name in ("typer._click.exceptions", "click.exceptions"):
        try:
            out.append(importlib.import_module(name).ClickException)
        except (ImportError, AttributeError):
            continue
    out.append(typer.Abort)
    return tuple(out)


_CLICK_ERRORS = _click_errors()


def _click_error(exc: BaseException) -> str:
    """A usage error (bad option value, unknown command, missing argument) as one line naming
    where to look."""
    fmt = getattr(exc, "format_message", None)
    if isinstance(exc, typer.Abort) or not callable(fmt):
        return "aborted"
    ctx = getattr(exc, "ctx", None)
    where = getattr(ctx, "command_path", None) or "batterytrace"
    return f"{fmt()} (see: {where} --help)"


def _fail(text: str) -> None:
    """One line on stderr, exit status 2."""
    line = "; ".join(part.strip() for part in text.splitlines() if part.strip()) or "failed"
    err_console.print(f"[bold red]error:[/] {escape(line)}", soft_wrap=True)
    sys.exit(2)
