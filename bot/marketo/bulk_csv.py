"""Marketo bulk-extract CSV, read as a stream: rows for the visitor store, problems by row number.

The file can be far larger than memory, so it is parsed record by record and
handed on in batches. A bad record (wrong column count, invalid UTF-8, a lead
id that is not a number) is reported with its row number and skipped; the
rest loads. `null` is Marketo's empty value. A UTF-8 byte-order mark is fine.
"""
from __future__ import annotations

import csv
import io
import json
import sys
from dataclasses import dataclass, field
from typing import BinaryIO, Callable, Iterator, List, Mapping, Optional

from bot.marketo.fields import plan_columns
from bot.store.visitors import Row

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


@dataclass(frozen=True)
class RowProblem:
    row: int       # 1 is the header, as in a spreadsheet
    line: int      # the file line where the record ends (records may span lines)
    message: str

    def __str__(self) -> str:
        return f"row {self.row} (line {self.line}): {self.message}"


@dataclass
class ParseResult:
    """Filled in while the generator runs."""

    header_problems: List[str] = field(default_factory=list)
    problems: List[RowProblem] = field(default_factory=list)
    records: int = 0
    cookies: List[tuple] = field(default_factory=list)


def parse_leads(binary: BinaryIO, mapping: Mapping[str, str], result: ParseResult,
                batch_size: int = 5000) -> Iterator[List[Row]]:
    """Yield batches of (lead_id, email, attributes JSON, updatedAt); problems go to `result`."""
    text = io.TextIOWrapper(binary, encoding="utf-8-sig", errors="surrogateescape", newline="")
    reader = csv.reader(text)
    header = next(reader, None)
    if not header:
        raise ValueError("the file is empty: expected a header row with 'id' and field names")
    try:
        "".join(header).encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("the header row is not valid UTF-8") from None
    id_column, columns, result.header_problems = plan_columns(header, mapping)
    names = [name.strip() for name in header]
    email_column = names.index("email") if "email" in names else None
    updated_column = names.index("updatedAt") if "updatedAt" in names else None
    cookie_column = names.index("cookies") if "cookies" in names else None
    columns = [(index, name) for index, name in columns if index not in (updated_column, cookie_column)]
    width = len(names)
    dumps = json.dumps
    batch: List[Row] = []
    row_number = 1
    for record in reader:
        row_number += 1
        result.records += 1
        if len(record) != width:
            if not record:
                result.records -= 1
                continue
            result.problems.append(RowProblem(row_number, reader.line_num,
                                              f"{len(record)} columns, expected {width}"))
            continue
        try:
            "\x1f".join(record).encode("utf-8")
        except UnicodeEncodeError:
            result.problems.append(RowProblem(row_number, reader.line_num, "not valid UTF-8"))
            continue
        raw_id = record[id_column]
        if not raw_id.isdigit():
            result.problems.append(RowProblem(row_number, reader.line_num, "the lead id is not a whole number"))
            continue
        attributes = {name: record[index] for index, name in columns
                      if record[index] and record[index] != "null"}
        email = record[email_column].strip().lower() if email_column is not None else ""
        updated = record[updated_column] if updated_column is not None else ""
        lead_id = int(raw_id)
        batch.append((lead_id, email if email and email != "null" else None,
                      dumps(attributes, ensure_ascii=False), updated if updated and updated != "null" else None))
        if cookie_column is not None and record[cookie_column] not in ("", "null"):
            result.cookies.extend((cookie.strip(), lead_id) for cookie in record[cookie_column].split(";") if cookie.strip())
        if len(batch) >= batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


@dataclass
class ImportReport:
    loaded: int
    records: int
    problems: List[RowProblem]
    header_problems: List[str]
    seconds: float


def import_csv(path: str, store, mapping: Mapping[str, str],
               progress: Optional[Callable[[int, int], None]] = None, batch_size: int = 5000) -> ImportReport:
    """Load a bulk-extract CSV into the store, one transaction per batch (re-running is safe)."""
    import os
    import time

    started = time.perf_counter()
    result = ParseResult()
    loaded = 0
    total = os.path.getsize(path)
    with open(path, "rb") as binary:
        for batch in parse_leads(binary, mapping, result, batch_size):
            store.upsert_rows(batch)
            loaded += len(batch)
            for cookie, lead_id in result.cookies:
                store.associate_cookie(cookie, lead_id)
            result.cookies.clear()
            if progress:
                progress(binary.tell(), total)
    return ImportReport(loaded, result.records, result.problems, result.header_problems,
                        time.perf_counter() - started)
