"""Run the real bot for end-to-end tests: train once, start `dynchat run`, talk to it."""
from __future__ import annotations

import atexit
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

from bot.config import from_environment
from bot.core import identity
from tests.support import PYTHON, ROOT


def wait_for(condition: Any, timeout: float = 30) -> None:
    """Until `condition()` holds (a socket.io answer, say), or fail saying the bot did not answer in time."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the bot"
        time.sleep(0.05)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Bot:
    """A running `dynchat run` with its ports; `say` talks over the REST channel as a visitor does.

    A test names its visitors as it likes; each name gets a conversation id the bot issued (from
    `/widget/visit`, as the widget gets its own), since the channels take no other.
    """

    process: subprocess.Popen
    rasa_port: int
    action_port: int
    env: Dict[str, str] = field(default_factory=dict)
    output: List[str] = field(default_factory=list)
    conversations: Dict[str, str] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    def everything_printed(self) -> str:
        """What the terminal showed and what went to the log file (servers' output)."""
        return "".join(self.output) + log_text(self.env)

    def post(self, path: str, body: Dict[str, Any]) -> Any:
        request = urllib.request.Request(self.base + path, data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())

    def get(self, path: str) -> Any:
        """Rasa's HTTP API, with the token `dynchat run` gave it (the tests set DYNCHAT_INTERNAL_TOKEN)."""
        token = urllib.parse.quote(self.env.get("DYNCHAT_INTERNAL_TOKEN", ""))
        with urllib.request.urlopen(f"{self.base}{path}{'&' if '?' in path else '?'}token={token}", timeout=60) as response:
            return json.loads(response.read())

    def conversation(self, name: str) -> str:
        """The conversation id the bot issued for the visitor a test calls `name`."""
        if name not in self.conversations:
            self.conversations[name] = self.post("/widget/visit", {})["session_id"]
        return self.conversations[name]

    def signed(self, email: str) -> Dict[str, str]:
        """Visit metadata by which a site vouches for its logged-in visitor (the tests' identity secret)."""
        return {"email": email, "signature": identity.signature(self.env["DYNCHAT_IDENTITY_SECRET"], email)}

    def say(self, sender: str, text: str, metadata: Optional[Dict[str, Any]] = None) -> List[Dict[str, Any]]:
        body: Dict[str, Any] = {"sender": self.conversation(sender), "message": text}
        if metadata is not None:
            body["metadata"] = metadata
        return self.post("/webhooks/rest/webhook", body)

    def texts(self, sender: str, text: str, metadata: Optional[Dict[str, Any]] = None) -> List[str]:
        return [m.get("text") for m in self.say(sender, text, metadata)]

    def slots(self, sender: str) -> Dict[str, Any]:
        return self.get(f"/conversations/{self.conversation(sender)}/tracker")["slots"]

    def stop(self, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        return self.process.returncode


def slot_of(button: Dict[str, Any]) -> int:
    """The time (epoch seconds) a meeting card's button books."""
    return int(json.loads(button["payload"][len("/dc_meeting"):])["dc_slot"])


def offered_times(buttons: List[Dict[str, Any]]) -> List[int]:
    """The times a meeting card offers (its "more times" button left out)."""
    return [slot_of(button) for button in buttons if button["payload"].startswith("/dc_meeting{")]


def environment(tmp: Path, dialogues: Path, rasa_port: int = 0, action_port: int = 0) -> Dict[str, str]:
    env = dict(os.environ)
    env.update({
        "PYTHONPATH": str(ROOT), "DYNCHAT_PROJECT": str(ROOT), "DYNCHAT_DIALOGUES": str(dialogues),
        "DYNCHAT_BUILD": str(tmp / "build"), "DYNCHAT_MODELS": str(tmp / "models"),
        "DYNCHAT_RASA_PORT": str(rasa_port or free_port()), "DYNCHAT_ACTION_PORT": str(action_port or free_port()),
        "DYNCHAT_EVENTS_PORT": str(free_port()),  # the events consumer's health (with RABBITMQ_URL)
        "DATABASE_URL": f"sqlite:///{tmp / 'visitors.db'}", "DYNCHAT_VAR": str(tmp / "var"),
        "DYNCHAT_WEB_PORT": "0",  # the widget's tests start the demo site on a port of their own
        "DYNCHAT_AGENTS": str(tmp / "no-agents.yml"),  # meetings are off unless a test gives agents
        "DYNCHAT_INTERNAL_TOKEN": "e2e-internal-token",  # Rasa's HTTP API and the action server want it
        "DYNCHAT_IDENTITY_SECRET": "e2e-identity-secret",  # what a site signs its visitors' emails with
    })
    return env


def log_text(env: Dict[str, str]) -> str:
    """The log `dynchat train` and `dynchat run` write Rasa's and the servers' output to."""
    path = from_environment(env).log
    return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""


# Models trained in this test run, by the fingerprint `dynchat train` compares (compiled data, domain, config, Rasa):
# modules that serve the same dialogues train once between them.
_TRAINED = Path(tempfile.gettempdir()) / f"dynchat-test-models-{os.getpid()}"
atexit.register(shutil.rmtree, _TRAINED, True)


def train(env: Dict[str, str]) -> None:
    """`dynchat train` for a module's bot, starting from a model this run trained on the same compiled dialogues
    (then `dynchat train` finds it up to date, as it would on a developer's machine) instead of a minute or two
    of training again."""
    from bot.dialogues import train as training

    settings = from_environment(env)
    config = settings.project / "config.yml"
    compiled = subprocess.run([PYTHON, "-m", "bot", "compile"], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=300)
    assert compiled.returncode == 0, compiled.stdout[-3000:] + compiled.stderr[-3000:]
    kept = _TRAINED / training.fingerprint(settings.build, config)
    if kept.is_dir():
        shutil.copytree(kept, settings.models, dirs_exist_ok=True)
    result = subprocess.run([PYTHON, "-m", "bot", "train"], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Contradicting rules" not in result.stdout + result.stderr + log_text(env)
    assert "Warning" not in result.stdout + result.stderr  # Rasa's and TensorFlow's go to the log
    if not kept.is_dir() and training.is_current(settings.build, config, settings.models):
        keeping = kept.with_suffix(".tmp")
        keeping.mkdir(parents=True, exist_ok=True)
        for made in (training.model_path(settings.models), settings.models / f"{training.MODEL_NAME}.fingerprint"):
            shutil.copy2(made, keeping / made.name)
        keeping.rename(kept)


def start(env: Dict[str, str], extra: List[str] = (), timeout: float = 300) -> Bot:
    process = subprocess.Popen([PYTHON, "-m", "bot", "run", *extra], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    bot = Bot(process, int(env["DYNCHAT_RASA_PORT"]), int(env["DYNCHAT_ACTION_PORT"]), env)
    ready = threading.Event()

    def pump() -> None:
        for line in process.stdout:
            bot.output.append(line)
            if "Dynamic Chat is running" in line:
                ready.set()

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + timeout
    while not ready.is_set():
        if process.poll() is not None or time.monotonic() > deadline:
            bot.stop()
            raise AssertionError("dynchat run did not start:\n" + "".join(bot.output[-80:]))
        time.sleep(0.2)
    return bot
