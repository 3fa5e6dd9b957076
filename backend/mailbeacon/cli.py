"""The `mailbeacon` command. User mistakes end with a one-line reason and a non-zero status, never a traceback."""

from __future__ import annotations

import json
import os
import sys

import click

from .config import Config, ConfigError


class UserError(click.ClickException):
    """Printed as `mailbeacon: <reason>` with exit status 2."""

    exit_code = 2

    def show(self, file=None) -> None:
        click.echo(f"mailbeacon: {self.message}", err=True)


def load_config(**overrides) -> Config:
    try:
        config = Config.from_env()
    except ConfigError as exc:
        raise UserError(str(exc)) from None
    return config.replace(**{k: v for k, v in overrides.items() if v is not None})


def ensure_schema(config: Config) -> None:
    """SQLite (the embedded default) is brought up to date on start; PostgreSQL only by `mailbeacon db upgrade`,
    which an operator runs on purpose."""
    from .storage import migrate
    from .storage.db import Database

    db = Database(config.database_url)
    try:
        current = migrate.current_revision(db.engine)
    except Exception as exc:
        raise UserError(f"cannot open the database: {exc.__class__.__name__}: {exc}".splitlines()[0]) from None
    finally:
        db.dispose()
    if current == migrate.head_revision():
        return
    if config.is_sqlite:
        migrate.upgrade(config.database_url)
        return
    raise UserError("the database schema is not up to date: run `mailbeacon db upgrade` first")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="mailbeacon")
def main() -> None:
    """mailbeacon: honest email open- and click-tracking."""


@main.command()
@click.option("--host", default=None, help="Address to listen on (default MAILBEACON_HOST or 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port to listen on (default MAILBEACON_PORT or 8025).")
@click.option("--workers", type=int, default=1, show_default=True, help="Server processes.")
def serve(host: str | None, port: int | None, workers: int) -> None:
    """Serve the backend: hit endpoints, API and admin endpoints."""
    if host is not None:
        os.environ["MAILBEACON_HOST"] = host
    if port is not None:
        os.environ["MAILBEACON_PORT"] = str(port)
    config = load_config()
    ensure_schema(config)
    from .server import run_server

    queue = "Redis " + _redact(config.redis_url) if config.redis_url else "embedded (in-process jobs)"
    click.echo(f"mailbeacon listening on http://{config.host}:{config.port}  "
               f"(public URL {config.public_url}; database {_redact(config.database_url)}; queue {queue})", err=True)
    run_server(config, workers=workers)


@main.command()
@click.option("--host", default=None, help="Address to listen on.")
@click.option("--port", type=int, default=None, help="Port to listen on (default MAILBEACON_PORT or 8025).")
@click.option("--workers", type=int, default=2, show_default=True, help="gevent worker processes.")
@click.option("--connections", type=int, default=2000, show_default=True, help="Open streams per process.")
def stream(host: str | None, port: int | None, workers: int, connections: int) -> None:
    """Serve the real-time notification stream (/api/v1/stream) on gunicorn's gevent worker."""
    if host is not None:
        os.environ["MAILBEACON_HOST"] = host
    if port is not None:
        os.environ["MAILBEACON_PORT"] = str(port)
    config = load_config()
    if not config.redis_url:
        raise UserError("`stream` needs MAILBEACON_REDIS_URL; in embedded mode `serve` streams itself")
    ensure_schema(config)
    from .stream_server import run_stream_server

    click.echo(f"mailbeacon stream listening on http://{config.host}:{config.port}/api/v1/stream", err=True)
    run_stream_server(config, workers=workers, connections=connections)


def _redact(url: str | None) -> str:
    """A URL for a log line, without its password."""
    if not url:
        return ""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


@main.group()
def db() -> None:
    """Database schema management."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply the Alembic migrations to MAILBEACON_DATABASE_URL."""
    from .storage import migrate

    config = load_config()
    try:
        migrate.upgrade(config.database_url, revision)
    except Exception as exc:  # a connection or migration failure: one line, not a traceback
        raise UserError(f"upgrade failed: {exc}".splitlines()[0]) from None
    click.echo(f"database at {migrate.head_revision() if revision == 'head' else revision}", err=True)


