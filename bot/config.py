"""Configuration, read once from the environment, in one place.

`from_environment` is called once per process, by the composition root
(`bot.app`) or the CLI; nothing else reads environment variables.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import List, Mapping, Optional


@dataclass(frozen=True)
class Settings:
    project: Path          # folder with config.yml, domain.yml, data/
    dialogues: Path        # dialogue sources
    build: Path            # compiled Rasa project (git ignores it)
    models: Path           # trained models
    var: Path              # local state: the SQLite store, sync downloads
    rasa_port: int
    action_port: int
    host: str
    database_url: str      # SQLite file by default; PostgreSQL when DATABASE_URL says so
    field_map: Path        # Marketo field -> person.*/company.* additions (optional file)
    agents: Path           # sales agents and routing rules
    google_key: Optional[Path]   # service-account key (JSON) with domain-wide delegation
    google_url: str              # Google Calendar API base URL
    microsoft: Mapping[str, str]  # MS_* variables: tenant, app credentials, authority and Graph URLs, CA bundle
    public_url: str               # where visitors and calendar apps reach the Rasa server
    feed_secret: Optional[str]    # signs agents' iCalendar feed URLs (feeds are off without it)
    accounts: Path         # account list: company or domain -> agent (optional CSV)
    marketo: Mapping[str, str]  # MARKETO_* variables; empty when Marketo is not configured
    marketo_emulator: bool      # MARKETO=emulator: `dynchat run` starts the emulator and points at it
    marketo_emulator_port: int
    action_threads: int         # threads for the actions' blocking work (database, Marketo, calendars)
    widget: Path                # the widget's appearance (data/widget.yml)
    widget_bundle: Path         # widget.js as `make` builds it from widget/src
    web_port: int               # the console, its API and the demo site (0: not started)
    demo_site: Path             # the demo site's pages (a missing folder: no demo site)
    secure_cookies: bool        # the console's cookie only over HTTPS (on by itself behind TLS)
    internal_token: Optional[str]  # between our processes (publishing a model); dynchat run makes one
    identity_secret: Optional[str]  # sites sign their logged-in visitors' emails with it; dynchat run makes one
    rate_per_visitor: int       # messages a conversation may send a minute (a burst of that many, then refilled)
    rate_per_address: int       # messages and new visits one IP address may send a minute (offices share one)
    retention: Mapping[str, int]  # days anonymous visitors, months records, days sent Marketo messages are kept
    rasa_servers: int           # Rasa servers `dynchat run` starts (more than one: HAProxy in front)
    action_servers: int         # action servers it starts (more than one: HAProxy in front)
    redis_url: Optional[str]    # Rasa's lock store (needed by more than one Rasa server or Sanic worker)
    rabbitmq_url: Optional[str]  # Rasa's Pika event broker: every conversation event to a queue
    events_queue: str           # the queue it publishes to
    events_port: int            # the events consumer's health endpoint (with RABBITMQ_URL)
    action_endpoint: Optional[str]  # DYNCHAT_ACTION_URL: the action servers elsewhere (a service, a load balancer)
    meetings_per_visitor: int   # active meetings a visitor may hold per dialogue (0: no limit); more is a reschedule

    @property
    def manifest(self) -> Path:
        return self.build / "manifest.json"

    @property
    def log(self) -> Path:
        """Where training and the servers write their own output (`dynchat run` prints the path)."""
        return self.var / "log" / "dynchat.log"

    @property
    def avatars(self) -> Path:
        """Avatars uploaded in the console (the Rasa server serves them to the widget)."""
        return self.var / "uploads" / "avatars"

    @property
    def action_url(self) -> str:
        """Where the Rasa servers call the actions: this machine's action port, or DYNCHAT_ACTION_URL (containers)."""
        return self.action_endpoint or f"http://127.0.0.1:{self.action_port}/webhook"

    @property
    def balanced(self) -> bool:
        """Several servers of a kind: HAProxy listens on the public ports and the servers on the ports after."""
        return self.rasa_servers > 1 or self.action_servers > 1

    def rasa_ports(self) -> List[int]:
        """Where the Rasa servers themselves listen (behind HAProxy when there are several)."""
        return [self.rasa_port + n for n in range(1, self.rasa_servers + 1)] if self.balanced else [self.rasa_port]

    def action_ports(self) -> List[int]:
        return [self.action_port + n for n in range(1, self.action_servers + 1)] if self.balanced else [self.action_port]


