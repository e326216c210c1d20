"""deploy/: the Compose file and the Kubernetes manifests, checked against their schemas and against the code.

The schemas are the Compose specification's and Kubernetes 1.30's, which `make test` takes from their
packages on PyPI (see the Makefile). Beyond the schemas: every setting named is one `bot/config.py` reads,
every command is a `dynchat serve` the CLI has, health checks hit the paths the servers answer, and only the
chat's paths are public.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Dict, Iterator, List

import jsonschema
import pytest
import yaml

from tests.support import ROOT, in_ci

SCHEMAS = ROOT / ".venv" / "share" / "schemas"
KUBERNETES = SCHEMAS / "kubernetes_validate" / "kubernetes-json-schema" / "v1.30.0-local-strict"
PUBLIC = ["/webhooks/rest/", "/socket.io/", "/widget.js", "/widget/", "/webhooks/calendar/"]
OTHERS = {"POSTGRES_USER", "POSTGRES_DB", "POSTGRES_PASSWORD", "SANIC_WORKERS", "SANIC_PROXIES_COUNT"}


def _schema(path: Path) -> Dict[str, Any]:
    if not path.exists():
        message = f"{path} is missing: `make test` fetches the schemas"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    return json.loads(path.read_text(encoding="utf-8"))


def _settings_read() -> set:
    source = (ROOT / "bot" / "config.py").read_text(encoding="utf-8")
    return set(re.findall(r'env(?:\.get\(|\[)"([A-Z0-9_]+)"', source)) | {"MARKETO_BASE_URL"}


def _documents() -> Iterator[Dict[str, Any]]:
    for path in sorted((ROOT / "deploy" / "kubernetes").glob("*.yaml")):
        yield from (doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc)


def test_the_compose_file_follows_the_compose_specification() -> None:
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yml").read_text(encoding="utf-8"))
    jsonschema.validate(compose, _schema(SCHEMAS / "compose_spec.json"))
    known = _settings_read() | OTHERS
    for name, service in compose["services"].items():
        unknown = set(service.get("environment") or {}) - known
        assert not unknown, (name, unknown)
    commands = {name: service.get("command") for name, service in compose["services"].items()}
    assert [commands[kind][:3] for kind in ("rasa", "actions", "console")] == [
        ["dynchat", "serve", "rasa"], ["dynchat", "serve", "actions"], ["dynchat", "serve", "console"]]
    assert compose["services"]["balancer"]["ports"] == ["5005:5005"]  # the chat is the only public port
    assert compose["services"]["console"]["ports"] == ["127.0.0.1:8080:8080"]
    haproxy = (ROOT / "deploy" / "haproxy.cfg").read_text(encoding="utf-8")
    assert f"acl public path_beg {' '.join(PUBLIC)}" in haproxy


def _kubernetes_schema(kind: str, api_version: str) -> Dict[str, Any]:
    group, _, version = api_version.rpartition("/")
    name = f"{kind.lower()}-{group.split('.')[0] + '-' if group else ''}{version}.json"
    return _schema(KUBERNETES / name)


def test_the_kubernetes_manifests_follow_kubernetes_1_30() -> None:
    definitions = _schema(KUBERNETES / "_definitions.json")
    documents = list(_documents())
    assert {doc["kind"] for doc in documents} == {"ConfigMap", "Deployment", "Service", "Ingress"}
    for doc in documents:
        schema = _kubernetes_schema(doc["kind"], doc["apiVersion"])
        resolver = jsonschema.RefResolver.from_schema(schema, store={"_definitions.json": definitions})
        jsonschema.validators.validator_for(schema)(schema, resolver=resolver).validate(doc)


def _containers() -> List[Dict[str, Any]]:
    return [c for doc in _documents() if doc["kind"] == "Deployment" for c in doc["spec"]["template"]["spec"]["containers"]]


def test_the_manifests_agree_with_the_code() -> None:
    known = _settings_read() | OTHERS
    config = next(doc for doc in _documents() if doc["kind"] == "ConfigMap")
    assert set(config["data"]) <= known
    health = {"rasa": "/", "actions": "/health", "console": "/_web/health", "events": "/health"}
    for container in _containers():
        assert container["args"][:3] == ["dynchat", "serve", container["name"]]
        assert {env["name"] for env in container.get("env") or []} <= known
        assert container["readinessProbe"]["httpGet"]["path"] == health[container["name"]]
    ingress = next(doc for doc in _documents() if doc["kind"] == "Ingress")
    paths = [p["path"] for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]]
    assert paths == PUBLIC  # only the chat reaches the internet
    services = {p["backend"]["service"]["name"] for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]}
    assert services == {"dynchat-rasa"}


def test_a_broken_manifest_is_caught() -> None:
    """The check can fail: a misspelt field is refused by the strict schemas."""
    deployment = next(doc for doc in _documents() if doc["kind"] == "Deployment")
    broken = json.loads(json.dumps(deployment))
    broken["spec"]["replica"] = 2
    schema = _kubernetes_schema("Deployment", "apps/v1")
    resolver = jsonschema.RefResolver.from_schema(schema, store={"_definitions.json": _schema(KUBERNETES / "_definitions.json")})
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validators.validator_for(schema)(schema, resolver=resolver).validate(broken)