@main.command()
@click.option("--sender", default=None, help="Sender address (default: the message's From).")
@click.option("--no-opens", is_flag=True, help="Do not insert the open pixel.")
@click.option("--no-clicks", is_flag=True, help="Do not rewrite links.")
@click.option("--dry-run", is_flag=True, help="Track without registering anything in the database.")
def inject(sender: str | None, no_opens: bool, no_clicks: bool, dry_run: bool) -> None:
    """Track an RFC 5322 message: stdin in, tracked message on stdout, a JSON report on stderr."""
    from .runtime import Runtime
    from .services.prepare import RefusedMessage, prepare_tracked_message
    from .storage.models import User
    from .storage.users import get_or_create_local_user, normalise_address
    from .tracking.envelope import MalformedMessage, read_envelope

    raw = sys.stdin.buffer.read()
    if not raw.strip():
        raise UserError("no message on standard input")
    config = load_config()
    if not dry_run:
        ensure_schema(config)
    rt = Runtime(config)
    if sender is None:
        try:
            sender = read_envelope(raw).from_address
        except MalformedMessage as exc:
            raise UserError(f"malformed message: {getattr(exc, 'reason', None) or exc}") from None
        if not sender:
            raise UserError("the message has no From address; pass --sender")
    if "@" not in sender:
        raise UserError(f"{sender!r} is not an email address")
    session = rt.db.session()
    try:
        if dry_run:
            from sqlalchemy import select

            try:
                user = session.scalar(select(User).where(User.email == normalise_address(sender)))
            except Exception:
                user = None  # a dry run needs no database
        else:
            user = get_or_create_local_user(session, sender)
        try:
            prepared = prepare_tracked_message(rt, session, user=user, raw=raw, track_opens=not no_opens,
                                               track_clicks=not no_clicks, dry_run=dry_run)
        except RefusedMessage as exc:
            session.rollback()
            raise UserError(f"{exc.code.replace('_', ' ')}: {exc}") from None
        if prepared.report.skipped_reason in ("malformed", "too_large"):
            # Not a message we can work with: say why and register nothing (a send would go out untracked).
            session.rollback()
            reason = prepared.report.skipped_reason.replace("_", " ")
            raise UserError(f"{reason} message: {prepared.report.detail or 'refused'}")
        if dry_run:
            session.rollback()
        else:
            session.commit()
    finally:
        session.close()
        rt.db.dispose()
    sys.stdout.buffer.write(prepared.raw)
    sys.stdout.buffer.flush()
    click.echo(json.dumps(prepared.summary(), ensure_ascii=False, separators=(",", ":")), err=True)


@main.command()
@click.option("--queues", "queue_names", default=None,
              help="Comma-separated queues to work (default: all of them).")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@click.option("--fork", is_flag=True, help="Run each job in a forked child (isolation over throughput).")
def worker(queue_names: str | None, burst: bool, fork: bool) -> None:
    """Run an RQ worker for the hit pipeline, sending and maintenance (needs MAILBEACON_REDIS_URL)."""
    from .jobs import queues as q
    from .logs import configure_logging

    config = load_config()
    if not config.redis_url:
        raise UserError("`worker` needs MAILBEACON_REDIS_URL; in embedded mode `serve` runs the jobs itself")
    names = [n.strip() for n in (queue_names or ",".join(q.ALL_QUEUES)).split(",") if n.strip()]
    unknown = [n for n in names if n not in q.ALL_QUEUES]
    if unknown:
        raise UserError(f"unknown queue(s): {', '.join(unknown)} (known: {', '.join(q.ALL_QUEUES)})")
    configure_logging(config.log_level)
    import redis
    from rq import SimpleWorker, Worker

    connection = redis.Redis.from_url(config.redis_url)
    worker_class = Worker if fork else SimpleWorker
    w = worker_class([q.queue(n, connection) for n in names], connection=connection, worker_ttl=config.worker_ttl)
    w.work(burst=burst, with_scheduler=True, logging_level=config.log_level)


