"""The API's OpenAPI 3 document, built from the routes as they are declared (one place for both)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence


def obj(properties: Dict[str, Any], required: Sequence[str] = (), extra: bool = True) -> Dict[str, Any]:
    schema: Dict[str, Any] = {"type": "object", "properties": properties, "required": list(required)}
    if not extra:
        schema["additionalProperties"] = False
    return schema


def array(items: Dict[str, Any]) -> Dict[str, Any]:
    return {"type": "array", "items": items}


def nullable(schema: Dict[str, Any]) -> Dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


STRING: Dict[str, Any] = {"type": "string"}
INTEGER: Dict[str, Any] = {"type": "integer"}
NUMBER: Dict[str, Any] = {"type": "number"}
BOOLEAN: Dict[str, Any] = {"type": "boolean"}
ERROR = obj({"error": STRING}, ["error"])


@dataclass(frozen=True)
class Param:
    name: str
    schema: Dict[str, Any]
    where: str = "query"          # query | path
    required: bool = False
    description: str = ""

    def as_json(self) -> Dict[str, Any]:
        return {"name": self.name, "in": self.where, "required": self.required or self.where == "path",
                "schema": self.schema, **({"description": self.description} if self.description else {})}


@dataclass
class Document:
    title: str
    version: str
    paths: Dict[str, Dict[str, Any]] = field(default_factory=dict)

    def add(self, method: str, path: str, summary: str, permission: Optional[str], params: Sequence[Param],
            body: Optional[Dict[str, Any]], response: Optional[Dict[str, Any]], content: str, status: int,
            errors: List[int], raw_body: Sequence[str] = ()) -> None:
        operation_id = re.sub(r"[^a-z0-9]+", "_", f"{method.lower()}_{path.lower()}").strip("_")
        operation: Dict[str, Any] = {
            "summary": summary, "operationId": operation_id,
            "parameters": [p.as_json() for p in params],
            "responses": {str(status): {"description": "done", **({"content": {content: {"schema": response}}}
                                                                   if response is not None else {})}},
        }
        if permission is not None:
            operation["security"] = [{"session": []}]
            operation["x-permission"] = permission
        if body is not None:
            operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
        if raw_body:
            operation["requestBody"] = {"required": True, "content": {
                kind: {"schema": {"type": "string", "format": "binary"}} for kind in raw_body}}
        for code in errors:
            operation["responses"][str(code)] = {"description": ERROR_TEXT.get(code, "error"),
                                                 "content": {"application/json": {"schema": ERROR}}}
        self.paths.setdefault(path, {})[method.lower()] = operation

    def as_json(self) -> Dict[str, Any]:
        return {
            "openapi": "3.0.3",
            "info": {"title": self.title, "version": self.version,
                     "description": "The console's API. Log in with POST /api/session; send the session cookie, and "
                                    "the csrf value it returns as X-CSRF-Token on every call that changes something."},
            "paths": self.paths,
            "components": {"securitySchemes": {"session": {"type": "apiKey", "in": "cookie", "name": "dc_console"}}},
        }


ERROR_TEXT = {400: "the request is malformed (the error says how)", 401: "not logged in",
              403: "not allowed for this role, or the CSRF token is missing or wrong", 404: "no such thing",
              409: "conflicts with the current state", 413: "too large", 415: "JSON only",
              429: "too many attempts"}
