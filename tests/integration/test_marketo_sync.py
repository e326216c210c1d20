"""Bulk lead sync against the emulator: windows, limits, resumes, checksums, token expiry, incremental."""
from __future__ import annotations

import datetime
import subprocess
import time

import pytest

from bot.marketo.client import MarketoClient, MarketoConfig
from bot.marketo.fields import DEFAULT_FIELD_MAP
from bot.marketo.sync import LeadSync, SyncError, SyncOptions, describe
from bot.store.database import open_database
from bot.store.visitors import VisitorStore
from tests.support import PYTHON, ROOT
from tests.support.marketo import start_emulator

SINCE = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
LEADS = 240


@pytest.fixture
def seed(tmp_path):
    """240 leads created across ten months of 2026 (several 31-day windows)."""
    path = tmp_path / "seed.csv"
    lines = ["id,email,firstName,company,industry,createdAt,updatedAt"]
    for n in range(1, LEADS + 1):
        created = SINCE + datetime.timedelta(days=(n * 300) // LEADS, hours=n % 24)
        stamp = created.strftime("%Y-%m-%dT%H:%M:%SZ")
        lines.append(f"{n},lead{n}@corp{n % 7}.test,First{n},Corp {n % 7},{'Software' if n % 2 else 'Retail'},{stamp},{stamp}")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def emulator(seed):
    running = start_emulator(seed)
    running.faults(job_seconds=0.2, rate_window=2)  # Marketo's 100 calls, per 2 s instead of 20 s
    yield running
    running.stop()


def _sync(emulator, store, tmp_path, **options) -> LeadSync:
    client = MarketoClient(MarketoConfig(base_url=emulator.base_url, client_id=emulator.client_id,
                                         client_secret=emulator.client_secret, backoff_base=0.01, backoff_cap=0.05,
                                         calls_per_window=90, window_seconds=2.0))
    settings = dict(since=SINCE, download_dir=tmp_path / "downloads", poll_seconds=0.1, batch_size=16)
    settings.update(options)
    return LeadSync(client, store, DEFAULT_FIELD_MAP, SyncOptions(**settings))


def test_a_full_sync_covers_the_database_in_31_day_windows(tmp_path, emulator, database_url) -> None:
    store = VisitorStore(open_database(database_url))
    state = _sync(emulator, store, tmp_path).run()
    assert store.count() == LEADS
    assert state["totals"]["records"] == LEADS and state["totals"]["skipped"] == 0
    assert state["phase"] == "incremental" and state["job"] is None
    stats = emulator.stats()
    assert len(stats["jobs"]) >= 11 and set(stats["jobs"].values()) == {"Completed"}
    assert stats["max_processing_jobs"] <= 2
    lead = store.by_email("lead7@corp0.test")
    assert lead.attributes["person.firstName"] == "First7" and lead.attributes["company.industry"] == "Software"
    assert list((tmp_path / "downloads").iterdir()) == []  # files are removed once loaded


class Crash(Exception):
    pass


def test_killed_mid_file_the_sync_resumes_with_exact_counts(tmp_path, emulator) -> None:
    store = VisitorStore(open_database(f"sqlite:///{tmp_path / 'store.db'}"))
    seen = {"batches": 0}

    def crash_in_the_third_window(state) -> None:
        job = state.get("job") or {}
        if job.get("loaded_records", 0) > 0 and state["totals"]["jobs"] == 2:
            seen["batches"] += 1
            if seen["batches"] == 1:
                raise Crash()

    with pytest.raises(Crash):
        _sync(emulator, store, tmp_path, progress=crash_in_the_third_window).run()
    interrupted = store.load_state("leads")
    assert interrupted["job"]["downloaded"] and interrupted["job"]["loaded_records"] == 16
    assert "loading (records done: 16" in describe(interrupted)
    state = _sync(emulator, store, tmp_path).run()  # a new process, as after a kill
    assert store.count() == LEADS
    assert state["totals"]["records"] == LEADS  # nothing counted twice, nothing lost


def test_a_broken_download_resumes_with_range_and_checks_sha256(tmp_path, emulator) -> None:
    store = VisitorStore(open_database(f"sqlite:///{tmp_path / 'store.db'}"))
    emulator.faults(drop_file_after=[100, 50])
    state = _sync(emulator, store, tmp_path).run()
    assert store.count() == LEADS and state["totals"]["records"] == LEADS
    files = emulator.stats()["requests"]
    downloads = sum(n for key, n in files.items() if key.endswith("/file.json"))
    assert downloads == len(emulator.stats()["jobs"]) + 2


def test_token_expiry_and_a_failed_job_mid_sync(tmp_path, emulator) -> None:
    store = VisitorStore(open_database(f"sqlite:///{tmp_path / 'store.db'}"))
    expired = {"done": False, "download": False}

    def expire_twice(state) -> None:
        job = state.get("job") or {}
        if state["totals"]["jobs"] == 3 and not expired["done"]:
            expired["done"] = True
            emulator.faults(expire_tokens=True, fail_next_jobs=1)
        elif state["totals"]["jobs"] == 5 and job.get("status") == "Completed" and not expired["download"]:
            expired["download"] = True  # expires just before the file download
            emulator.faults(expire_tokens=True)

    state = _sync(emulator, store, tmp_path, progress=expire_twice).run()
    assert store.count() == LEADS and state["totals"]["records"] == LEADS
    stats = emulator.stats()
    assert expired["download"]
    assert stats["token_requests"] == 3 and stats["errors"].get("602") == 2
    assert "Failed" in stats["jobs"].values()


def test_incremental_sync_by_updated_at_or_by_activities_where_it_is_missing(tmp_path, emulator) -> None:
    store = VisitorStore(open_database(f"sqlite:///{tmp_path / 'store.db'}"))
    _sync(emulator, store, tmp_path).run()
    client = MarketoClient(MarketoConfig(base_url=emulator.base_url, client_id=emulator.client_id,
                                         client_secret=emulator.client_secret))
    assert client.create_or_update([{"email": "lead5@corp5.test", "firstName": "Renamed"}])[0].status == "updated"
    time.sleep(2.1)  # windows end a second before now
    state = _sync(emulator, store, tmp_path).run()
    assert store.by_lead_id(5).attributes["person.firstName"] == "Renamed"
    assert store.count() == LEADS and state["totals"]["records"] > LEADS
    emulator.faults(updated_at_filter=False)  # a subscription without the filter: 1035
    client.create_or_update([{"email": "lead6@corp6.test", "firstName": "Changed"},
                             {"email": "brand.new@corp.test", "firstName": "Newcomer"}])
    time.sleep(2.1)
    state = _sync(emulator, store, tmp_path).run()
    assert state["incremental_via"] == "activities" and state.get("activities_token") is None
    assert store.by_lead_id(6).attributes["person.firstName"] == "Changed"
    assert store.by_email("brand.new@corp.test").attributes["person.firstName"] == "Newcomer"
    assert store.count() == LEADS + 1
    assert "incremental (activities)" in describe(state)


def test_sync_cli(tmp_path, emulator) -> None:
    env = {"PYTHONPATH": str(ROOT), "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "PATH": "/usr/bin:/bin",
           "DYNCHAT_VAR": str(tmp_path / "var"), "MARKETO_BASE_URL": emulator.base_url,
           "MARKETO_CLIENT_ID": emulator.client_id, "MARKETO_CLIENT_SECRET": emulator.client_secret,
           "MARKETO_SYNC_POLL_SECONDS": "0.1", "MARKETO_CALLS_PER_20S": "95"}
    result = subprocess.run([PYTHON, "-m", "bot", "sync", "--since", "2026-01-01"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert f"leads loaded: {LEADS}" in result.stdout
    status = subprocess.run([PYTHON, "-m", "bot", "sync", "status"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert "phase: incremental" in status.stdout
    bad = subprocess.run([PYTHON, "-m", "bot", "sync", "--since", "yesterday"], cwd=ROOT, env=env,
                         capture_output=True, text=True)
    assert bad.returncode == 1 and "not a date" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.parametrize("kill_after", [1.0, 2.2])
def test_a_real_kill_at_any_moment_loses_and_duplicates_nothing(tmp_path, emulator, kill_after) -> None:
    import signal

    env = {"PYTHONPATH": str(ROOT), "DATABASE_URL": f"sqlite:///{tmp_path / 'kill.db'}", "PATH": "/usr/bin:/bin",
           "DYNCHAT_VAR": str(tmp_path / "var"), "MARKETO_BASE_URL": emulator.base_url,
           "MARKETO_CLIENT_ID": emulator.client_id, "MARKETO_CLIENT_SECRET": emulator.client_secret,
           "MARKETO_SYNC_POLL_SECONDS": "0.1", "MARKETO_CALLS_PER_20S": "95"}
    command = [PYTHON, "-m", "bot", "sync", "--since", "2026-01-01"]
    victim = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(kill_after)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    finished = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    assert f"leads loaded: {LEADS}," in finished.stdout
    assert VisitorStore(open_database(env["DATABASE_URL"])).count() == LEADS


def test_export_quotas_stop_the_sync_with_a_clear_message_and_it_resumes_later(tmp_path, emulator) -> None:
    store = VisitorStore(open_database(f"sqlite:///{tmp_path / 'quota.db'}"))
    with pytest.raises(SyncError, match="daily bulk export allowance is used up"):
        _sync(emulator, store, tmp_path, daily_export_bytes=2000).run()  # our own count of the 500 MB a day
    emulator.faults(export_daily_bytes=1)  # Marketo's count: 1029 on the next job
    with pytest.raises(SyncError, match="Export daily quota exceeded"):
        _sync(emulator, store, tmp_path).run()
    assert "Export daily quota exceeded" in describe(store.load_state("leads"))
    emulator.faults(export_daily_bytes=500 * 1024 * 1024)  # a new day
    state = _sync(emulator, store, tmp_path).run()
    assert store.count() == LEADS and state["totals"]["records"] == LEADS and state["last_error"] is None