def _kept_secret(var: Path, name: str) -> Optional[str]:
    """A secret `dynchat run` keeps in var/secrets/ (so `dynchat publish` from a terminal can use it)."""
    kept = var / "secrets" / name
    try:
        return kept.read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def from_environment(env: Mapping[str, str]) -> Settings:
    project = Path(env.get("DYNCHAT_PROJECT", ".")).resolve()

    def path(name: str, default: str) -> Path:
        value = env.get(name)
        return Path(value).resolve() if value else project / default

    return Settings(
        project=project,
        dialogues=path("DYNCHAT_DIALOGUES", "data/dialogues"),
        build=path("DYNCHAT_BUILD", "build"),
        models=path("DYNCHAT_MODELS", "models"),
        var=path("DYNCHAT_VAR", "var"),
        rasa_port=int(env.get("DYNCHAT_RASA_PORT", "5005")),
        action_port=int(env.get("DYNCHAT_ACTION_PORT", "5055")),
        host=env.get("DYNCHAT_HOST", "127.0.0.1"),
        database_url=env.get("DATABASE_URL") or f"sqlite:///{path('DYNCHAT_VAR', 'var') / 'dynchat.db'}",
        field_map=path("DYNCHAT_FIELD_MAP", "data/marketo_fields.yml"),
        agents=path("DYNCHAT_AGENTS", "data/agents.yml"),
        google_key=Path(env["GOOGLE_SERVICE_ACCOUNT_FILE"]).resolve() if env.get("GOOGLE_SERVICE_ACCOUNT_FILE") else None,
        google_url=env.get("GOOGLE_CALENDAR_BASE_URL", "https://www.googleapis.com"),
        microsoft={key: value for key, value in env.items() if key.startswith("MS_") and value},
        public_url=env.get("DYNCHAT_PUBLIC_URL") or f"http://{env.get('DYNCHAT_HOST', '127.0.0.1')}:{env.get('DYNCHAT_RASA_PORT', '5005')}",
        feed_secret=env.get("DYNCHAT_FEED_SECRET") or None,
        accounts=path("DYNCHAT_ACCOUNTS", "data/accounts.csv"),
        marketo={key: value for key, value in env.items() if key.startswith("MARKETO_") and value},
        marketo_emulator=env.get("MARKETO", "").lower() == "emulator",
        marketo_emulator_port=int(env.get("DYNCHAT_MARKETO_EMULATOR_PORT", "8899")),
        action_threads=max(1, int(env.get("DYNCHAT_ACTION_THREADS", "32"))),
        widget=path("DYNCHAT_WIDGET", "data/widget.yml"),
        widget_bundle=path("DYNCHAT_WIDGET_BUNDLE", "widget/dist/widget.js"),
        web_port=int(env.get("DYNCHAT_WEB_PORT", "8080")),
        demo_site=path("DYNCHAT_DEMO_SITE", "demo"),
        secure_cookies=env.get("DYNCHAT_SECURE_COOKIES", "").lower() in ("1", "true", "yes"),
        internal_token=env.get("DYNCHAT_INTERNAL_TOKEN") or _kept_secret(path("DYNCHAT_VAR", "var"), "internal-token"),
        rate_per_visitor=max(1, int(env.get("DYNCHAT_RATE_PER_VISITOR", "30"))),
        rate_per_address=max(1, int(env.get("DYNCHAT_RATE_PER_ADDRESS", "600"))),
        retention={"anonymous_days": max(1, int(env.get("DYNCHAT_RETENTION_ANONYMOUS_DAYS", "90"))),
                   "record_months": max(1, int(env.get("DYNCHAT_RETENTION_RECORD_MONTHS", "24"))),
                   "sent_days": max(1, int(env.get("DYNCHAT_RETENTION_SENT_DAYS", "30")))},
        rasa_servers=max(1, int(env.get("DYNCHAT_RASA_SERVERS", "1"))),
        action_servers=max(1, int(env.get("DYNCHAT_ACTION_SERVERS", "1"))),
        redis_url=env.get("REDIS_URL") or None,
        rabbitmq_url=env.get("RABBITMQ_URL") or None,
        events_queue=env.get("DYNCHAT_EVENTS_QUEUE", "dynchat_events"),
        events_port=int(env.get("DYNCHAT_EVENTS_PORT", "5035")),
        action_endpoint=env.get("DYNCHAT_ACTION_URL") or None,
        meetings_per_visitor=max(0, int(env.get("DYNCHAT_MEETINGS_PER_VISITOR", "1"))),
        identity_secret=env.get("DYNCHAT_IDENTITY_SECRET") or _kept_secret(path("DYNCHAT_VAR", "var"), "identity-secret"),
    )
