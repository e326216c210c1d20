"""The `dynchat` command: validate, compile, train, run and draw dialogues."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import List, Optional, Sequence

from bot.config import settings

DEFAULT_HELP = "a dialogue file or a folder of them (default: data/dialogues)"


def _paths(given: Sequence[str]) -> List[str]:
    return list(given) or [str(settings().dialogues)]


def _report(problems) -> int:
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} found", file=sys.stderr)
    return 1


def cmd_validate(args: argparse.Namespace) -> int:
    from bot.dialogues.loader import load_dialogues

    dialogues, problems = load_dialogues(_paths(args.paths))
    if problems:
        return _report(problems)
    print(f"{len(dialogues)} dialogue{'s' if len(dialogues) != 1 else ''} valid: {', '.join(d.id for d in dialogues)}")
    return 0


def _compile(paths: Sequence[str], out: Path) -> int:
    from bot.dialogues.build import compile_project

    compiled, problems = compile_project(settings().project, _paths(paths))
    if problems:
        return _report(problems)
    changed = compiled.write(out)
    print(f"compiled into {out} ({len(changed)} file{'s' if len(changed) != 1 else ''} changed)")
    return 0


def cmd_compile(args: argparse.Namespace) -> int:
    return _compile(args.paths, Path(args.out) if args.out else settings().build)


def _train(paths: Sequence[str], models: Path) -> int:
    from bot.dialogues import train

    config = settings().project / "config.yml"
    status = _compile(paths, settings().build)
    if status:
        return status
    if train.is_current(settings().build, config, models):
        print(f"model {train.model_path(models)} is up to date")
        return 0
    return train.train(settings().build, config, models)


def cmd_train(args: argparse.Namespace) -> int:
    return _train(args.paths, Path(args.out) if args.out else settings().models)


def cmd_run(args: argparse.Namespace) -> int:
    from bot.dialogues import train
    from bot.web import serve

    if args.model:
        model = Path(args.model)
        if not model.is_file():
            print(f"dynchat: no model at {model}", file=sys.stderr)
            return 1
        if not settings().manifest.exists():
            status = _compile([args.dialogues] if args.dialogues else [], settings().build)
            if status:
                return status
    else:
        status = _train([args.dialogues] if args.dialogues else [], settings().models)
        if status:
            return status
        model = train.model_path(settings().models)
    return serve.run(settings(), model)


def cmd_graph(args: argparse.Namespace) -> int:
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


def _progress_bar(label: str):
    """A one-line terminal progress bar on stderr (silent when not a terminal)."""
    import time

    started = time.monotonic()

    def show(done: int, total: int) -> None:
        if not sys.stderr.isatty() or not total:
            return
        share = min(1.0, done / total)
        bar = "#" * int(share * 30)
        sys.stderr.write(f"\r{label} [{bar:<30}] {share:6.1%} {time.monotonic() - started:6.1f}s")
        sys.stderr.flush()

    return show


def cmd_import(args: argparse.Namespace) -> int:
    from bot.marketo.bulk_csv import import_csv
    from bot.marketo.fields import FieldMapError, load_field_map
    from bot.store.visitors import VisitorStore

    try:
        mapping = load_field_map(settings().field_map)
        report = import_csv(args.file, VisitorStore(settings().database_url), mapping,
                            progress=_progress_bar("importing"))
    except (FieldMapError, ValueError) as exc:
        print(f"dynchat: {args.file}: {exc}", file=sys.stderr)
        return 1
    if sys.stderr.isatty():
        sys.stderr.write("\n")
    for problem in report.header_problems:
        print(f"{args.file}: {problem}", file=sys.stderr)
    for problem in report.problems[: args.show_problems]:
        print(f"{args.file}: {problem}", file=sys.stderr)
    if len(report.problems) > args.show_problems:
        print(f"... and {len(report.problems) - args.show_problems} more rows with problems", file=sys.stderr)
    rate = report.loaded / report.seconds if report.seconds else 0
    print(f"imported {report.loaded} of {report.records} rows in {report.seconds:.1f}s ({rate:,.0f} leads/s); "
          f"{len(report.problems)} skipped")
    return 0


def cmd_visitors_lookup(args: argparse.Namespace) -> int:
    import json

    from bot.store.visitors import VisitorStore

    store = VisitorStore(settings().database_url)
    visitor = store.by_email(args.email) if args.email else store.by_cookie(args.cookie)
    if visitor is None:
        print("no such visitor", file=sys.stderr)
        return 1
    print(json.dumps({"lead_id": visitor.lead_id, "email": visitor.email, "updated_at": visitor.updated_at,
                      "attributes": dict(visitor.attributes)}, indent=2, ensure_ascii=False, sort_keys=True))
    return 0


def cmd_outbox_status(args: argparse.Namespace) -> int:
    from bot.store.outbox import Outbox

    status = Outbox(settings().database_url).status()
    oldest = f"{status.oldest_pending_seconds:.0f}s" if status.oldest_pending_seconds is not None else "-"
    print(f"pending {status.pending} (due now {status.due}), sent {status.sent}, refused by Marketo {status.failed}, "
          f"oldest pending {oldest}, last error {status.last_error or '-'}")
    return 0


def cmd_outbox_flush(args: argparse.Namespace) -> int:
    from bot.marketo import leads, writeback
    from bot.store.outbox import Outbox

    client = leads.configured_client()
    if client is None:
        print("dynchat: Marketo is not configured (set MARKETO_BASE_URL, MARKETO_CLIENT_ID, MARKETO_CLIENT_SECRET)",
              file=sys.stderr)
        return 1
    box = Outbox(settings().database_url)
    total = writeback.FlushReport()
    while True:
        report = writeback.flush(box, client, writeback.activity_type_ids(settings().marketo))
        total.sent, total.retried, total.refused = (total.sent + report.sent, total.retried + report.retried,
                                                    total.refused + report.refused)
        if report.sent + report.retried + report.refused == 0 or report.retried:
            break
    print(f"sent {total.sent}, to retry later {total.retried}, refused by Marketo {total.refused}")
    return 0 if not total.retried else 2


def cmd_sync(args: argparse.Namespace) -> int:
    import datetime

    from bot.marketo import leads
    from bot.marketo.sync import LeadSync, SyncError, describe, sync_options_from
    from bot.store.visitors import VisitorStore

    store = VisitorStore(settings().database_url)
    if args.what == "status":
        from bot.marketo.sync import STATE_KEY

        print(describe(store.load_state(STATE_KEY)))
        return 0
    client = leads.configured_client()
    if client is None:
        print("dynchat: Marketo is not configured (set MARKETO_BASE_URL, MARKETO_CLIENT_ID, MARKETO_CLIENT_SECRET)",
              file=sys.stderr)
        return 1
    try:
        options = sync_options_from(settings().marketo, settings().var / "sync", args.since)
        bar = _progress_bar("syncing")
        start = options.since

        def progress(state) -> None:
            cursor = datetime.datetime.strptime(state["cursor"], "%Y-%m-%dT%H:%M:%SZ").replace(
                tzinfo=datetime.timezone.utc)
            span = max(1.0, (options.now() - start).total_seconds())
            done = (cursor - start).total_seconds() if state["phase"] == "full" else span
            bar(int(done), int(span))

        options.progress = progress
        state = LeadSync(client, store, leads.field_map(), options).run()
    except SyncError as exc:
        print(f"\ndynchat: sync stopped: {exc}", file=sys.stderr)
        return 1
    if sys.stderr.isatty():
        sys.stderr.write("\n")
    print(describe(state))
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
    run.set_defaults(run=cmd_run)
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
    return root


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except KeyboardInterrupt:
        return 130
    except OSError as exc:
        print(f"dynchat: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
