"""The `dynchat` command: validate, compile, train, run and draw dialogues; visitors, meetings, the database.

Each command imports what it uses inside itself, on purpose: `dynchat
validate` must not load SQLAlchemy, Rasa, TensorFlow or the calendar
clients. Settings are read once, in `main`; commands that need stores or
clients get them from one `Services` built on first use.
"""
from __future__ import annotations

import argparse
import functools
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Callable, List, Optional, Sequence, Tuple

from bot.config import Settings, from_environment
from bot.core.meetings import MeetingStatus
from bot.files import log_tail

if TYPE_CHECKING:
    from bot.app import Services
    from bot.core.agents import Routing


class Context:
    """What a command works with: the settings, and the services built from them when first asked for."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @functools.cached_property
    def services(self) -> "Services":
        from bot.app import Services  # deferred: loads SQLAlchemy, Alembic and the calendar clients

        services = Services(self.settings)
        services.database.upgrade()  # every command that touches the store finds its schema current
        return services

DEFAULT_HELP = "a dialogue file or a folder of them (default: data/dialogues)"
NO_MARKETO = "dynchat: Marketo is not configured (set MARKETO_BASE_URL, MARKETO_CLIENT_ID, MARKETO_CLIENT_SECRET)"


def _paths(settings: Settings, given: Sequence[str]) -> List[str]:
    return list(given) or [str(settings.dialogues)]


def _report(problems) -> int:
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} found", file=sys.stderr)
    return 1


def cmd_validate(args: argparse.Namespace, ctx: Context) -> int:
    from bot.dialogues.loader import load_dialogues

    dialogues, problems = load_dialogues(_paths(ctx.settings, args.paths))
    if problems:
        return _report(problems)
    print(f"{len(dialogues)} dialogue{'s' if len(dialogues) != 1 else ''} valid: {', '.join(d.id for d in dialogues)}")
    return 0


def _compile(settings: Settings, paths: Sequence[str], out: Path) -> int:
    from bot.dialogues.build import compile_project

    compiled, problems = compile_project(settings.project, _paths(settings, paths))
    if problems or compiled is None:
        return _report(problems)
    changed = compiled.write(out)
    print(f"compiled into {out} ({len(changed)} file{'s' if len(changed) != 1 else ''} changed)")
    return 0


def cmd_compile(args: argparse.Namespace, ctx: Context) -> int:
    return _compile(ctx.settings, args.paths, Path(args.out) if args.out else ctx.settings.build)


def _train(settings: Settings, paths: Sequence[str], models: Path) -> int:
    from bot.dialogues import train

    config = settings.project / "config.yml"
    status = _compile(settings, paths, settings.build)
    if status:
        return status
    if train.is_current(settings.build, config, models):
        print(f"model {train.model_path(models)} is up to date")
        return 0
    import time

    log = settings.log
    print(f"training the model (Rasa's output: {log})", flush=True)
    started = time.monotonic()
    bar = _progress_bar("training")
    status = train.train(settings.build, config, models, log=log,
                         progress=lambda share, what: bar(int(share * 1000), 1000, what))
    if sys.stderr.isatty():
        sys.stderr.write("\n")
    if status:
        print(f"dynchat: training failed (exit {status}); the end of {log}:\n{log_tail(log)}", file=sys.stderr)
        return status
    print(f"trained {train.model_path(models)} in {time.monotonic() - started:.0f} s")
    return 0


def cmd_train(args: argparse.Namespace, ctx: Context) -> int:
    return _train(ctx.settings, args.paths, Path(args.out) if args.out else ctx.settings.models)


def cmd_run(args: argparse.Namespace, ctx: Context) -> int:
    import dataclasses

    from bot.dialogues import train
    from bot.web import serve

    if args.rasa_servers or args.action_servers:
        ctx.settings = dataclasses.replace(ctx.settings, rasa_servers=max(1, args.rasa_servers or ctx.settings.rasa_servers),
                                           action_servers=max(1, args.action_servers or ctx.settings.action_servers))
    if ctx.settings.rasa_servers > 1 and not ctx.settings.redis_url:
        print("dynchat: several Rasa servers need Rasa's lock store: set REDIS_URL (redis://host:6379/0)",
              file=sys.stderr)
        return 1

    if args.model:
        model = Path(args.model)
        if not model.is_file():
            print(f"dynchat: no model at {model}", file=sys.stderr)
            return 1
        if not ctx.settings.manifest.exists():
            status = _compile(ctx.settings, [args.dialogues] if args.dialogues else [], ctx.settings.build)
            if status:
                return status
    else:
        status = _train(ctx.settings, [args.dialogues] if args.dialogues else [], ctx.settings.models)
        if status:
            return status
        model = train.model_path(ctx.settings.models)
    return serve.run(ctx.settings, model)


def cmd_serve(args: argparse.Namespace, ctx: Context) -> int:
    """One server in the foreground (a container's command): what `dynchat run` starts, one at a time."""
    from bot.dialogues import train
    from bot.store.database import Database
    from bot.web import serve

    model = Path(args.model) if args.model else train.model_path(ctx.settings.models)
    if args.kind == "rasa" and not model.is_file():
        print(f"dynchat: no model at {model} (dynchat train makes one)", file=sys.stderr)
        return 1
    if args.kind != "rasa":
        Database(ctx.settings.database_url).upgrade()  # the schema first (every replica may; it is idempotent)
    if args.kind == "events" and not ctx.settings.rabbitmq_url:
        print("dynchat: the events consumer counts what Rasa publishes to RabbitMQ: set RABBITMQ_URL", file=sys.stderr)
        return 1
    default = {"rasa": ctx.settings.rasa_port, "actions": ctx.settings.action_port, "console": ctx.settings.web_port,
               "events": ctx.settings.events_port}
    serve.serve_one(ctx.settings, args.kind, model, args.port or default[args.kind])
    return 0  # not reached: the server replaced this process


def cmd_publish(args: argparse.Namespace, ctx: Context) -> int:
    """Publish to the running bot: compile, train beside it, load the model while visitors chat."""
    import time

    publisher = ctx.services.publisher
    job = publisher.start("dynchat publish")
    assert job is not None  # a new process runs no other publish
    bar = _progress_bar("publishing")
    while job.running:
        bar(int(job.share * 1000), 1000, job.what)
        time.sleep(0.3)
    if sys.stderr.isatty():
        sys.stderr.write("\n")
    if job.state == "failed":
        print(f"dynchat: {job.error}", file=sys.stderr)
        for problem in job.problems:
            print(problem, file=sys.stderr)
        return 1
    print(f"{job.what} ({', '.join(f'{k} {v:.1f} s' for k, v in job.seconds.items())})")
    return 0


def cmd_graph(args: argparse.Namespace, ctx: Context) -> int:
    from bot.dialogues import graph
    from bot.dialogues.loader import load_dialogues

    dialogues, problems = load_dialogues([args.file])
    if problems:
        return _report(problems)
    text = graph.mermaid(dialogues[0]) if args.format == "mermaid" else graph.svg(dialogues[0])
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def _progress_bar(label: str) -> Callable[..., None]:
    """A one-line terminal progress bar on stderr (silent when not a terminal)."""
    import time

    started = time.monotonic()

    def show(done: int, total: int, what: str = "") -> None:
        if not sys.stderr.isatty() or not total:
            return
        share = min(1.0, done / total)
        bar = "#" * int(share * 30)
        sys.stderr.write(f"\r{label} [{bar:<30}] {share:6.1%} {time.monotonic() - started:6.1f}s {what[:30]:<30}")
        sys.stderr.flush()

    return show


def cmd_import(args: argparse.Namespace, ctx: Context) -> int:
    from bot.marketo.bulk_csv import import_csv
    from bot.marketo.fields import FieldMapError, load_field_map

    try:
        mapping = load_field_map(ctx.settings.field_map)
        report = import_csv(args.file, ctx.services.visitors, mapping,
                            progress=_progress_bar("importing"))
    except (FieldMapError, ValueError) as exc:
        print(f"dynchat: {args.file}: {exc}", file=sys.stderr)
        return 1
    if sys.stderr.isatty():
        sys.stderr.write("\n")
    for header_problem in report.header_problems:
        print(f"{args.file}: {header_problem}", file=sys.stderr)
    for problem in report.problems[: args.show_problems]:
        print(f"{args.file}: {problem}", file=sys.stderr)
    if len(report.problems) > args.show_problems:
        print(f"... and {len(report.problems) - args.show_problems} more rows with problems", file=sys.stderr)
    rate = report.loaded / report.seconds if report.seconds else 0
    print(f"imported {report.loaded} of {report.records} rows in {report.seconds:.1f}s ({rate:,.0f} leads/s); "
          f"{len(report.problems)} skipped")
    return 0


def cmd_visitors_lookup(args: argparse.Namespace, ctx: Context) -> int:
    import json

    store = ctx.services.visitors
    visitor = store.by_email(args.email) if args.email else store.by_cookie(args.cookie)
    if visitor is None:
        print("no such visitor", file=sys.stderr)
        return 1
    print(json.dumps({"lead_id": visitor.lead_id, "email": visitor.email, "updated_at": visitor.updated_at,
                      "attributes": dict(visitor.attributes)}, indent=2, ensure_ascii=False, sort_keys=True))
    return 0


def cmd_outbox_status(args: argparse.Namespace, ctx: Context) -> int:
    status = ctx.services.outbox.status()
    oldest = f"{status.oldest_pending_seconds:.0f}s" if status.oldest_pending_seconds is not None else "-"
    print(f"pending {status.pending} (due now {status.due}), sent {status.sent}, refused by Marketo {status.failed}, "
          f"oldest pending {oldest}, last error {status.last_error or '-'}")
    return 0


def cmd_outbox_flush(args: argparse.Namespace, ctx: Context) -> int:
    from bot.marketo import writeback

    client = ctx.services.marketo
    if client is None:
        print(NO_MARKETO, file=sys.stderr)
        return 1
    total = writeback.FlushReport()
    while True:
        report = writeback.flush(ctx.services.outbox, client, writeback.activity_type_ids(ctx.settings.marketo))
        total.sent, total.retried, total.refused = (total.sent + report.sent, total.retried + report.retried,
                                                    total.refused + report.refused)
        if report.sent + report.retried + report.refused == 0 or report.retried:
            break
    print(f"sent {total.sent}, to retry later {total.retried}, refused by Marketo {total.refused}")
    return 0 if not total.retried else 2


def _date_range(args: argparse.Namespace) -> Tuple[str, str]:
    """--from/--to as ISO dates (default: the last 30 days, UTC); SystemExit with a message when not dates."""
    import datetime

    today = datetime.datetime.now(datetime.timezone.utc).date()
    try:
        end = datetime.date.fromisoformat(args.to) if args.to else today
        start = datetime.date.fromisoformat(args.since) if args.since else end - datetime.timedelta(days=29)
    except ValueError:
        raise SystemExit("dynchat: --from and --to are dates like 2026-11-30") from None
    if start > end:
        raise SystemExit("dynchat: --from is after --to")
    return start.isoformat(), end.isoformat()


def cmd_analytics(args: argparse.Namespace, ctx: Context) -> int:
    import csv

    from bot.core.analytics import KINDS, LABELS, csv_rows

    start, end = _date_range(args)
    result = ctx.services.analytics.report(start, end, args.dialogue)
    if args.csv:
        csv.writer(sys.stdout).writerows(csv_rows(result))
        return 0

    def percent(rate: Optional[float]) -> str:
        return "-" if rate is None else f"{rate:.1%}"

    print(f"{start} to {end} (UTC){' for ' + args.dialogue if args.dialogue else ''}")
    width = max(len(label) for label in LABELS.values())
    for kind in KINDS:
        print(f"  {LABELS[kind]:<{width}}  {result.total.counts[kind]}")
    print(f"  {'Engagement rate':<{width}}  {percent(result.total.engagement_rate)}")
    print(f"  {'Conversion rate':<{width}}  {percent(result.total.conversion_rate)}")
    for name, counts in sorted(result.dialogues.items()):
        print(f"  {name or '(no dialogue)'}: " + ", ".join(f"{kind} {counts.counts[kind]}" for kind in KINDS))
    return 0


def _new_password(args: argparse.Namespace) -> str:
    import getpass

    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("password (at least 10 characters): ")
    if getpass.getpass("again: ") != first:
        raise SystemExit("dynchat: the two passwords differ")
    return first


def cmd_users(args: argparse.Namespace, ctx: Context) -> int:
    from bot.services.accounts import AccountError

    accounts = ctx.services.accounts
    if args.what == "list":
        for user in ctx.services.users.list():
            print(f"{user.email:<32} {user.role:<9} {'active' if user.active else 'disabled'}  {user.name}")
        return 0
    try:
        if args.what == "add":
            user = accounts.add_user(args.email, _new_password(args), args.role, args.name or "")
            print(f"added {user.email} ({user.role})")
        else:
            accounts.set_password(args.email, _new_password(args))
            print(f"changed the password of {args.email.lower()}; their sessions are logged out")
    except AccountError as exc:
        print(f"dynchat: {exc}", file=sys.stderr)
        return 1
    return 0


def cmd_forget(args: argparse.Namespace, ctx: Context) -> int:
    """Delete a person everywhere we keep them, and say what was deleted."""
    if not args.yes and sys.stdin.isatty():
        answer = input(f"Delete {args.email} everywhere (conversations, meetings, requests, Marketo messages)? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("nothing deleted")
            return 1
    deleted = ctx.services.privacy.forget(args.email)
    if deleted is None:
        print(f"dynchat: '{args.email}' is not an email address", file=sys.stderr)
        return 1
    print(f"forgot {args.email.strip().lower()}:")
    for line in deleted.lines():
        print(f"  {line}")
    print("Marketo keeps its own lead: delete it there too if the request covers it.")
    return 0


def cmd_retention(args: argparse.Namespace, ctx: Context) -> int:
    """Delete what is past its retention (dynchat run does this once a day)."""
    retention = ctx.settings.retention
    print(f"retention: anonymous visitors without engagement after {retention['anonymous_days']} days, records after "
          f"{retention['record_months']} months, messages sent to Marketo after {retention['sent_days']} days")
    for line in ctx.services.privacy.expire().lines():
        print(f"  {line}")
    return 0


def cmd_identity(args: argparse.Namespace, ctx: Context) -> int:
    """The signature a site sends beside its logged-in visitor's email (what its server computes)."""
    from bot.core.identity import signature
    from bot.web.serve import kept_secret

    secret = ctx.settings.identity_secret or kept_secret(ctx.settings, "identity-secret")
    print(signature(secret, args.email))
    return 0


def cmd_sync(args: argparse.Namespace, ctx: Context) -> int:
    import datetime

    from bot.marketo.sync import STATE_KEY, LeadSync, SyncError, describe, sync_options_from

    store = ctx.services.visitors
    if args.what == "status":
        print(describe(store.load_state(STATE_KEY)))
        return 0
    client = ctx.services.marketo
    if client is None:
        print(NO_MARKETO, file=sys.stderr)
        return 1
    try:
        options = sync_options_from(ctx.settings.marketo, ctx.settings.var / "sync", args.since)
        bar = _progress_bar("syncing")
        start = options.since

        def progress(state) -> None:
            cursor = datetime.datetime.strptime(state["cursor"], "%Y-%m-%dT%H:%M:%SZ").replace(
                tzinfo=datetime.timezone.utc)
            span = max(1.0, (options.now() - start).total_seconds())
            done = (cursor - start).total_seconds() if state["phase"] == "full" else span
            bar(int(done), int(span))

        options.progress = progress
        state = LeadSync(client, store, ctx.services.field_map, options).run()
    except SyncError as exc:
        print(f"\ndynchat: sync stopped: {exc}", file=sys.stderr)
        return 1
    if sys.stderr.isatty():
        sys.stderr.write("\n")
    print(describe(state))
    return 0


def _routing(settings: Settings) -> "Routing":
    """Agents, rules and accounts as the chat uses them; positioned errors when the file is wrong."""
    from bot.core.agents import Routing
    from bot.routing.agents import load_accounts, load_routing

    agents, rules, problems = load_routing(settings.agents)
    if problems:
        raise _Problems(problems)
    return Routing(tuple(agents), tuple(rules), load_accounts(settings.accounts))


class _Problems(Exception):
    def __init__(self, problems) -> None:
        super().__init__("invalid configuration")
        self.problems = problems


def cmd_agents_list(args: argparse.Namespace, ctx: Context) -> int:
    from bot.core.agents import WEEKDAYS

    for agent in _routing(ctx.settings).agents:
        hours = sum(end - start for _, blocks in agent.availability for start, end in blocks) / 60
        days = ",".join(WEEKDAYS[day] for day, blocks in agent.availability if blocks)
        print(f"{agent.email:<28} {agent.name:<20} {agent.timezone:<20} {agent.calendar:<8} {hours:4.0f} h/week "
              f"({days}) teams: {','.join(agent.teams) or '-'}{'' if agent.active else ' [inactive]'}")
    return 0


def _parse_start(text: str) -> int:
    import datetime

    try:
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise _Problems([f"'{text}' is not an ISO 8601 time such as 2026-12-01T10:00:00+01:00"]) from None
    if moment.tzinfo is None:
        raise _Problems([f"'{text}' has no time zone; add Z or an offset such as +01:00"])
    return int(moment.timestamp())


def cmd_meetings_book(args: argparse.Namespace, ctx: Context) -> int:
    from bot.core.meetings import BookingRequest
    from bot.dialogues.conditions import parse_duration
    from bot.services import meetings as service

    routing_config = _routing(ctx.settings)
    duration = parse_duration(args.duration)
    if duration is None:
        raise _Problems([f"malformed duration '{args.duration}' (use e.g. 30m)"])
    routing = {"agent": args.agent} if args.agent else {"team": args.team} if args.team else (
        "rules" if args.rules else "round_robin")
    facts = {"person.email": args.email}
    result, _ = service.book(ctx.services.meetings, routing_config,
                             ctx.services.calendars, BookingRequest(_parse_start(args.start), duration // 60,
                                                                    args.email.strip().lower(), facts, routing))
    for email, why in result.choice.skipped:
        print(f"skipped {email}: {why}", file=sys.stderr)
    if result.meeting is None:
        print(f"dynchat: no agent is free then: {result.choice.reason}", file=sys.stderr)
        return 1
    print(f"{result.meeting.agent_email} {result.meeting.id}")
    print(f"why: {result.choice.reason}", file=sys.stderr)
    return 0


def cmd_meetings_cancel(args: argparse.Namespace, ctx: Context) -> int:
    from bot.services import meetings as service

    meeting = service.cancel(ctx.services.meetings, _routing(ctx.settings), ctx.services.calendars, args.id,
                             "cancelled from the command line")
    if meeting is None:
        print(f"dynchat: no meeting {args.id}", file=sys.stderr)
        return 1
    print(f"{meeting.id} {meeting.status}")
    return 0 if meeting.status == MeetingStatus.CANCELLED else 1


def cmd_meetings_reassign(args: argparse.Namespace, ctx: Context) -> int:
    from bot.services import meetings as service

    meeting, choice = service.reassign(ctx.services.meetings, _routing(ctx.settings), ctx.services.calendars,
                                       args.id, args.agent)
    if meeting is None:
        print(f"dynchat: not reassigned: {choice.reason}", file=sys.stderr)
        return 1
    print(f"{meeting.agent_email} {meeting.id}")
    print(f"why: {choice.reason}", file=sys.stderr)
    return 0


def cmd_meetings_list(args: argparse.Namespace, ctx: Context) -> int:
    import datetime

    for meeting in ctx.services.meetings.list(args.status, args.agent):
        start = datetime.datetime.fromtimestamp(meeting.start_at, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")
        print(f"{meeting.id}  {start} UTC  {(meeting.end_at - meeting.start_at) // 60}m  {meeting.status:<11} "
              f"{meeting.agent_email:<28} {meeting.lead_email or '-'}  ({meeting.reason})")
    return 0


def cmd_routing_show(args: argparse.Namespace, ctx: Context) -> int:
    from bot.services.meetings import routing_view

    view = routing_view(_routing(ctx.settings), ctx.services.meetings)
    for pool in view["pools"]:
        credits = ", ".join(f"{email} x{n}" for email, n in pool["credits"].items()) or "-"
        print(f"{pool['label']}: order {' -> '.join(pool['order'])}; last {pool['last'] or '-'}; "
              f"next {pool['next']} (if free); credits {credits}")
    for agent in view["agents"]:
        print(f"  {agent['email']:<28} meetings so far: {agent['meetings']}")
    print(f"rules: {view['rules']}")
    return 0


def cmd_calendar_feed(args: argparse.Namespace, ctx: Context) -> int:
    import time

    from bot.calendars import local

    agent = next((a for a in _routing(ctx.settings).agents if a.email == args.agent.lower()), None)
    if agent is None:
        print(f"dynchat: no agent {args.agent}", file=sys.stderr)
        return 1
    if args.url:
        url = local.feed_url(ctx.settings.public_url, ctx.settings.feed_secret, agent.email)
        if url is None:
            print("dynchat: set DYNCHAT_FEED_SECRET to publish agents' feeds", file=sys.stderr)
            return 1
        print(url)
        return 0
    sys.stdout.write(local.feed(agent, ctx.services.meetings.list(agent=agent.email), time.time()))
    return 0


def cmd_db(args: argparse.Namespace, ctx: Context) -> int:
    from bot.store import migrations
    from bot.store.database import Database

    database = Database(ctx.settings.database_url)
    try:
        if args.what == "upgrade":
            before = database.revision()
            after = database.upgrade()
            print(f"database at revision {after}" + (f" (was {before or 'unversioned'})" if before != after else
                                                    " (already current)"))
        else:
            current, head = database.revision(), migrations.head()
            print(f"database at revision {current or 'none'}; latest {head}"
                  + ("" if current == head else " (run 'dynchat db upgrade')"))
            return 0 if current == head else 1
    finally:
        database.dispose()
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="dynchat", description="Dynamic Chat for Rasa")
    commands = root.add_subparsers(dest="command", required=True)
    validate = commands.add_parser("validate", help="check dialogue files; path:line:col errors, exit 1 on any")
    validate.add_argument("paths", nargs="*", help=DEFAULT_HELP)
    validate.set_defaults(run=cmd_validate)
    compile_ = commands.add_parser("compile", help="compile dialogues into a Rasa data folder and domain")
    compile_.add_argument("paths", nargs="*", help=DEFAULT_HELP)
    compile_.add_argument("--out", help="output folder (default: build)")
    compile_.set_defaults(run=cmd_compile)
    train_ = commands.add_parser("train", help="compile and train the Rasa model (skipped when nothing changed)")
    train_.add_argument("paths", nargs="*", help=DEFAULT_HELP)
    train_.add_argument("--out", help="models folder (default: models)")
    train_.set_defaults(run=cmd_train)
    run = commands.add_parser("run", help="start the action server and the Rasa server (REST and socket.io)")
    run.add_argument("--dialogues", help=DEFAULT_HELP)
    run.add_argument("--model", help="a trained model to serve (default: train from the dialogues)")
    run.add_argument("--rasa-servers", type=int, help="Rasa servers behind HAProxy (DYNCHAT_RASA_SERVERS; needs REDIS_URL)")
    run.add_argument("--action-servers", type=int, help="action servers behind HAProxy (DYNCHAT_ACTION_SERVERS)")
    run.set_defaults(run=cmd_run)
    publish = commands.add_parser("publish", help="put the dialogues live in the running bot without a restart")
    publish.set_defaults(run=cmd_publish)
    graph = commands.add_parser("graph", help="draw a dialogue's flow")
    graph.add_argument("file", help="a dialogue file")
    graph.add_argument("--format", choices=("mermaid", "svg"), default="mermaid")
    graph.add_argument("--output", "-o", help="write to this file instead of standard output")
    graph.set_defaults(run=cmd_graph)
    import_ = commands.add_parser("import", help="load a Marketo bulk-extract CSV into the visitor store")
    import_.add_argument("file", help="the CSV file (header: id, then Marketo field names)")
    import_.add_argument("--show-problems", type=int, default=50, help="how many bad rows to list (default 50)")
    import_.set_defaults(run=cmd_import)
    visitors = commands.add_parser("visitors", help="the local visitor store").add_subparsers(dest="what", required=True)
    lookup = visitors.add_parser("lookup", help="find a visitor by email or Munchkin cookie")
    by = lookup.add_mutually_exclusive_group(required=True)
    by.add_argument("--email")
    by.add_argument("--cookie")
    lookup.set_defaults(run=cmd_visitors_lookup)
    outbox = commands.add_parser("outbox", help="what waits to be written to Marketo").add_subparsers(
        dest="what", required=True)
    outbox.add_parser("status", help="pending, sent and refused messages").set_defaults(run=cmd_outbox_status)
    outbox.add_parser("flush", help="send what is due now").set_defaults(run=cmd_outbox_flush)
    sync = commands.add_parser("sync", help="sync Marketo leads into the visitor store (bulk extract)")
    sync.add_argument("what", nargs="?", choices=("run", "status"), default="run")
    sync.add_argument("--since", help="first day of the full pass, YYYY-MM-DD (default MARKETO_SYNC_SINCE or 2006-01-01)")
    sync.set_defaults(run=cmd_sync)
    agents = commands.add_parser("agents", help="sales agents").add_subparsers(dest="what", required=True)
    agents.add_parser("list", help="the agents and their hours").set_defaults(run=cmd_agents_list)
    meetings = commands.add_parser("meetings", help="meetings booked with agents").add_subparsers(
        dest="what", required=True)
    book = meetings.add_parser("book", help="book through the same router and calendars as the chat")
    book.add_argument("--email", required=True, help="the visitor's email")
    book.add_argument("--start", required=True, help="ISO 8601 with a zone, e.g. 2026-12-01T10:00:00+01:00")
    book.add_argument("--duration", default="30m")
    route = book.add_mutually_exclusive_group()
    route.add_argument("--agent", help="this agent only")
    route.add_argument("--team", help="round robin in this team")
    route.add_argument("--rules", action="store_true", help="apply the routing rules")
    book.set_defaults(run=cmd_meetings_book)
    cancel = meetings.add_parser("cancel", help="cancel a meeting (its agent gets the rotation credit back)")
    cancel.add_argument("id")
    cancel.set_defaults(run=cmd_meetings_cancel)
    reassign = meetings.add_parser("reassign", help="give a meeting to another agent (the previous one gets the turn back)")
    reassign.add_argument("id")
    reassign.add_argument("--agent", help="this agent (default: the rotation's next free agent)")
    reassign.set_defaults(run=cmd_meetings_reassign)
    listing = meetings.add_parser("list", help="meetings with status and agent")
    listing.add_argument("--status", choices=[status.value for status in MeetingStatus])
    listing.add_argument("--agent")
    listing.set_defaults(run=cmd_meetings_list)
    routing = commands.add_parser("routing", help="round robin state").add_subparsers(dest="what", required=True)
    routing.add_parser("show", help="order, who is next, meetings per agent").set_defaults(run=cmd_routing_show)
    calendar = commands.add_parser("calendar", help="the embedded calendar").add_subparsers(dest="what", required=True)
    feed = calendar.add_parser("feed", help="an agent's iCalendar feed (.ics) on standard output")
    feed.add_argument("agent")
    feed.add_argument("--url", action="store_true", help="print the feed's URL to subscribe to instead")
    feed.set_defaults(run=cmd_calendar_feed)
    users = commands.add_parser("users", help="the console's users").add_subparsers(dest="what", required=True)
    users.add_parser("list", help="users and their roles").set_defaults(run=cmd_users)
    add_user = users.add_parser("add", help="add a user (asks for the password)")
    add_user.add_argument("email")
    add_user.add_argument("--role", choices=["admin", "designer", "viewer"], default="viewer",
                          help="admin: everything; designer: dialogues and configuration; viewer: read only")
    add_user.add_argument("--name")
    add_user.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    add_user.set_defaults(run=cmd_users)
    password = users.add_parser("password", help="set a user's password (logs out their sessions)")
    password.add_argument("email")
    password.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    password.set_defaults(run=cmd_users)
    forget = commands.add_parser("forget", help="delete a person everywhere we keep them (and say what was deleted)")
    forget.add_argument("email")
    forget.add_argument("--yes", action="store_true", help="do not ask first")
    forget.set_defaults(run=cmd_forget)
    retention = commands.add_parser("retention", help="delete what is past its retention").add_subparsers(
        dest="what", required=True)
    retention.add_parser("run", help="run it now (dynchat run does it once a day)").set_defaults(run=cmd_retention)
    serve = commands.add_parser("serve", help="one server in the foreground (a container's or a Procfile's command)")
    serve.add_argument("kind", choices=["rasa", "actions", "console", "events"])
    serve.add_argument("--port", type=int, help="default: DYNCHAT_RASA_PORT, DYNCHAT_ACTION_PORT, DYNCHAT_WEB_PORT, "
                                                "DYNCHAT_EVENTS_PORT (the events consumer's health)")
    serve.add_argument("--model", help="the Rasa server's model (default: models/dynchat.tar.gz)")
    serve.set_defaults(run=cmd_serve)
    identity = commands.add_parser("identity", help="identity verification: what sites sign their visitors with")
    sign = identity.add_subparsers(dest="what", required=True).add_parser(
        "sign", help="the signature of an email (hex HMAC-SHA256 under the identity secret)")
    sign.add_argument("email")
    sign.set_defaults(run=cmd_identity)
    analytics = commands.add_parser("analytics", help="triggered, engaged, acquired, goals and meetings, with rates")
    analytics.add_argument("--from", dest="since", help="first day (YYYY-MM-DD, UTC; default: 30 days before --to)")
    analytics.add_argument("--to", help="last day (default: today)")
    analytics.add_argument("--dialogue", help="one dialogue's counts")
    analytics.add_argument("--csv", action="store_true", help="per day, per dialogue and total, as CSV")
    analytics.set_defaults(run=cmd_analytics)
    db = commands.add_parser("db", help="the database schema").add_subparsers(dest="what", required=True)
    db.add_parser("upgrade", help="apply the schema migrations (dynchat run does it too)").set_defaults(run=cmd_db)
    db.add_parser("status", help="the schema's revision; exit 1 when migrations are pending").set_defaults(run=cmd_db)
    return root


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.run(args, Context(from_environment(os.environ)))
    except _Problems as problems:
        return _report(problems.problems)
    except KeyboardInterrupt:
        return 130
    except OSError as exc:
        print(f"dynchat: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
