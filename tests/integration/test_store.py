"""The visitor store and the bulk-extract CSV import, on SQLite and on PostgreSQL."""
from __future__ import annotations

import io
import sqlite3
import subprocess

import psycopg2
import pytest
import sqlalchemy.exc

from bot.core.visitors import Visitor
from bot.marketo.bulk_csv import ParseResult, RowProblem, import_csv, parse_leads
from bot.marketo.fields import DEFAULT_FIELD_MAP, FieldMapError, load_field_map, plan_columns
from bot.store.database import open_database
from bot.store.visitors import VisitorStore
from tests.support import FIXTURES, PYTHON, ROOT

MALFORMED = FIXTURES / "marketo" / "leads_malformed.csv"


def test_malformed_rows_are_reported_by_row_number_and_the_rest_loads(database_url) -> None:
    store = VisitorStore(open_database(database_url))
    report = import_csv(str(MALFORMED), store, DEFAULT_FIELD_MAP)
    assert report.records == 7 and report.loaded == 4
    assert report.problems == [
        RowProblem(5, 6, "5 columns, expected 10"),
        RowProblem(6, 7, "the lead id is not a whole number"),
        RowProblem(7, 8, "not valid UTF-8"),
    ]
    assert store.count() == 4
    ann = store.by_email("ANN@acme.test")  # BOM stripped from the header, email matched without case
    assert ann.lead_id == 101 and ann.attributes["company.employees"] == "1200"
    assert ann.attributes["company.name"] == "Acme AB" and ann.attributes["person.country"] == "Sweden"
    bo = store.by_lead_id(102)
    assert "person.lastName" not in bo.attributes  # null is empty
    cy = store.by_email("cy@gamma.test")
    assert cy.attributes["person.lastName"] == "Multi\nLine" and cy.attributes["person.firstName"] == 'Cy "the boss"'
    assert store.by_cookie("id:561-HYG-937&token:_mch-acme.test-1").lead_id == 101
    assert store.by_cookie("id:777-AAA-111&token:_mch-phi.test-3").lead_id == 107
    assert store.by_cookie("nope") is None and store.by_email("nobody@x.test") is None


def test_importing_again_updates_without_duplicates(database_url) -> None:
    store = VisitorStore(open_database(database_url))
    import_csv(str(MALFORMED), store, DEFAULT_FIELD_MAP)
    import_csv(str(MALFORMED), store, DEFAULT_FIELD_MAP)
    assert store.count() == 4
    store.upsert([Visitor(101, "ann@acme.test", {"person.firstName": "Anna"}, "2026-11-20T00:00:00Z")])
    assert store.by_lead_id(101).attributes == {"person.firstName": "Anna"}
    assert store.count() == 4


def test_duplicate_emails_resolve_to_the_latest_lead(database_url) -> None:
    store = VisitorStore(open_database(database_url))
    store.upsert([Visitor(1, "same@x.test", {"person.firstName": "Old"}, "2026-01-01T00:00:00Z"),
                  Visitor(2, "Same@X.test", {"person.firstName": "New"}, "2026-06-01T00:00:00Z")])
    assert store.by_email("same@x.test").lead_id == 2


def test_a_failed_batch_leaves_nothing_half_written(database_url) -> None:
    store = VisitorStore(open_database(database_url))
    with pytest.raises((sqlalchemy.exc.IntegrityError, sqlite3.IntegrityError, psycopg2.IntegrityError)):
        store.upsert_rows([(1, "a@x.test", "{}", None), (2, "b@x.test", None, None)])  # attributes NOT NULL
    assert store.count() == 0


def test_streaming_batches_and_header_checks() -> None:
    csv_text = "id,email,firstName\n" + "".join(f"{n},u{n}@x.test,U{n}\n" for n in range(1, 12))
    result = ParseResult()
    batches = list(parse_leads(io.BytesIO(csv_text.encode()), DEFAULT_FIELD_MAP, result, batch_size=5))
    assert [len(b) for b in batches] == [5, 5, 1] and result.records == 11
    with pytest.raises(ValueError, match="no 'id' column"):
        list(parse_leads(io.BytesIO(b"email,firstName\na@x.test,A\n"), DEFAULT_FIELD_MAP, ParseResult()))
    with pytest.raises(ValueError, match="empty"):
        list(parse_leads(io.BytesIO(b""), DEFAULT_FIELD_MAP, ParseResult()))


def test_field_mapping_defaults_extension_and_limit(tmp_path) -> None:
    assert DEFAULT_FIELD_MAP["numberOfEmployees"] == "company.employees"
    custom = tmp_path / "fields.yml"
    custom.write_text("fields:\n  favouriteColour: person.colour\n  industry: company.sector\n")
    mapping = load_field_map(custom)
    assert mapping["favouriteColour"] == "person.colour" and mapping["industry"] == "company.sector"
    _, columns, _ = plan_columns(["id", "favouriteColour", "unknownField"], mapping)
    assert columns == [(1, "person.colour"), (2, "person.unknownField")]
    _, columns, problems = plan_columns(["id"] + [f"f{n}" for n in range(60)], mapping)
    assert len(columns) == 50 and problems == ["60 attribute columns; keeping the first 50"]
    custom.write_text("fields:\n  industry: sector\n")
    with pytest.raises(FieldMapError, match="must map to person"):
        load_field_map(custom)


def test_cli_import_and_lookup(tmp_path) -> None:
    env = {"PYTHONPATH": str(ROOT), "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "PATH": "/usr/bin:/bin"}
    result = subprocess.run([PYTHON, "-m", "bot", "import", str(MALFORMED)], cwd=ROOT, env=env,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "imported 4 of 7 rows" in result.stdout and "3 skipped" in result.stdout
    assert f"{MALFORMED}: row 5 (line 6): 5 columns, expected 10" in result.stderr
    assert "@" not in result.stderr  # no personal data in the problem report
    found = subprocess.run([PYTHON, "-m", "bot", "visitors", "lookup", "--email", "fay@phi.test"], cwd=ROOT, env=env,
                           capture_output=True, text=True)
    assert found.returncode == 0 and '"lead_id": 107' in found.stdout
    missing = subprocess.run([PYTHON, "-m", "bot", "visitors", "lookup", "--cookie", "x"], cwd=ROOT, env=env,
                             capture_output=True, text=True)
    assert missing.returncode == 1 and "no such visitor" in missing.stderr
    bad = subprocess.run([PYTHON, "-m", "bot", "import", str(tmp_path / "missing.csv")], cwd=ROOT, env=env,
                         capture_output=True, text=True)
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
