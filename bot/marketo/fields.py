"""Marketo field names -> the dialogue contract's `person.*` and `company.*` fields.

Dynamic Chat syncs up to 50 chosen person and company attributes. The
defaults below cover Marketo's standard lead fields; a project extends or
overrides them in `data/marketo_fields.yml` (`fields: {marketoName: person.x}`).
Fields with no mapping become `person.<marketoName>`.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Tuple

import yaml

MAX_ATTRIBUTES = 50
DEFAULT_FIELD_MAP: Dict[str, str] = {
    "email": "person.email",
    "firstName": "person.firstName",
    "lastName": "person.lastName",
    "title": "person.title",
    "phone": "person.phone",
    "mobilePhone": "person.mobilePhone",
    "country": "person.country",
    "state": "person.state",
    "city": "person.city",
    "leadScore": "person.leadScore",
    "leadStatus": "person.leadStatus",
    "company": "company.name",
    "industry": "company.industry",
    "numberOfEmployees": "company.employees",
    "annualRevenue": "company.annualRevenue",
    "website": "company.website",
    "mainPhone": "company.phone",
    "billingCountry": "company.country",
    "billingCity": "company.city",
    "sicCode": "company.sicCode",
}
_FIELD = re.compile(r"^(person|company)\.[A-Za-z][A-Za-z0-9_]*$")
_MARKETO_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


class FieldMapError(ValueError):
    """The mapping file is wrong; the message says where."""


def load_field_map(path: Optional[Path]) -> Dict[str, str]:
    """The default mapping, extended by the project's file when it exists."""
    mapping = dict(DEFAULT_FIELD_MAP)
    if path is None or not path.exists():
        return mapping
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise FieldMapError(f"{path}: invalid YAML: {exc}") from None
    fields = data.get("fields") if isinstance(data, dict) else None
    if not isinstance(fields, dict):
        raise FieldMapError(f"{path}: expected 'fields:' with marketoName: person.x or company.x entries")
    for name, field in fields.items():
        if not isinstance(name, str) or not _MARKETO_NAME.match(name):
            raise FieldMapError(f"{path}: '{name}' is not a Marketo field name")
        if not isinstance(field, str) or not _FIELD.match(field):
            raise FieldMapError(f"{path}: '{name}' must map to person.<name> or company.<name>, not '{field}'")
        mapping[name] = field
    return mapping


def contract_field(marketo_name: str, mapping: Mapping[str, str]) -> str:
    return mapping.get(marketo_name) or f"person.{marketo_name}"


def plan_columns(header: Iterable[str], mapping: Mapping[str, str]) -> Tuple[int, List[Tuple[int, str]], List[str]]:
    """For a bulk-extract header: the `id` column, (column, field) pairs to keep, and problems.

    Keeps at most MAX_ATTRIBUTES attribute columns (besides id), like Dynamic Chat.
    """
    names = [name.strip() for name in header]
    problems: List[str] = []
    if "id" not in names:
        raise FieldMapError("the header has no 'id' column (Marketo's lead id)")
    columns = [(index, contract_field(name, mapping)) for index, name in enumerate(names)
               if name != "id" and name and _MARKETO_NAME.match(name)]
    if len(columns) > MAX_ATTRIBUTES:
        problems.append(f"{len(columns)} attribute columns; keeping the first {MAX_ATTRIBUTES}")
        columns = columns[:MAX_ATTRIBUTES]
    return names.index("id"), columns, problems
