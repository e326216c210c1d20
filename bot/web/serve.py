"""Run the action server and the Rasa server (and the console, the emulator) as one supervised command.

Ctrl-C (or SIGTERM) stops them all cleanly. A server that fails to start
stops the others, and the command fails with a message saying which one and
the end of the log. Once running, a server that dies, or stops answering its
health check for 30 s, is restarted with backoff (1 s, 2 s, 4 s ... 30 s;
back to 1 s after a minute of health) while the others go on: visitors of a
Rasa server whose action server is away get "one moment" (`bot.web.resilience`).
The servers' own output (Rasa's, TensorFlow's, sanic's: dozens of lines of
warnings) goes to one log file under `var/log/`, whose path `run` prints;
the terminal shows what a person needs.
"""
from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Callable, Dict, List, Mapping, Optional, Tuple
from urllib.parse import urlsplit

import yaml

from bot.config import Settings
from bot.files import log_tail
from bot.services.accounts import Accounts, new_password
from bot.store.database import Database
from bot.store.users import UserStore
from bot.web.loadbalancer import write_config


@dataclass
class Supervised:
    name: str
    command: List[str]
    health_url: str
    process: Optional[subprocess.Popen] = None
    restarts: int = 0                     # in a row, without a healthy minute between
    restart_at: Optional[float] = None    # when a dead server is started again
    healthy_since: Optional[float] = None
    failed_checks: int = 0

    @property
    def started(self) -> subprocess.Popen:
        if self.process is None:
            raise RuntimeError(f"the {self.name} was not started")
        return self.process


HEALTH_EVERY = 5.0       # seconds between health checks of a running server
HEALTH_TIMEOUT = 10.0    # a server busy with visitors answers slowly; only one that does not answer is hung
UNHEALTHY_AFTER = 6      # failed checks in a row (30 s or more) before a server that answered once is restarted
HEALTHY_RESET = 60.0     # seconds of health after which the backoff starts again from 1 s


def restart_delay(restarts: int) -> float:
    """Seconds before restarting a server that has died `restarts` times in a row: 1, 2, 4 ... 30."""
    return float(min(30, 2 ** max(0, restarts - 1)))


# The Rasa server reads the tracker store's database URL from its environment
# (Rasa expands `${...}` in endpoints.yml), so a password never lands in a file.
TRACKER_STORE_URL = "DYNCHAT_TRACKER_STORE_URL"
FIRST_ADMIN = "admin@localhost"
INTERNAL_TOKEN = "DYNCHAT_INTERNAL_TOKEN"
INTERNAL_TOKEN_ARG = "${DYNCHAT_INTERNAL_TOKEN}"  # replaced by the token when the servers start


def endpoints_for(settings: Settings) -> Path:
    """The project's endpoints.yml with the action server URL of these settings.

    Unless the project's file names a tracker store, conversations are kept
    in our database (Rasa's SQL tracker store, table `events`): a restarted
    or replaced Rasa server carries every conversation on, with the slots
    that say which dialogues a visitor completed.
    """
    source = settings.project / "endpoints.yml"
    endpoints = yaml.safe_load(source.read_text(encoding="utf-8")) if source.exists() else {}
    endpoints = endpoints or {}
    endpoints.setdefault("action_endpoint", {})["url"] = settings.action_url
    endpoints["action_endpoint"]["token"] = "${%s}" % INTERNAL_TOKEN  # the action server answers only this
    endpoints.setdefault("tracker_store", {"type": "bot.web.tracker_store.SQLTrackerStore",
                                          "url": "${%s}" % TRACKER_STORE_URL})
    if settings.redis_url:  # several Rasa servers (or Sanic workers): one visitor's messages one at a time
        redis = urlsplit(settings.redis_url)
        endpoints.setdefault("lock_store", {"type": "bot.web.lock_store.RedisLockStore",
                                            "url": redis.hostname or "127.0.0.1",
                                            "port": redis.port or 6379, "db": int((redis.path or "/0")[1:] or 0),
                                            **({"password": "${DYNCHAT_REDIS_PASSWORD}"} if redis.password else {})})
    if settings.rabbitmq_url:  # every conversation event to RabbitMQ, as Rasa's Pika event broker sends them
        rabbit = urlsplit(settings.rabbitmq_url)
        endpoints.setdefault("event_broker", {"type": "bot.web.broker.SpooledPikaEventBroker",
                                              "url": rabbit.hostname or "127.0.0.1",
                                              "port": rabbit.port or 5672, "username": rabbit.username or "guest",
                                              "password": "${DYNCHAT_RABBITMQ_PASSWORD}",
                                              "queues": [settings.events_queue], "spool": str(settings.var / "events")})
    target = settings.build / "endpoints.yml"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(yaml.safe_dump(endpoints, sort_keys=True), encoding="utf-8")
    return target


