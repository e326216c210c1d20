"""Train the Rasa model from a compiled build, only when its inputs changed."""
from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path
from typing import IO, Callable, Iterable, List, Optional

Progress = Callable[[float, str], None]  # share done (0..1), what is happening

MODEL_NAME = "dynchat"


def fingerprint(build: Path, config: Path) -> str:
    """A hash of everything training reads: compiled data, domain, config, Rasa version."""
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


def train(build: Path, config: Path, models: Path, extra_args: Iterable[str] = (), log: Optional[Path] = None,
          progress: Optional[Progress] = None) -> int:
    """Run `rasa train` on the build; writes the fingerprint only after success.

    With `log`, Rasa's output (warnings, per-epoch lines) goes to that file
    and `progress` hears how far training is instead.
    """
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
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": os.environ.get("RASA_TELEMETRY_ENABLED", "false")}  # no reports
    if log is None:
        returncode = subprocess.run(command, env=env).returncode
    else:
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "ab") as output:
            process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            assert process.stdout is not None
            follow(process.stdout, output, progress or (lambda share, what: None))
            returncode = process.wait()
    if returncode == 0:
        stamp = models / f"{MODEL_NAME}.fingerprint"
        temporary = stamp.with_suffix(".tmp")
        temporary.write_text(fingerprint(build, config) + "\n")
        temporary.replace(stamp)
    return returncode


_STARTING = re.compile(r"(?:Starting to train|Restored) component '([^']+)'")
_EPOCHS = re.compile(r"Epochs:\s+(\d+)%")


def follow(stream: IO[bytes], output: IO[bytes], progress: Progress) -> None:
    """Copy Rasa's output to the log, telling `progress` how far it is.

    Featurizers are quick, the intent classifier's epochs take most of the
    time, the rule and memoization policies a moment at the end: the share
    follows that (10 % before the epochs, 80 % for them, the rest after).
    """
    share, what = 0.02, "loading Rasa"
    progress(share, what)
    pending = b""
    while True:
        chunk = getattr(stream, "read1", stream.read)(4096)  # what is there now, not a full 4 kB
        if not chunk:
            break
        output.write(chunk)
        pending += chunk
        *lines, pending = re.split(rb"[\r\n]", pending)
        for raw in lines:
            line = raw.decode("utf-8", "replace")
            started, epochs = _STARTING.search(line), _EPOCHS.search(line)
            if started:
                what = started.group(1)
                share = max(share, 0.9 if "Policy" in what else 0.1)
            elif epochs:
                share = max(share, 0.1 + 0.8 * int(epochs.group(1)) / 100)
            else:
                continue
            progress(share, what)
    output.flush()
