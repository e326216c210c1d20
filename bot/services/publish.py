"""Publishing without downtime: compile, train in the background, load into the running Rasa server.

Training works in a folder of its own (`var/publish/<id>/`), never in the
live build: until the new model is loaded, visitors talk to the old one,
and a failed compile or training leaves everything as it was and says why.
The Rasa server builds the new agent on a thread and swaps it in once it is
loaded (`bot.web.model_channel`; the old one answers meanwhile); then the new compiled dialogues replace the live build
(the action server re-reads its manifest when it changes), and the model
becomes `models/dynchat.tar.gz`, so a restart starts where the publish left
off. One publish at a time per web process.
"""
from __future__ import annotations

import json
import logging
import shutil
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

from bot.dialogues import train
from bot.dialogues.build import compile_project
from bot.dialogues.compiler import Compiled
from bot.files import log_tail

logger = logging.getLogger(__name__)
KEEP = 3  # publish folders kept for a look after the fact

Loader = Callable[[Path], None]


@dataclass(frozen=True)
class Folders:
    """Where publishing reads and writes (from the settings, by the composition root)."""

    project: Path      # config.yml, domain.yml, data/nlu
    dialogues: Path    # the dialogue sources
    build: Path        # the live compiled dialogues (the action server follows build/manifest.json)
    models: Path       # the live model (what a restart loads)
    var: Path          # var/publish/<id>/: each publish's own build and model
    log: Path          # Rasa's training output


@dataclass
class Publish:
    id: str
    by: str
    state: str = "compiling"          # compiling | training | loading | live | failed | unchanged
    share: float = 0.0                # how far, 0..1
    what: str = "compiling the dialogues"
    started_at: float = field(default_factory=time.time)
    finished_at: Optional[float] = None
    error: Optional[str] = None
    problems: List[str] = field(default_factory=list)
    seconds: Dict[str, float] = field(default_factory=dict)   # compile, train, load

    @property
    def running(self) -> bool:
        return self.state in ("compiling", "training", "loading")

    def as_json(self) -> Dict[str, Any]:
        return {**asdict(self), "running": self.running}


def rasa_loader(rasa_url: str, token: Optional[str], timeout: float = 600.0) -> Loader:
    """Load a model into the Rasa server at `rasa_url` (`bot.web.model_channel`: on a thread, visitors chat on)."""
    def load(model: Path) -> None:
        if not token:
            raise RuntimeError("publishing needs DYNCHAT_INTERNAL_TOKEN, which dynchat run sets for its servers")
        request = urllib.request.Request(f"{rasa_url.rstrip('/')}/webhooks/dynchat_model/load", method="PUT",
                                         data=json.dumps({"model_file": str(model)}).encode(),
                                         headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                answer.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")[:500]
            raise RuntimeError(f"the Rasa server refused the model ({exc.code}): {detail}") from None
        except OSError as exc:
            raise RuntimeError(f"the Rasa server could not be reached ({exc})") from None
    return load


def every(loaders: List[Loader]) -> Loader:
    """Load a model into every Rasa server (several behind a load balancer), one after the other."""
    def load(model: Path) -> None:
        for each in loaders:
            each(model)
    return load


class Publisher:
    def __init__(self, folders: Folders, load: Loader) -> None:
        self.folders, self.load = folders, load
        self._lock = threading.Lock()
        self.current: Optional[Publish] = None
        self.history: List[Publish] = []

    def start(self, by: str) -> Optional[Publish]:
        """Start publishing in the background; None when a publish is running already."""
        with self._lock:
            if self.current is not None and self.current.running:
                return None
            self.current = Publish(f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}", by)
            self.history = ([self.current] + self.history)[:20]
            job = self.current
        threading.Thread(target=self._run, args=(job,), name="publish", daemon=True).start()
        return job

    def _run(self, job: Publish) -> None:
        try:
            self._publish(job)
        except Exception as exc:  # the job says why; the running model stays
            logger.warning("publish %s failed: %s", job.id, exc)
            job.state, job.error = "failed", str(exc)
        finally:
            job.finished_at = time.time()
            self._tidy()

    def _publish(self, job: Publish) -> None:
        folders = self.folders
        config = folders.project / "config.yml"
        began = time.monotonic()
        compiled, problems = compile_project(folders.project, [str(folders.dialogues)])
        job.seconds["compile"] = round(time.monotonic() - began, 2)
        if problems or compiled is None:
            job.state, job.problems = "failed", [str(p) for p in problems[:50]]
            job.error = f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in the dialogues: fix them and publish again"
            return
        folder = folders.var / "publish" / job.id
        build, models = folder / "build", folder / "models"
        compiled.write(build)
        if train.is_current(build, config, folders.models):
            job.state, job.share, job.what = "unchanged", 1.0, "the running model has these dialogues already"
            return
        job.state, job.what = "training", "training the model"
        began = time.monotonic()

        def progress(share: float, what: str) -> None:
            job.share, job.what = round(0.05 + 0.85 * share, 3), f"training: {what}"

        status = train.train(build, config, models, log=folders.log, progress=progress)
        job.seconds["train"] = round(time.monotonic() - began, 2)
        if status:
            job.state = "failed"
            job.error = f"training failed (exit {status}); the running model stays. The end of the log:\n{log_tail(folders.log)}"
            return
        job.state, job.share, job.what = "loading", 0.92, "loading the model into the Rasa server"
        began = time.monotonic()
        self.load(train.model_path(models))
        job.seconds["load"] = round(time.monotonic() - began, 2)
        self._make_live(compiled, models)
        job.state, job.share, job.what = "live", 1.0, "live: new visits and turns use the new dialogues"
        logger.info("publish %s by %s is live (%s)", job.id, job.by, job.seconds)

    def _make_live(self, compiled: Compiled, models: Path) -> None:
        """The live build and model become the published ones. The compiler writes each changed file whole and
        in name order, so `manifest.json` (which the actions follow) comes last."""
        live = self.folders.build
        compiled.write(live)
        for stale in (live / "data").rglob("*.yml") if (live / "data").exists() else []:
            if str(stale.relative_to(live)) not in compiled.files:
                stale.unlink()
        self.folders.models.mkdir(parents=True, exist_ok=True)
        for name in (train.model_path(models).name, f"{train.MODEL_NAME}.fingerprint"):
            temporary = self.folders.models / f".{name}.tmp"
            shutil.copyfile(models / name, temporary)
            temporary.replace(self.folders.models / name)

    def _tidy(self) -> None:
        root = self.folders.var / "publish"
        if not root.exists():
            return
        folders = sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: p.name, reverse=True)
        for old in folders[KEEP:]:
            shutil.rmtree(old, ignore_errors=True)
