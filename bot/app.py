"""The composition root: every store, client and service of a process, built once from `Settings`.

The action server, the Rasa-side plug-ins (NLG, the calendar feed) and the
CLI each build one `Services` (`services()` builds the process's from the
environment on first use); tests build their own from their own settings
and hand them to what they test. Nothing below this module reads
configuration or keeps a process-wide instance.
"""
from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import logging
import math
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Dict, Optional, Tuple, TypeVar

from redis.exceptions import RedisError

from bot.calendars.google import GoogleCalendar
from bot.calendars.outlook import OutlookCalendar
from bot.calendars.providers import Calendars
from bot.config import Settings, from_environment
from bot.core import identity
from bot.core.rates import RateLimit, counted_address
from bot.dialogues.catalog import DialogueCatalog
from bot.marketo import leads, writeback
from bot.marketo.client import MarketoClient
from bot.marketo.fields import load_field_map
from bot.routing.agents import RoutingFile
from bot.services.accounts import Accounts
from bot.services.activity import ChatActivity
from bot.services.calendar_admin import CalendarAdmin
from bot.services.conversation import Conversations
from bot.services.dialogue_admin import DialogueAdmin
from bot.services.identify import Identifier
from bot.services.integrations import SyncRunner
from bot.services.meeting_chat import MeetingChat
from bot.services.privacy import Privacy, Retention
from bot.services.publish import Folders, Publisher, every, rasa_loader
from bot.services.widget import AppearanceFile
from bot.store.analytics import Analytics
from bot.store.conversations import ConversationLog
from bot.store.database import Database
from bot.store.meetings import Meetings
from bot.store.outbox import Outbox
from bot.store.privacy import PersonalData
from bot.store.requests import PersonRequests
from bot.store.shared_rates import SharedRateLimit
from bot.store.switches import Switches
from bot.store.users import UserStore
from bot.store.visitors import VisitorStore

T = TypeVar("T")
logger = logging.getLogger(__name__)
BY_VISITOR, BY_ADDRESS = 0, 1  # the order of `Services.rates` and `Services.shared_rates`


