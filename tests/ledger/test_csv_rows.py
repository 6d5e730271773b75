"""Reading a CSV file cell by cell: the units people write (kg, %, g/t, ISO 8601 with an offset,
yes/no) and the exact integers the ledger stores, each problem recorded with its row and column.
(The file-level refusals through the whole import are in test_csv_import.py.)"""

from __future__ import annotations

import pytest

from batterytrace.ledger.csv_rows import CsvError, Row, csv_safe, grades, read_rows


def row(**cells: str) -> tuple[Row, list[tuple[int, str, str]]]:
    problems: list[tuple[int, str, str]] = []
    return Row(7, cells, problems), problems


@pytest.mark.parametrize(("text", "utc"), [
    ("2026-11-30T14:05:00+01:00", "2026-11-30T13:05:00Z"),
    ("2026-11-30T14:05:00Z", "2026-11-30T14:05:00Z"),
    ("2026-11-30T14:05:00.250-05:30", "2026-11-30T19:35:00.250000Z"),
])
def test_times_with_offsets_become_utc(text: str, utc: str) -> None:
    r, problems = row(time=text)
    assert r.time() == utc and not problems


@pytest.mark.parametrize("text", ["2026-11-30T14:05:00", "2026-11-30", "30.11.2026 14:05", "tomorrow", "2026-13-01T00:00:00Z"])
def test_times_without_offset_or_malformed_name_row_and_column(text: str) -> None:
    r, problems = row(time=text)
    assert r.time() is None and problems[0][:2] == (7, "time")


@pytest.mark.parametrize(("text", "grams"), [("1", 1000), ("0.001", 1), ("1250.5", 1_250_500),
                                              ("999999999999.999", None)])
def test_kilograms_to_whole_grams(text: str, grams: int | None) -> None:
    r, problems = row(mass_kg=text)
    got = r.grams("mass_kg")
    if grams is None:  # beyond 2^48 g: the ledger's bound
        assert got is None and "2^48" in problems[0][2]
    else:
        assert got == grams and not problems


def test_grades_round_down_grams_and_half_even_ppm() -> None:
    r, problems = row(Co_pct="12.5", Ni_gpt="0.5", Mn_pct="")
    assert grades(r, 1_000_003) == ({"Co": 125_000, "Ni": 0}, {"Co": 125_000, "Ni": 0})
    assert not problems
    r, problems = row(Co_pct="1.5", Co_gpt="15000")
    grades(r, 1000)
    assert problems[0][1] == "Co_pct" and "both % and g/t" in problems[0][2]
    r, problems = row(Xx_pct="3")
    grades(r, 1000)
    assert "not an element" in problems[0][2]


def test_yes_no_and_choices() -> None:
    r, problems = row(carbon_primary="YES", coc_model="segregated")
    assert r.flag("carbon_primary") is True and r.choice("coc_model", ("segregated",), None) == "segregated"
    r, problems = row(carbon_primary="oui")
    assert r.flag("carbon_primary") is None and problems[0][1] == "carbon_primary"


def test_read_rows_numbers_rows_as_a_spreadsheet() -> None:
    data = b"ref,time,to,lots\r\n\r\nS1,t,d,l\r\n\"S,2\",t,d,\"a b\"\r\n"
    header, rows = read_rows("shipment", data)
    assert header == ["ref", "time", "to", "lots"]
    assert [(n, cells["ref"]) for n, cells in rows] == [(2, "S1"), (3, "S,2")]


def test_read_rows_refuses_a_ragged_file_with_every_bad_row() -> None:
    with pytest.raises(CsvError) as info:
        read_rows("shipment", b"ref,time,to,lots\nA,b\nC,d,e,f\nG\n")
    assert [p[0] for p in info.value.problems] == [2, 4]


def test_csv_safe_leaves_plain_text() -> None:
    assert csv_safe("KBC-IN-2026-0877") == "KBC-IN-2026-0877" and csv_safe("") == ""
    assert csv_safe("=1+1") == "'=1+1"
