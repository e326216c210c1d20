"""`dynchat run` fails clearly, and stops what it started, when it cannot serve."""
from __future__ import annotations

import socket
import subprocess

from tests import e2e_support
from tests.conftest import FIXTURES, PYTHON, ROOT


def test_a_missing_model_is_a_clear_error(tmp_path) -> None:
    env = e2e_support.environment(tmp_path, FIXTURES / "dialogues")
    model = tmp_path / "no-model.tar.gz"
    result = subprocess.run([PYTHON, "-m", "bot", "run", "--model", str(model)], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert f"no model at {model}" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_action_server_failing_to_start_is_reported(tmp_path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        env = e2e_support.environment(tmp_path, FIXTURES / "dialogues", action_port=taken.getsockname()[1])
        subprocess.run([PYTHON, "-m", "bot", "compile"], cwd=ROOT, env=env, check=True, capture_output=True)
        model = tmp_path / "placeholder.tar.gz"
        model.write_bytes(b"")
        result = subprocess.run([PYTHON, "-m", "bot", "run", "--model", str(model)], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    assert "the action server exited during start-up" in result.stderr
    assert "Traceback" not in result.stderr.split("dynchat:")[-1]
    rasa_port = int(env["DYNCHAT_RASA_PORT"])
    with socket.socket() as probe:  # the Rasa server was stopped with it
        assert probe.connect_ex(("127.0.0.1", rasa_port)) != 0