class Services:
    """What a process of ours works with; parts that touch files or the network are built on first use."""

    def __init__(self, settings: Settings, database: Optional[Database] = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.database = database or Database(settings.database_url)
        self.clock = clock  # what "now" is for meeting times (tests fix it)
        self._lock = threading.Lock()
        self._executor: Optional[ThreadPoolExecutor] = None
        self._redis_warned = -math.inf

    # --- stores ---------------------------------------------------------------
    @functools.cached_property
    def visitors(self) -> VisitorStore:
        return VisitorStore(self.database)

    @functools.cached_property
    def meetings(self) -> Meetings:
        return Meetings(self.database)

    @functools.cached_property
    def outbox(self) -> Outbox:
        return Outbox(self.database)

    @functools.cached_property
    def analytics(self) -> Analytics:
        return Analytics(self.database)

    @functools.cached_property
    def person_requests(self) -> PersonRequests:
        return PersonRequests(self.database)

    @functools.cached_property
    def switches(self) -> Switches:
        return Switches(self.database)

    @functools.cached_property
    def users(self) -> UserStore:
        return UserStore(self.database)

    @functools.cached_property
    def accounts(self) -> Accounts:
        return Accounts(self.users, self.clock)

    @functools.cached_property
    def conversation_log(self) -> ConversationLog:
        return ConversationLog(self.database)

    @functools.cached_property
    def calendar_admin(self) -> CalendarAdmin:
        return CalendarAdmin(self.routing, self.calendars, self.settings.public_url, self.settings.feed_secret)

    @functools.cached_property
    def sync_runner(self) -> SyncRunner:
        """Syncs started from the console (`dynchat sync` runs its own)."""
        return SyncRunner(self.marketo, self.visitors, self.field_map, self.settings.marketo, self.settings.var / "sync")

    @functools.cached_property
    def publisher(self) -> Publisher:
        """Publishes to the Rasa server of these settings (its HTTP API on DYNCHAT_RASA_PORT)."""
        settings = self.settings
        folders = Folders(settings.project, settings.dialogues, settings.build, settings.models, settings.var, settings.log)
        return Publisher(folders, every([rasa_loader(f"http://127.0.0.1:{port}", settings.internal_token)
                                         for port in settings.rasa_ports()]))

    @functools.cached_property
    def dialogue_admin(self) -> DialogueAdmin:
        return DialogueAdmin(self.settings.dialogues, self.settings.project, self.catalog, self.switches)

    @functools.cached_property
    def privacy(self) -> Privacy:
        """Retention and `forget` (bot.services.privacy)."""
        return Privacy(PersonalData(self.database), self.meetings, self.routing, self.calendars,
                       Retention(**self.settings.retention), self.clock)

    @functools.cached_property
    def conversation_key(self) -> bytes:
        """Signs the conversation ids the channels issue (see `bot.core.identity`)."""
        if not self.settings.internal_token:
            raise RuntimeError("DYNCHAT_INTERNAL_TOKEN is not set: `dynchat run` makes one in var/secrets/")
        return identity.conversation_key(self.settings.internal_token)

    @functools.cached_property
    def rates(self) -> Tuple[RateLimit, RateLimit]:
        """This process's buckets: per conversation, per IP address (see `bot.core.rates`)."""
        return RateLimit(self.settings.rate_per_visitor), RateLimit(self.settings.rate_per_address)

    @functools.cached_property
    def shared_rates(self) -> Optional[Tuple[SharedRateLimit, SharedRateLimit]]:
        """With REDIS_URL, the buckets every Rasa server shares (per conversation, per IP address)."""
        if not self.settings.redis_url:
            return None
        from redis.asyncio import Redis

        client = Redis.from_url(self.settings.redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
        return (SharedRateLimit(client, "visitor", self.settings.rate_per_visitor),
                SharedRateLimit(client, "address", self.settings.rate_per_address))

    async def too_fast(self, conversation: Optional[str], address: Optional[str]) -> Optional[float]:
        """None when this message may go on, else the seconds until the sender may send again: counted in Redis
        across the Rasa servers when there is one (this server's own counts while it does not answer)."""
        keyed = [(kind, key) for kind, key in ((BY_ADDRESS, counted_address(address)), (BY_VISITOR, conversation)) if key]
        if self.shared_rates is not None:
            try:
                waits = [await self.shared_rates[kind].allow(key) for kind, key in keyed]
                return max((wait for wait in waits if wait is not None), default=None)
            except (RedisError, OSError) as error:
                if time.monotonic() - self._redis_warned > 60:
                    self._redis_warned = time.monotonic()
                    logger.warning("rate limits: Redis did not answer (%s); this server counts alone meanwhile",
                                   type(error).__name__)
        now = time.monotonic()
        waits = [self.rates[kind].allow(key, now) for kind, key in keyed]
        return max((wait for wait in waits if wait is not None), default=None)

    # --- configuration files ----------------------------------------------------
    @functools.cached_property
    def catalog(self) -> DialogueCatalog:
        return DialogueCatalog(self.settings.manifest)

    @functools.cached_property
    def routing(self) -> RoutingFile:
        return RoutingFile(self.settings.agents, self.settings.accounts)

    @functools.cached_property
    def appearance(self) -> AppearanceFile:
        return AppearanceFile(self.settings.widget)

    @functools.cached_property
    def field_map(self) -> Dict[str, str]:
        return load_field_map(self.settings.field_map)

    # --- integrations -------------------------------------------------------------
    @functools.cached_property
    def marketo(self) -> Optional[MarketoClient]:
        """The Marketo client, or None when MARKETO_BASE_URL, _CLIENT_ID and _CLIENT_SECRET are not all set."""
        config = leads.config_from(self.settings.marketo)
        return MarketoClient(config) if config else None

    @functools.cached_property
    def marketo_lookup(self) -> Optional[MarketoClient]:
        """The client a visitor's turn asks Marketo with: the same limits, but a budget a person can wait
        for (4 s a try, one retry); a Marketo that does not answer in time leaves the visitor anonymous,
        while the outbox's writes keep retrying for as long as it takes."""
        if self.marketo is None:
            return None
        quick = dataclasses.replace(self.marketo.config, timeout=4.0, max_attempts=2, backoff_cap=1.0)
        return MarketoClient(quick, limits=self.marketo.limits)

    @functools.cached_property
    def calendars(self) -> Calendars:
        """Google: GOOGLE_SERVICE_ACCOUNT_FILE (and GOOGLE_CALENDAR_BASE_URL).
        Outlook: MS_TENANT_ID, MS_CLIENT_ID, MS_CLIENT_SECRET (and MS_AUTHORITY_HOST, MS_GRAPH_URL, MS_CA_BUNDLE)."""
        google = outlook = None
        if self.settings.google_key:
            info = json.loads(self.settings.google_key.read_text(encoding="utf-8"))
            google = GoogleCalendar(info, base_url=self.settings.google_url)
        ms = self.settings.microsoft
        if all(ms.get(key) for key in ("MS_TENANT_ID", "MS_CLIENT_ID", "MS_CLIENT_SECRET")):
            outlook = OutlookCalendar(ms["MS_TENANT_ID"], ms["MS_CLIENT_ID"], ms["MS_CLIENT_SECRET"],
                                      authority_host=ms.get("MS_AUTHORITY_HOST", "https://login.microsoftonline.com"),
                                      graph_url=ms.get("MS_GRAPH_URL", "https://graph.microsoft.com"),
                                      verify=ms.get("MS_CA_BUNDLE", True))
        return Calendars(google, outlook)

    @functools.cached_property
    def writeback(self) -> writeback.WriteBack:
        return writeback.WriteBack(self.outbox, self.marketo, writeback.activity_type_ids(self.settings.marketo))

    # --- services -------------------------------------------------------------------
    @functools.cached_property
    def identifier(self) -> Identifier:
        return Identifier(self.visitors, self.marketo_lookup, self.field_map)

    @functools.cached_property
    def activity(self) -> ChatActivity:
        return ChatActivity(self.database, self.writeback, self.person_requests, self.clock,
                            deferred=self.settings.rabbitmq_url is not None)

    @functools.cached_property
    def conversations(self) -> Conversations:
        return Conversations(self.identifier, self.writeback, self.activity, self.switches, self.routing, self.field_map)

    @functools.cached_property
    def meeting_chat(self) -> MeetingChat:
        return MeetingChat(self.meetings, self.routing, self.calendars, self.switches, self.settings.public_url, self.clock,
                           per_visitor=self.settings.meetings_per_visitor)

    # --- blocking work from async code -----------------------------------------------
    async def run_blocking(self, function: Callable[..., T], *args: Any) -> T:
        """Run `function` on the services' thread pool (DYNCHAT_ACTION_THREADS threads), not the event loop."""
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self.settings.action_threads, thread_name_prefix="dynchat")
        return await asyncio.get_running_loop().run_in_executor(self._executor, functools.partial(function, *args))

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False)
        self.database.dispose()


_process: Optional[Services] = None
_process_lock = threading.Lock()


def services() -> Services:
    """The process's services, built from the environment on first use (action server, Rasa plug-ins)."""
    global _process
    with _process_lock:
        if _process is None:
            _process = Services(from_environment(os.environ))
        return _process
