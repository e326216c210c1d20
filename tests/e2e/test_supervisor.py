"""`dynchat run` fails clearly, and stops what it started, when it cannot serve."""
from __future__ import annotations

import dataclasses
import socket
import subprocess

import yaml
from rasa.utils.endpoints import read_endpoint_config

from bot.config import from_environment
from bot.web.serve import TRACKER_STORE_URL, endpoints_for
from tests.support import FIXTURES, PYTHON, ROOT
from tests.support import e2e as e2e_support


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
    ours, _, log_tail = result.stderr.rpartition("dynchat:")[2].partition("; the end of ")
    assert "the action server exited during start-up" in ours and "Traceback" not in ours
    assert "address already in use" in log_tail.lower()  # why, from the server's own output in the log
    assert "Traceback" not in result.stdout  # the servers' output went to the log, not the terminal
    rasa_port = int(env["DYNCHAT_RASA_PORT"])
    with socket.socket() as probe:  # the Rasa server was stopped with it
        assert probe.connect_ex(("127.0.0.1", rasa_port)) != 0


def test_conversations_go_to_our_database_unless_the_project_names_a_tracker_store(tmp_path, monkeypatch) -> None:
    secret_url = "postgresql://dynchat:s3cret@db.internal:5432/dynchat"
    settings = from_environment({"DYNCHAT_PROJECT": str(ROOT), "DYNCHAT_BUILD": str(tmp_path / "build"),
                                 "DATABASE_URL": secret_url})
    written = endpoints_for(settings)
    assert "s3cret" not in written.read_text(encoding="utf-8")  # the URL comes from the environment
    monkeypatch.setenv(TRACKER_STORE_URL, secret_url)  # as `dynchat run` starts the Rasa server
    monkeypatch.setenv("DYNCHAT_INTERNAL_TOKEN", "the-shared-token")
    store = read_endpoint_config(str(written), "tracker_store")  # as the Rasa server reads it
    assert (store.type, store.url) == ("bot.web.tracker_store.SQLTrackerStore", secret_url)
    assert read_endpoint_config(str(written), "action_endpoint").token == "the-shared-token"
    assert "the-shared-token" not in written.read_text(encoding="utf-8")

    project = tmp_path / "project"
    project.mkdir()
    chosen = {"tracker_store": {"type": "redis", "url": "redis.internal"}}
    (project / "endpoints.yml").write_text(yaml.safe_dump(chosen), encoding="utf-8")
    written = endpoints_for(dataclasses.replace(settings, project=project))
    assert yaml.safe_load(written.read_text(encoding="utf-8"))["tracker_store"] == chosen["tracker_store"]


def test_dynchat_serve_runs_one_server_in_the_foreground_as_a_container_does(tmp_path) -> None:
    """`dynchat serve actions` (the containers' command, deploy/): the action server with what dynchat run gives it."""
    import time
    import urllib.request

    env = e2e_support.environment(tmp_path, FIXTURES / "dialogues")
    subprocess.run([PYTHON, "-m", "bot", "compile"], cwd=ROOT, env=env, check=True, capture_output=True)
    port = e2e_support.free_port()
    server = subprocess.Popen([PYTHON, "-m", "bot", "serve", "actions", "--port", str(port)], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as answer:
                    assert answer.status == 200
                    break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "the action server did not start"
                time.sleep(0.3)
        refused = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST",
                                  f"http://127.0.0.1:{port}/webhook"], capture_output=True, text=True)
        assert refused.stdout == "403"  # the token applies here too
    finally:
        server.terminate()
        server.wait(timeout=30)
    missing = subprocess.run([PYTHON, "-m", "bot", "serve", "rasa", "--model", str(tmp_path / "none.tar.gz")],
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert missing.returncode == 1 and "no model at" in missing.stderr
