"""Train the Rasa model from a compiled build, only when its inputs changed."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Iterable, List

MODEL_NAME = "dynchat"


def fingerprint(build: Path, config: Path) -> str:
    """A hash of everything training reads: compiled data, domain, config, Rasa version."""
    from importlib.metadata import version

    digest = hashlib.sha256(version("rasa").encode())
    files: List[Path] = [config, build / "domain.yml", *sorted((build / "data").rglob("*.yml"))]
    for path in files:
        digest.update(str(path.relative_to(path.parent.parent if path == config else build)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def model_path(models: Path) -> Path:
    return models / f"{MODEL_NAME}.tar.gz"


def is_current(build: Path, config: Path, models: Path) -> bool:
    stamp = models / f"{MODEL_NAME}.fingerprint"
    return model_path(models).exists() and stamp.exists() and stamp.read_text().strip() == fingerprint(build, config)


def train(build: Path, config: Path, models: Path, extra_args: Iterable[str] = ()) -> int:
    """Run `rasa train` on the build; writes the fingerprint only after success."""
    models.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable, "-m", "rasa", "train",
        "--data", str(build / "data"), "--domain", str(build / "domain.yml"), "--config", str(config),
        "--out", str(models), "--fixed-model-name", MODEL_NAME,
        # Rule and memoization policies ignore augmented stories; making them only costs time.
        "--augmentation", "0",
        # The compiler validates (with positions) and checks contradictions before this runs, and the
        # tests hold its output to `rasa data validate`; Rasa's own pass took 14 s at 200 dialogues.
        "--skip-validation", *extra_args,
    ]
    result = subprocess.run(command, env={**os.environ, "RASA_TELEMETRY_ENABLED": os.environ.get(
        "RASA_TELEMETRY_ENABLED", "false")})  # no usage or crash reports leave the machine
    if result.returncode == 0:
        stamp = models / f"{MODEL_NAME}.fingerprint"
        temporary = stamp.with_suffix(".tmp")
        temporary.write_text(fingerprint(build, config) + "\n")
        temporary.replace(stamp)
    return result.returncode