@main.command()
def scheduler() -> None:
    """Enqueue the scheduled jobs (retention purge, network refresh, abandoned-batch recovery) with RQ's cron."""
    from .jobs.maintenance import SCHEDULE
    from .logs import configure_logging

    config = load_config()
    if not config.redis_url:
        raise UserError("`scheduler` needs MAILBEACON_REDIS_URL; in embedded mode `serve` schedules in-process")
    configure_logging(config.log_level)
    import redis
    from rq.cron import CronScheduler

    cron = CronScheduler(connection=redis.Redis.from_url(config.redis_url), logging_level=config.log_level)
    for func, queue_name, interval in SCHEDULE:
        cron.register(func, queue_name, interval=interval, result_ttl=3600)
    cron.start()


@main.command()
@click.option("--days", type=int, default=None, help="Override MAILBEACON_RETENTION_DAYS.")
def purge(days: int | None) -> None:
    """Delete hits, notifications and sender activity older than the retention period, now."""
    from .runtime import Runtime
    from .services.retention import purge_expired

    config = load_config()
    ensure_schema(config)
    rt = Runtime(config)
    try:
        click.echo(json.dumps(purge_expired(rt, days=days)))
    finally:
        rt.close()


@main.group()
def keys() -> None:
    """Key management."""


@keys.command("rotate")
def keys_rotate() -> None:
    """Re-encrypt every stored secret under the first key of MAILBEACON_ENCRYPTION_KEYS."""
    from .crypto import DecryptionError
    from .runtime import Runtime
    from .services.keys import rotate_secrets

    config = load_config()
    ensure_schema(config)
    rt = Runtime(config)
    try:
        click.echo(json.dumps(rotate_secrets(rt)))
    except DecryptionError as exc:
        raise UserError(f"cannot rotate: {exc} (keep the old key in MAILBEACON_ENCRYPTION_KEYS until done)") from None
    finally:
        rt.close()


@main.command()
@click.option("--resolve-dns", is_flag=True, help="Look up reverse DNS and ASNs the input leaves out (live DNS).")
def classify(resolve_dns: bool) -> None:
    """Classify hits given as JSON lines on stdin; one JSON verdict per line on stdout."""
    from .services.classify_cli import run_classify

    sys.exit(run_classify(sys.stdin, sys.stdout, networks_dir=Config.networks_dir_from_env(),
                          resolve_dns=resolve_dns))


@main.group()
def networks() -> None:
    """The network lists the hit classifier reads."""


@networks.command("fetch")
@click.option("--source", "names", multiple=True,
              help="A source to fetch (apple, google, microsoft, aws, or all); repeatable. "
                   "Default: those MAILBEACON_NETWORKS_FETCH names.")
def networks_fetch(names: tuple[str, ...]) -> None:
    """Download the publishers' network lists into MAILBEACON_NETWORKS_DIR now; a JSON summary on stdout.

    Running workers pick the new files up within a minute. Exit status 1 when a list could not be installed.
    """
    from .services.netfetch import fetcher_for, summarise
    from .tracking.netsources import parse_source_list, sources_named

    config = load_config()
    try:
        chosen = parse_source_list(",".join(names)) if names else config.networks_fetch
    except ValueError as exc:
        raise UserError(f"--source: {exc}") from None
    if not chosen:
        raise UserError("no source to fetch: MAILBEACON_NETWORKS_FETCH is off; name one with --source")
    try:
        results = fetcher_for(config).fetch(sources_named(chosen))
    except NotADirectoryError as exc:
        raise UserError(str(exc)) from None
    summary = summarise(results)
    click.echo(json.dumps(summary))
    for result in results:
        if result.outcome in ("refused", "failed"):
            click.echo(f"mailbeacon: {result.file} {result.outcome}: {result.detail}", err=True)
    if summary["refused"] or summary["failed"]:
        sys.exit(1)


def _add_commands() -> None:
    from .addin_manifest import addin_manifest_command
    from .demo import demo_command

    main.add_command(addin_manifest_command)
    main.add_command(demo_command)


_add_commands()

if __name__ == "__main__":  # pragma: no cover
    main()