def marketo_emulator(settings: Settings) -> Supervised:
    """The Marketo emulator seeded with the demo leads, for `MARKETO=emulator make run`."""
    port = settings.marketo_emulator_port
    return Supervised("Marketo emulator", [
        sys.executable, "-m", "bot.emulators.marketo", "--port", str(port),
        "--seed", str(settings.project / "data" / "marketo" / "demo_leads.csv"),
        "--client-id", "emulator-client", "--client-secret", "emulator-secret",
    ], f"http://127.0.0.1:{port}/_emulator/health")


def emulator_environment(settings: Settings) -> Dict[str, str]:
    return {"MARKETO_BASE_URL": f"http://127.0.0.1:{settings.marketo_emulator_port}",
            "MARKETO_CLIENT_ID": "emulator-client", "MARKETO_CLIENT_SECRET": "emulator-secret"}


def web(settings: Settings) -> Supervised:
    """The console, its API and the demo site (DYNCHAT_WEB_PORT=0 leaves them out)."""
    return Supervised("console", server_command(settings, "console", Path(), settings.web_port, settings.host),
                      f"http://127.0.0.1:{settings.web_port}/_web/health")


def processes(settings: Settings, model: Path) -> List[Supervised]:
    """What `dynchat run` starts: the emulator and the console when asked for, the action servers, the Rasa
    servers, and HAProxy in front when there are several of either (`bot.web.loadbalancer`)."""
    extra = [marketo_emulator(settings)] if settings.marketo_emulator else []
    extra += [web(settings)] if settings.web_port else []
    several = settings.balanced

    def named(kind: str, index: int) -> str:
        return f"{kind} {index}" if several else kind

    interface = "127.0.0.1" if several else settings.host  # behind HAProxy, the servers are this machine's
    servers = [Supervised(named("action server", n), server_command(settings, "actions", model, port, interface),
                          f"http://127.0.0.1:{port}/health") for n, port in enumerate(settings.action_ports(), start=1)]
    servers += [Supervised(named("Rasa server", n), server_command(settings, "rasa", model, port, interface),
                           f"http://127.0.0.1:{port}/") for n, port in enumerate(settings.rasa_ports(), start=1)]
    if settings.rabbitmq_url:  # the dashboards' counts come through Rasa's event broker (bot.web.events)
        servers.append(Supervised("events consumer", server_command(settings, "events", model, settings.events_port,
                                                                     "127.0.0.1"),
                                  f"http://127.0.0.1:{settings.events_port}/health"))
    if several:
        servers.append(Supervised("load balancer", ["haproxy", "-db", "-f", str(write_config(settings))],
                                  f"http://127.0.0.1:{settings.rasa_port}/"))
    return extra + servers


def server_command(settings: Settings, kind: str, model: Path, port: int, interface: str) -> List[str]:
    """The command of one server: `rasa`, `actions`, `events` or `console` (the token as INTERNAL_TOKEN_ARG, put in when
    it starts, so it is never in a list printed or logged)."""
    python = sys.executable
    if kind == "rasa":  # the HTTP API needs the token (`?token=`); the chat channels and the widget do not
        return [python, "-m", "rasa", "run", "--model", str(model), "--enable-api", "--auth-token", INTERNAL_TOKEN_ARG,
                "--cors", "*", "--interface", interface, "--port", str(port),
                "--credentials", str(settings.project / "credentials.yml"), "--endpoints", str(endpoints_for(settings))]
    if kind == "actions":
        return [python, "-m", "bot.web.action_server", "--port", str(port)]
    if kind == "events":
        return [python, "-m", "bot.web.events", "--host", interface, "--port", str(port)]
    return [python, "-m", "bot.web.site"]


def with_token(command: List[str], token: str) -> List[str]:
    return [token if part == INTERNAL_TOKEN_ARG else part for part in command]


def kept_secret(settings: Settings, name: str) -> str:
    """A secret kept in var/secrets/ (0600) across restarts, made on first use: the token our processes share
    (Rasa's HTTP API, the action server, publishing a model) and the sites' identity secret."""
    path = settings.var / "secrets" / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(path.parent, 0o700)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as out:
            out.write(secrets.token_urlsafe(32))
    return path.read_text().strip()


def first_console_user(database: Database) -> Optional[Tuple[str, str]]:
    """With no console user yet, an admin with a new password, to be printed once; else None."""
    store = UserStore(database)
    if store.count():
        return None
    password = new_password()
    Accounts(store).add_user(FIRST_ADMIN, password, "admin", "Administrator")
    return FIRST_ADMIN, password


