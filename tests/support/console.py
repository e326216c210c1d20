"""The web process (console, API, demo site) as a real server for a test, with users of each role."""
from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, Optional

import requests

from bot.app import Services
from bot.config import from_environment
from bot.dialogues.build import compile_project
from tests.support import FIXTURES, PYTHON, ROOT
from tests.support.e2e import free_port

PASSWORDS = {"admin": "admin password 1", "designer": "designer password 1", "viewer": "viewer password 1"}


def user(role: str) -> str:
    return f"{role}@corp.test"


@dataclass
class Web:
    process: subprocess.Popen
    base: str
    env: Dict[str, str]
    services: Services           # the same database and files, for arranging and checking

    def login(self, role: str) -> requests.Session:
        """A client logged in as the user of `role`, sending the CSRF token on every call."""
        client = requests.Session()
        answer = client.post(self.base + "/api/session", json={"email": user(role), "password": PASSWORDS[role]}, timeout=10)
        answer.raise_for_status()
        client.headers["X-CSRF-Token"] = answer.json()["csrf"]
        return client

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def environment(folder: Path, port: int, extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """A project of its own under `folder`: the fixture dialogues (copied, so edits stay there), compiled."""
    dialogues = folder / "dialogues"
    shutil.copytree(FIXTURES / "dialogues", dialogues)
    compiled, problems = compile_project(ROOT, [str(dialogues)])
    assert compiled is not None and problems == []
    compiled.write(folder / "build")
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DYNCHAT_", "MARKETO", "DATABASE_URL"))}
    agents = folder / "agents.yml"  # the console edits these: copies
    agents.write_text((FIXTURES / "agents" / "always.yml").read_text(encoding="utf-8"), encoding="utf-8")
    widget = folder / "widget.yml"
    widget.write_text((ROOT / "data" / "widget.yml").read_text(encoding="utf-8"), encoding="utf-8")
    env.update({"DYNCHAT_WIDGET": str(widget),
                "DYNCHAT_PROJECT": str(ROOT), "DYNCHAT_DIALOGUES": str(dialogues), "DYNCHAT_BUILD": str(folder / "build"),
                "DYNCHAT_VAR": str(folder / "var"), "DYNCHAT_WEB_PORT": str(port), "PYTHONPATH": str(ROOT),
                "DYNCHAT_AGENTS": str(agents), "DYNCHAT_ACCOUNTS": str(folder / "none.csv"),
                "DYNCHAT_FIELD_MAP": str(folder / "none.yml")})
    env.update(extra or {})
    return env


def start_web(folder: Path, extra: Optional[Dict[str, str]] = None) -> Web:
    port = free_port()
    env = environment(folder, port, extra)
    services = Services(from_environment(env))
    services.database.upgrade()
    for role, password in PASSWORDS.items():
        services.accounts.add_user(user(role), password, role)
    log = open(folder / "web.log", "wb")
    process = subprocess.Popen([PYTHON, "-m", "bot.web.site", "--no-demo"], cwd=ROOT, env=env, stdout=log,
                               stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if requests.get(base + "/_web/health", timeout=2).ok:
                return Web(process, base, env, services)
        except requests.RequestException:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"the web process did not start:\n{(folder / 'web.log').read_text()}")
        time.sleep(0.1)


def running_web(folder: Path, extra: Optional[Dict[str, str]] = None) -> Iterator[Web]:
    web = start_web(folder, extra)
    try:
        yield web
    finally:
        web.stop()
        web.services.close()
