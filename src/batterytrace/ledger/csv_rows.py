"""Reading a supplier's CSV file for ``csv_import``: the bytes (encoding, size, separator), the
header against the kind's columns, and each cell in the people's units (kg, %, g/t, ISO 8601
times, yes/no), recording every problem with its row and column instead of stopping at the first.
Row 1 is the header, as a spreadsheet numbers it."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Context, Decimal

from batterytrace.errors import BatterytraceError
from batterytrace.model.buckets import ELEMENTS
from batterytrace.timeutil import format_time

__all__ = [
    "COLUMNS",
    "GRADE_COLUMN",
    "KINDS",
    "MAX_CELL",
    "MAX_CSV_BYTES",
    "MAX_ROWS",
    "CsvError",
    "Row",
    "csv_safe",
    "grades",
    "read_rows",
]

MAX_CSV_BYTES = 8 * 1024 * 1024
MAX_ROWS = 5_000
MAX_CELL = 2_000
KINDS = ("extraction", "shipment", "receipt", "transformation")
_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")
_KG = re.compile(r"^\d{1,12}(\.\d{1,3})?$")
_NUMBER = re.compile(r"^\d{1,12}(\.\d{1,12})?$")
GRADE_COLUMN = re.compile(r"^([A-Z][a-z]?)_(pct|gpt)$")
_EXACT = Context(prec=60)  # every product of a mass and a grade is exact (≤ 50 digits)
_YES = {"yes": True, "y": True, "true": True, "1": True, "no": False, "n": False, "false": False, "0": False}

# column → required? (grade columns ``<El>_pct`` / ``<El>_gpt`` come on top where ``grades``)
COLUMNS: dict[str, dict[str, bool]] = {
    "extraction": {"ref": True, "time": True, "site": True, "form": True, "mass_kg": True, "origin": True,
                   "coc_model": False, "assay_cert_sha256": False, "lat": False, "lon": False,
                   "kgco2e_per_kg": False, "carbon_primary": False, "pact_file": False},
    "shipment": {"ref": True, "time": True, "to": True, "lots": True, "seals": False, "gross_kg": False},
    "receipt": {"ref": True, "time": True, "shipment": True, "site": False, "seals": False, "gross_kg": False,
                "discrepancy": False, "kgco2e_per_kg": False, "carbon_primary": False},
    "transformation": {"event": True, "ref": True, "time": True, "site": True, "inputs": True, "form": True,
                       "mass_kg": True, "coc_model": False, "assay_cert_sha256": False, "kgco2e_per_kg": False,
                       "carbon_primary": False, "carbon_stage": False, "pact_file": False},
}
_GRADES = {"extraction", "transformation"}



class CsvError(BatterytraceError):
    """A CSV file that cannot be imported. ``problems`` lists ``(row, column, message)``; row 1 is
    the header (a spreadsheet's numbering), row 0 the file as a whole. ``rule`` is set when the
    ledger refused a row's event."""

    def __init__(self, problems: Sequence[tuple[int, str, str]], rule: str | None = None) -> None:
        self.problems = list(problems)
        self.rule = rule
        lines = [_where(r, c) + m for r, c, m in self.problems[:20]]
        if len(self.problems) > 20:
            lines.append(f"… and {len(self.problems) - 20} more problems")
        super().__init__(lines[0] if len(lines) == 1 else "nothing was recorded:\n" + "\n".join(lines))


def _where(row: int, column: str) -> str:
    if row <= 0:
        return ""
    return f"row {row}, column {column}: " if column else f"row {row}: "


def csv_safe(text: str) -> str:
    """A cell for a CSV a person will open in a spreadsheet: text starting with ``= + - @`` or a
    tab/carriage return is prefixed with ``'`` so it is shown, never evaluated (CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


# ------------------------------------------------------------------------------ the file
def _decode(data: bytes) -> str:
    if not data.strip():
        raise CsvError([(0, "", "the file is empty")])
    if len(data) > MAX_CSV_BYTES:
        raise CsvError([(0, "", f"the file is larger than {MAX_CSV_BYTES // (1024 * 1024)} MiB; split it")])
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise CsvError([(0, "", "the file is UTF-16 text; save it as 'CSV UTF-8 (comma delimited)'")])
    if b"\x00" in data:
        raise CsvError([(0, "", "the file is binary (it holds NUL bytes), not CSV text")])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CsvError([(0, "", f"the file is not UTF-8 text (byte {exc.start}); save it as 'CSV UTF-8'")]) from exc
    return text.removeprefix("\ufeff")  # Excel's UTF-8 byte order mark


def read_rows(kind: str, data: bytes) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    text = _decode(data)
    first = text.split("\n", 1)[0]
    if "," not in first and (";" in first or "\t" in first):
        sep = "semicolons" if ";" in first else "tabs"
        raise CsvError([(1, "", f"the header is separated by {sep}; the templates use commas")])
    try:
        reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        table = [row for row in reader]
    except csv.Error as exc:
        raise CsvError([(0, "", f"malformed CSV: {exc}")]) from exc
    table = [row for row in table if any(cell.strip() for cell in row)]
    if not table:
        raise CsvError([(0, "", "the file is empty")])
    header = [h.strip() for h in table[0]]
    columns = COLUMNS[kind]
    problems: list[tuple[int, str, str]] = []
    for name in header:
        if name not in columns and not (kind in _GRADES and GRADE_COLUMN.match(name)):
            problems.append((1, name, f"unknown column for a {kind} file"))
    if len(set(header)) != len(header):
        problems.append((1, "", "a column appears twice"))
    missing = [name for name, required in columns.items() if required and name not in header]
    if missing:
        problems.append((1, "", f"missing column(s) {', '.join(missing)} (see 'batterytrace import template {kind}')"))
    if problems:
        raise CsvError(problems)
    rows: list[tuple[int, dict[str, str]]] = []
    body = table[1:]
    if not body:
        raise CsvError([(0, "", "the file has a header but no rows")])
    if len(body) > MAX_ROWS:
        raise CsvError([(0, "", f"the file has {len(body)} rows; at most {MAX_ROWS} per import")])
    for n, cells in enumerate(body, start=2):
        if len(cells) != len(header):
            problems.append((n, "", f"{len(cells)} cells, the header has {len(header)} columns"))
            continue
        if any(len(c) > MAX_CELL for c in cells):
            problems.append((n, "", f"a cell is longer than {MAX_CELL} characters"))
            continue
        rows.append((n, {h: c.strip() for h, c in zip(header, cells, strict=True)}))
    if problems:
        raise CsvError(problems)
    return header, rows


# --------------------------------------------------------------------------- cell readers
class Row:
    """One row's cells; each reader records a problem (row, column) instead of raising."""

    def __init__(self, n: int, cells: dict[str, str], problems: list[tuple[int, str, str]]) -> None:
        self.n, self.cells, self.problems = n, cells, problems

    def bad(self, column: str, message: str) -> None:
        self.problems.append((self.n, column, message))

    def text(self, column: str, required: bool = True, max_len: int = 256) -> str | None:
        value = self.cells.get(column, "")
        if not value:
            if required:
                self.bad(column, "is empty")
            return None
        if len(value) > max_len or not value.isprintable():
            self.bad(column, f"must be printable text of at most {max_len} characters")
            return None
        return value

    def ref(self, column: str = "ref") -> str | None:
        value = self.text(column)
        if value is not None and not _REF.match(value):
            self.bad(column, f"{value[:40]!r} is not a reference (letters, digits, . _ / -, at most 64)")
            return None
        return value

    def time(self) -> str | None:
        value = self.text("time", max_len=64)
        if value is None:
            return None
        try:
            dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            self.bad("time", f"{value[:40]!r} is not an ISO 8601 date-time such as 2026-11-30T14:05:00+01:00")
            return None
        if dt.tzinfo is None or "T" not in value:
            self.bad("time", f"{value[:40]!r} needs a date, a time and an offset (+01:00, Z)")
            return None
        utc = dt.astimezone(UTC)
        return format_time(int(utc.replace(microsecond=0).timestamp()) * 1_000_000 + utc.microsecond)

    def grams(self, column: str, required: bool = True) -> int | None:
        value = self.text(column, required, 32)
        if value is None:
            return None
        if "," in value:
            self.bad(column, f"{value!r}: write decimals with a point, no thousands separator")
            return None
        if not _KG.match(value):
            self.bad(column, f"{value!r} is not a mass in kg (digits, at most 3 decimals)")
            return None
        grams = int(Decimal(value) * 1000)
        if not 0 < grams < 2**48:
            self.bad(column, "must be more than 0 kg and less than 2^48 g")
            return None
        return grams

    def number(self, column: str, hi: Decimal) -> Decimal | None:
        value = self.text(column, False, 32)
        if value is None:
            return None
        if "," in value:
            self.bad(column, f"{value!r}: write decimals with a point")
            return None
        if not _NUMBER.match(value):
            self.bad(column, f"{value!r} is not a non-negative decimal number")
            return None
        number = Decimal(value)
        if number > hi:
            self.bad(column, f"{value} is above {hi}")
            return None
        return number

    def choice(self, column: str, options: Sequence[str], default: str | None) -> str | None:
        value = self.cells.get(column, "")
        if not value:
            if default is None:
                self.bad(column, f"is empty (one of {', '.join(options)})")
            return default
        if value not in options:
            self.bad(column, f"{value[:40]!r} is not one of {', '.join(options)}")
            return None
        return value

    def flag(self, column: str) -> bool | None:
        value = self.cells.get(column, "").lower()
        if not value:
            return None
        if value not in _YES:
            self.bad(column, f"{value[:20]!r} is not yes or no")
            return None
        return _YES[value]

    def items(self, column: str, required: bool) -> list[str]:
        value = self.text(column, required, MAX_CELL)
        return [] if value is None else [x for x in re.split(r"[;\s]+", value) if x]


def grades(row: Row, mass_g: int | None) -> tuple[dict[str, int], dict[str, int]]:
    """Element grams (rounded down) and assay ppm (half to even) from the grade columns."""
    grams: dict[str, int] = {}
    ppm: dict[str, int] = {}
    for column in sorted(row.cells):
        m = GRADE_COLUMN.match(column)
        if not m or not row.cells[column]:
            continue
        element, unit = m.groups()
        if element not in ELEMENTS:
            row.bad(column, f"{element} is not an element the ledger accounts for ({', '.join(sorted(ELEMENTS))})")
            continue
        if element in ppm:
            row.bad(column, f"{element} has a grade in both % and g/t")
            continue
        grade = row.number(column, Decimal(100) if unit == "pct" else Decimal(1_000_000))
        if grade is None or mass_g is None:
            continue
        fraction = _EXACT.divide(grade, Decimal(100 if unit == "pct" else 1_000_000))
        ppm[element] = int(_EXACT.multiply(fraction, Decimal(1_000_000)).to_integral_value(ROUND_HALF_EVEN))
        grams[element] = int(_EXACT.multiply(Decimal(mass_g), fraction).to_integral_value(ROUND_FLOOR))
    if not any(row.cells[c] for c in row.cells if GRADE_COLUMN.match(c)):
        row.bad("", "no grade column is filled in (e.g. Co_pct)")
    return grams, ppm