def _healthy(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status == 200
    except OSError:
        return False


def report(message: str, log: BinaryIO) -> None:
    """What the supervisor did, on the terminal and in the log beside the servers' own output."""
    line = f"dynchat: {message}"
    print(line, file=sys.stderr, flush=True)
    log.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {line}\n".encode("utf-8"))
    log.flush()


def _kill(service: Supervised) -> None:
    if service.process is not None and service.process.poll() is None:
        os.killpg(service.process.pid, signal.SIGKILL)
        service.process.wait()


def supervise(running: List[Supervised], start: Callable[[Supervised], None], stopping: Callable[[], bool],
              say: Callable[[str], None], clock: Callable[[], float] = time.monotonic,
              healthy: Callable[[str], bool] = lambda url: _healthy(url, HEALTH_TIMEOUT), pause: float = 0.5) -> None:
    """Keep every server up until `stopping()`: restart the dead (with backoff) and the hung (after
    UNHEALTHY_AFTER failed checks, once it had answered), one server at a time, the others untouched."""
    checked = clock()
    while not stopping():
        now = clock()
        check = now - checked >= HEALTH_EVERY
        checked = now if check else checked
        for service in running:
            if service.restart_at is not None:
                if now >= service.restart_at:
                    say(f"starting the {service.name} again")
                    start(service)
                    service.restart_at, service.healthy_since, service.failed_checks = None, None, 0
                continue
            code = service.started.poll()
            if code is None and check:
                if healthy(service.health_url):
                    service.failed_checks = 0
                    service.healthy_since = service.healthy_since or now
                    if service.restarts and now - service.healthy_since >= HEALTHY_RESET:
                        service.restarts = 0
                elif service.healthy_since is not None:
                    service.failed_checks += 1
                    if service.failed_checks >= UNHEALTHY_AFTER:
                        say(f"the {service.name} has not answered for {UNHEALTHY_AFTER * HEALTH_EVERY:.0f} s; "
                            "stopping it")
                        _kill(service)
                        code = service.started.returncode
            if code is not None:
                service.restarts += 1
                delay = restart_delay(service.restarts)
                say(f"the {service.name} stopped (code {code}); restarting it in {delay:.0f} s")
                service.restart_at, service.healthy_since = now + delay, None
        time.sleep(pause)


def daily(command: List[str], cwd: Path, env: Dict[str, str], log: BinaryIO, stopping: Callable[[], bool],
          first: float = 60.0, every: float = 86400.0) -> None:
    """Run a job (retention) a minute after start and then once a day, its output in the log."""
    due = time.monotonic() + first
    while not stopping():
        if time.monotonic() >= due:
            subprocess.run(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, check=False)
            due = time.monotonic() + every
        time.sleep(1.0)


def _stop(running: List[Supervised]) -> None:
    for service in running:
        if service.process and service.process.poll() is None:
            os.killpg(service.process.pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    for service in running:
        if service.process:
            try:
                service.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(service.process.pid, signal.SIGKILL)
                service.process.wait()


def server_environment(settings: Settings, env: Mapping[str, str]) -> Dict[str, str]:
    """What every server process gets beside the environment: the build folder, the shared token, the tracker
    store's URL and the services' passwords (endpoints.yml names them; they never land in a file)."""
    extra = {"DYNCHAT_BUILD": str(settings.build), TRACKER_STORE_URL: settings.database_url,
             INTERNAL_TOKEN: env.get(INTERNAL_TOKEN) or kept_secret(settings, "internal-token"),
             "SANIC_HOST": env.get("SANIC_HOST") or settings.host,
             "RASA_TELEMETRY_ENABLED": env.get("RASA_TELEMETRY_ENABLED") or "false",  # no reports leave the machine
             "PYTHONPATH": os.pathsep.join(filter(None, [str(settings.project), env.get("PYTHONPATH")])),
             # the console publishes to every Rasa server: it must count them as the supervisor does
             "DYNCHAT_RASA_SERVERS": str(settings.rasa_servers), "DYNCHAT_ACTION_SERVERS": str(settings.action_servers)}
    if not settings.identity_secret:
        kept_secret(settings, "identity-secret")  # the servers read it from there
    if settings.redis_url:
        extra["DYNCHAT_REDIS_PASSWORD"] = urlsplit(settings.redis_url).password or ""
    if settings.rabbitmq_url:
        extra["DYNCHAT_RABBITMQ_PASSWORD"] = urlsplit(settings.rabbitmq_url).password or "guest"
    return extra


def serve_one(settings: Settings, kind: str, model: Path, port: int) -> None:
    """Become one server (a container's process, or a line of a Procfile): `rasa`, `actions` or `console`,
    with what `dynchat run` would give it; replaces this process."""
    env = dict(os.environ)
    env.update(server_environment(settings, env))
    if kind == "console":
        env["DYNCHAT_WEB_PORT"] = str(port)
    command = with_token(server_command(settings, kind, model, port, settings.host), env[INTERNAL_TOKEN])
    os.chdir(settings.project)
    os.execvpe(command[0], command, env)


def run(settings: Settings, model: Path, startup_timeout: float = 300) -> int:
    """Start both servers, wait until they answer, then supervise until stopped."""
    env: Dict[str, str] = dict(os.environ)
    log = settings.log
    log.parent.mkdir(parents=True, exist_ok=True)

    def failed(message: str) -> int:
        print(f"dynchat: {message}; the end of {log}:\n{log_tail(log)}", file=sys.stderr)
        return 1

    env.update(server_environment(settings, env))
    database = Database(settings.database_url)  # the schema (and the SQLite file's WAL mode) before Rasa opens it
    database.upgrade()
    first_admin = first_console_user(database) if settings.web_port else None
    database.dispose()
    if settings.marketo_emulator:
        env.update(emulator_environment(settings))
    running = processes(settings, model)
    stopping: Dict[str, Optional[int]] = {"signal": None}

    def on_signal(signum: int, _frame: object) -> None:
        stopping["signal"] = signum

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    print(f"dynchat: starting the servers (log: {log})", flush=True)
    output = open(log, "ab")  # the servers write here, and so does the supervisor when it restarts one

    def start(service: Supervised) -> None:
        service.process = subprocess.Popen(with_token(service.command, env[INTERNAL_TOKEN]), cwd=settings.project, env=env,
                                           stdout=output, stderr=subprocess.STDOUT, start_new_session=True)

    try:
        for service in running:
            start(service)
        deadline = time.monotonic() + startup_timeout
        waiting = list(running)
        while waiting and stopping["signal"] is None:
            for service in list(waiting):
                if service.started.poll() is not None:
                    return failed(f"the {service.name} exited during start-up (code {service.started.returncode})")
                if _healthy(service.health_url):
                    waiting.remove(service)
            if time.monotonic() > deadline:
                return failed(f"{', '.join(s.name for s in waiting)} did not start within {startup_timeout:.0f}s")
            time.sleep(0.5)
        if stopping["signal"] is None:
            base = f"http://{settings.host}:{settings.rasa_port}"
            marketo = (f"  Marketo:   emulator at http://127.0.0.1:{settings.marketo_emulator_port}\n"
                       if settings.marketo_emulator else "")
            if settings.web_port:
                web_base = f"http://{settings.host}:{settings.web_port}"
                marketo = (f"  console:   {web_base}/console (API: {web_base}/api/openapi.json)\n"
                           + (f"  demo site: {web_base}/ (the widget on a sample website)\n" if settings.demo_site.is_dir() else "")
                           + f"  widget:    <script src=\"{settings.public_url}/widget.js\" async></script>\n") + marketo
            print(f"\nDynamic Chat is running.\n{marketo}  REST:      POST {base}/webhooks/rest/webhook"
                  f" (sender: the session_id POST {base}/widget/visit gives)\n"
                  f"  socket.io: {base}/socket.io\n  actions:   http://127.0.0.1:{settings.action_port}/webhook\n"
                  + (f"  balanced:  HAProxy spreads :{settings.rasa_port} over {settings.rasa_servers} Rasa servers "
                     f"and :{settings.action_port} over {settings.action_servers} action servers\n"
                     if settings.balanced else "")
                  + f"  identity:  sites sign logged-in visitors' emails with {settings.var / 'secrets' / 'identity-secret'}"
                  f"{' (or DYNCHAT_IDENTITY_SECRET)' if not settings.identity_secret else ''}\n"
                  f"  log:       {log}\n"
                  "Start a visit by sending '/session_start' with metadata {\"url\": ...}. Press Ctrl-C to stop.", flush=True)
            if first_admin:
                print(f"\nThe console's first user (shown this once; change it with `dynchat users password`):\n"
                      f"  email:     {first_admin[0]}\n  password:  {first_admin[1]}", flush=True)
            now = time.monotonic()
            for service in running:
                service.healthy_since = now
            retention = threading.Thread(target=daily, name="retention", daemon=True, args=(
                [sys.executable, "-m", "bot", "retention", "run"], settings.project, env, output,
                lambda: stopping["signal"] is not None))
            retention.start()
            supervise(running, start, lambda: stopping["signal"] is not None, lambda message: report(message, output))
        print("dynchat: stopping", file=sys.stderr)
        return 0
    finally:
        _stop(running)
        output.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
