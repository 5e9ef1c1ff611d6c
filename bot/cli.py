"""The `omo` command: migrations, demo data, the worker and the development server."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from bot.settings import PROJECT_ROOT, Settings

if TYPE_CHECKING:
    from alembic.config import Config

    from bot.runtime import Runtime
    from bot.uow import UnitOfWork


def alembic_config(database_url: str) -> Config:
    # Imported here: alembic (with mako and pygments) is 9 MB the queue worker and the web workers never need.
    from alembic.config import Config

    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    config.attributes["database_url"] = database_url
    return config


def upgrade_database(database_url: str) -> None:
    """Bring the database schema to the newest migration."""
    if database_url.startswith("sqlite:///"):
        Path(database_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    from alembic import command

    command.upgrade(alembic_config(database_url), "head")


class _Commands(click.Group):
    """The `omo` group: a missing or wrong setting ends a command with its message, not a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        from bot.settings import ConfigurationError

        try:
            return super().invoke(ctx)
        except ConfigurationError as exc:
            raise click.ClickException(
                f"{exc} (for a local try-out, set APP_ENV=development as ./scripts/start does)"
            ) from exc


@click.group(cls=_Commands)
def main() -> None:
    """OMO Member Bot."""


@main.command()
def migrate() -> None:
    """Upgrade the database to the newest schema (the Procfile's release step)."""
    settings = Settings.from_env()
    upgrade_database(settings.database_url)
    click.echo("database is at the newest migration")


@contextmanager
def _unit_of_work() -> Iterator[UnitOfWork]:
    """One command, one unit of work, like every entry point: what it records is sent after the commit."""
    from bot.runtime import Runtime
    from bot.uow import unit_of_work

    runtime = Runtime.build(Settings.from_env())
    try:
        with unit_of_work(runtime) as uow:
            yield uow
    finally:
        runtime.engine.dispose()


@main.command("seed-demo")
def seed_demo() -> None:
    """Add a demo store, clerks and members (safe to run again)."""
    from bot.services.demo import seed_demo_data, seed_demo_engagement

    with _unit_of_work() as uow:
        added = seed_demo_data(uow.session)
        added += seed_demo_engagement(uow.session, uow.now)
    click.echo(f"demo data ready ({added} rows added)")


@main.command()
@click.option("--workers", default=2, show_default=True, help="how many jobs run at once (in each process)")
@click.option(
    "--worker-type",
    type=click.Choice(["thread", "process"]),
    default="thread",
    show_default=True,
    help="threads share one process (fine while jobs wait on LINE and the database); processes use every core",
)
@click.option(
    "--processes",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="consumer processes, each running --workers threads (periodic jobs in the first only)",
)
@click.option(
    "--no-periodic",
    is_flag=True,
    help="run no periodic jobs: for every consumer but one, when several `omo worker` run on one queue",
)
def worker(workers: int, worker_type: str, processes: int, no_periodic: bool) -> None:
    """Run the task-queue consumer (the Procfile's worker)."""
    if processes > 1:
        settings = Settings.from_env()
        if not settings.redis_url and settings.app_env == "production":
            raise click.UsageError(
                "several consumer processes share one queue and LINE's rate limits through Redis: set REDIS_URL"
            )
        raise SystemExit(_run_consumers(processes, workers, worker_type, no_periodic, settings))
    from huey.consumer_options import ConsumerConfig

    import bot.tasks  # noqa: F401  (registers the jobs with the queue)
    from bot.log_redaction import configure_logging
    from bot.queue import huey

    # A short poll interval keeps replies quick on the SQLite queue; Redis blocks on its list instead.
    config = ConsumerConfig(workers=workers, worker_type=worker_type, periodic=not no_periodic, max_delay=0.1)
    configure_logging(Settings.from_env())  # huey's own log format would skip the masking: not set up
    huey.create_consumer(**config.values).run()


def _follow_parent(parent_pid: int) -> Callable[[], None]:
    """What a consumer process runs before it starts: be sent SIGTERM when the group's process dies, even killed
    with -9, so a restarted group never runs beside orphans of the old one (Linux; elsewhere the signals above
    suffice). A group that died before the request was made cannot send it: the process then leaves at once."""
    import ctypes
    import signal
    import sys

    prctl = ctypes.CDLL(None).prctl if sys.platform == "linux" else None

    def follow() -> None:
        if prctl is not None:
            prctl(1, signal.SIGTERM)  # 1: PR_SET_PDEATHSIG
        if os.getppid() != parent_pid:
            os._exit(1)

    return follow


def _run_consumers(processes: int, workers: int, worker_type: str, no_periodic: bool, settings: Settings) -> int:
    """Start `processes` consumers (each its own `omo worker`, so each its own GIL) and wait for them. A stop signal
    is passed on to all (exit 0); when one stops by itself the others are stopped too and the group exits non-zero,
    so the process manager restarts it whole (periodic jobs live in the first consumer only). Without Redis (the
    quickstart's SQLite queue) each process counts LINE's multicast rate on its own, so each gets its share of it."""
    import signal
    import subprocess
    import sys
    import time

    command = [sys.executable, "-m", "bot.cli", "worker", "--workers", str(workers), "--worker-type", worker_type]
    env = dict(os.environ)
    if not settings.redis_url:
        rate = settings.line_multicast_rate
        env["LINE_MULTICAST_RATE"] = f"{max(1, rate.amount // processes)}/{rate.per} seconds"
    follow_this_process = _follow_parent(os.getpid())
    children = [
        # A session of their own: a Ctrl-C in a terminal reaches this process only, and is passed on once (Huey
        # takes a second SIGINT as "stop now", abandoning the jobs it is running).
        subprocess.Popen(
            [*command, *(["--no-periodic"] if n > 0 or no_periodic else [])],
            env=env,
            preexec_fn=follow_this_process,
            start_new_session=True,
        )
        for n in range(processes)
    ]
    asked_to_stop = False

    def pass_on(signum: int, _frame: object) -> None:
        nonlocal asked_to_stop
        asked_to_stop = True
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, pass_on)
    while not asked_to_stop and all(child.poll() is None for child in children):
        time.sleep(0.2)
    if not asked_to_stop:
        click.echo("a consumer process stopped: stopping the others", err=True)
        for child in children:
            if child.poll() is None:
                child.terminate()
    for child in children:
        child.wait()
    return 0 if asked_to_stop else 1


@main.command()
@click.option("--port", default=lambda: int(os.environ.get("PORT", "8000")), show_default="8000")
def dev(port: int) -> None:
    """Serve the app with Flask's threaded development server."""
    from bot.app import create_app

    create_app().run(host="127.0.0.1", port=port, threaded=True, use_reloader=False)


@main.group("api-keys")
def api_keys() -> None:
    """Store keys to the POS API (/api/v1)."""


@api_keys.command("create")
@click.option("--store", "store_code", required=True, help="the store's code, e.g. TPE01")
@click.option("--name", required=True, help="what the key is for, e.g. 'POS 1'")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    type=click.Choice(["scan", "coupons", "members"]),
    help="what the key may do (repeat for more): scan (scans, purchases, refunds, stamps), coupons (list, redeem, "
    "undo), members (bind codes, unbind, erase). Default: scan and coupons",
)
def api_keys_create(store_code: str, name: str, scopes: tuple[str, ...]) -> None:
    """Create a key for a store and print it: it is shown this once, only its SHA-256 is kept."""
    from bot.refusal_texts import text_for
    from bot.services.staff.api_keys import DEFAULT_SCOPES, ApiKeyError, create_api_key

    try:
        with _unit_of_work() as uow:
            api_key, raw_key = create_api_key(
                uow.session, store_code=store_code, name=name, now=uow.now, scopes=scopes or DEFAULT_SCOPES
            )
    except ApiKeyError as exc:
        raise click.ClickException(text_for(exc, "en")) from exc
    click.echo(
        f"API key {api_key.id} for store {store_code} ({api_key.name}, scopes: {api_key.scopes}); copy it now, "
        "it is not shown again:"
    )
    click.echo(raw_key)


@api_keys.command("revoke")
@click.argument("key_id", type=int)
def api_keys_revoke(key_id: int) -> None:
    """Revoke a key: requests made with it are refused from now on."""
    from bot.refusal_texts import text_for
    from bot.services.staff.api_keys import ApiKeyError, revoke_api_key

    try:
        with _unit_of_work() as uow:
            api_key = revoke_api_key(uow.session, key_id, now=uow.now)
    except ApiKeyError as exc:
        raise click.ClickException(text_for(exc, "en")) from exc
    click.echo(f"API key {api_key.id} ({api_key.name}) revoked")


@main.group()
def members() -> None:
    """The member programme's data."""


@members.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="report what would change and change nothing")
def members_import(file: Path, dry_run: bool) -> None:
    """Import members from a POS export (CSV): new members, field updates and points balances, in one transaction."""
    from bot.services.membership.member_import import import_members
    from bot.services.membership.pos_export import ImportFileError

    data = file.read_bytes()
    try:
        with _unit_of_work() as uow:
            report = import_members(uow.session, data, filename=file.name, dry_run=dry_run, now=uow.now)
    except ImportFileError as exc:
        raise click.ClickException(f"{file.name}: {exc.message}; nothing was imported") from exc
    click.echo("\n".join(report.lines()))


@contextmanager
def _runtime_and_unit_of_work() -> Iterator[tuple[Runtime, UnitOfWork]]:
    """Like _unit_of_work, for commands that also call LINE through the runtime's client."""
    from bot.runtime import Runtime
    from bot.uow import unit_of_work

    runtime = Runtime.build(Settings.from_env())
    try:
        with unit_of_work(runtime) as uow:
            yield runtime, uow
    finally:
        runtime.engine.dispose()


@main.group()
def richmenu() -> None:
    """The rich menus LINE users see: preview, deploy, relink."""


@richmenu.command("preview")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=lambda: PROJECT_ROOT / "instance" / "richmenus",
    show_default="instance/richmenus",
    help="where to write the images",
)
def richmenu_preview(out_dir: Path) -> None:
    """Draw each menu's image into files (richmenu-<menu>.png) without calling LINE."""
    from rich_menus.definitions import menus
    from rich_menus.render import render

    settings = Settings.from_env()
    out_dir.mkdir(parents=True, exist_ok=True)
    for menu in menus(settings):
        path = out_dir / f"richmenu-{menu.name.removeprefix('omo-')}.png"
        path.write_bytes(render(menu, settings.brand_color, settings.brand_logo_path))
        click.echo(f"{path} ({menu.size[0]}x{menu.size[1]}, {path.stat().st_size} bytes)")


@richmenu.command("deploy")
def richmenu_deploy() -> None:
    """Create the changed menus on LINE, make them live (aliases, default), record them, delete the replaced ones."""
    from bot.line_client import LineDeliveryError
    from rich_menus.deploy import deploy

    try:
        with _runtime_and_unit_of_work() as (runtime, uow):
            report = deploy(runtime.line, uow.session, uow.settings, uow.now)
    except LineDeliveryError as exc:
        raise click.ClickException(f"{exc}; this run's menus were removed and nothing was recorded") from exc
    click.echo("\n".join(report.lines()))


@richmenu.command("relink")
@click.option("--per-second", default=None, type=float, help="bulk-link requests a second (default 100)")
def richmenu_relink(per_second: float | None) -> None:
    """Link every bound member to the deployed member menu, 500 users a request; then delete replaced menus."""
    from rich_menus.deploy import BULK_LINK_REQUESTS_PER_SECOND, Pacer, relink

    with _runtime_and_unit_of_work() as (runtime, uow):
        report = relink(runtime.line, uow.session, pacer=Pacer(per_second or BULK_LINK_REQUESTS_PER_SECOND))
    click.echo("\n".join(report.lines()))


@main.group()
def engagement() -> None:
    """Check-in milestones, lucky draws, scratch cards and missions."""


@engagement.command("load")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def engagement_load(file: Path) -> None:
    """Validate an engagement YAML file (see docs/engagement.md) and store it; loading it again changes nothing."""
    from bot.services.engagement.config import load_config
    from bot.services.engagement.yaml_nodes import ConfigError
    from bot.services.marketing.task_settings import record_load, snapshot

    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise click.ClickException(f"{file.name}: 檔案不是 UTF-8 文字; nothing was loaded") from exc
    try:
        with _unit_of_work() as uow:
            before = snapshot(uow.session)
            report = load_config(uow.session, text, uow.now)
            if report.total:  # kept in the console's version history of the daily-task settings
                record_load(uow.session, before, uow.now)
    except ConfigError as exc:
        raise click.ClickException(f"{file.name}: {exc}; nothing was loaded") from exc
    sections = ", ".join(f"{name} {count}" for name, count in report.changed.items()) or "none"
    click.echo(f"engagement configuration loaded: {report.total} rows changed ({sections})")


@engagement.command("grant-plays")
@click.argument("member_number")
@click.option("--count", default=1, show_default=True, type=click.IntRange(1, 20), help="extra plays")
@click.option("--game", type=click.Choice(["draw", "scratch"]), default="draw", show_default=True)
@click.option("--key", default=None, help="idempotency key: the same key grants once")
def engagement_grant_plays(member_number: str, count: int, game: str, key: str | None) -> None:
    """Give a member extra lucky-draw plays or scratch cards (used after the day's free ones, kept until used)."""
    from sqlalchemy import select

    from bot.services.engagement.games import grant_plays
    from models import Member

    with _unit_of_work() as uow:
        member = uow.session.scalars(select(Member).where(Member.member_number == member_number)).one_or_none()
        if member is None or member.erased_at is not None:
            raise click.ClickException(f"no member {member_number}")
        granted = grant_plays(
            uow.session, member, count, "品牌贈送", uow.now, game_kind=game, key=f"cli:{key}" if key else None
        )
    click.echo(f"{'granted' if granted else 'already granted'}: {count} {game} play(s) for {member_number}")


@engagement.command("grant-freeze")
@click.argument("member_number")
@click.option("--count", default=1, show_default=True, type=click.IntRange(1, 30), help="missed days it covers")
@click.option("--key", default=None, help="idempotency key (default: one grant per member and day)")
def engagement_grant_freeze(member_number: str, count: int, key: str | None) -> None:
    """Give a member streak freezes: each keeps their check-in streak over one missed day."""
    from sqlalchemy import select

    from bot.services.engagement.checkins import freeze_balance, grant_freezes
    from models import Member

    with _unit_of_work() as uow:
        member = uow.session.scalars(select(Member).where(Member.member_number == member_number)).one_or_none()
        if member is None or member.erased_at is not None:
            raise click.ClickException(f"no member {member_number}")
        grant_key = key or f"freeze-grant:{member.id}:{uow.now.astimezone(uow.settings.tz).date().isoformat()}"
        granted = grant_freezes(uow.session, member, count, reason="品牌贈送", key=f"cli:{grant_key}", at=uow.now)
        balance = freeze_balance(uow.session, member.id)
    click.echo(f"{'granted' if granted else 'already granted'}: {member_number} holds {balance} streak freezes")


@main.group()
def staff() -> None:
    """Staff accounts for the back office (/staff/login)."""


def _new_password() -> str:
    password: str = click.prompt("password (at least 10 characters)", hide_input=True, confirmation_prompt=True)
    return password


@staff.command("create-admin")
@click.option("--code", required=True, help="the admin's staff number, which they sign in with, e.g. ADMIN")
@click.option("--name", required=True, help="the admin's name")
def staff_create_admin(code: str, name: str) -> None:
    """Make an admin who can sign in to the back office (the first one is made this way); asks for the password."""
    from bot.refusal_texts import text_for
    from bot.services.refusals import Refused
    from bot.services.staff.accounts import create_admin

    password = _new_password()
    try:
        with _unit_of_work() as uow:
            admin = create_admin(uow.session, code, name, password, uow.now)
            code = admin.code
    except Refused as exc:
        raise click.ClickException(text_for(exc, "en")) from exc
    click.echo(f"admin {code} created; sign in at /staff/login")


@staff.command("reset-password")
@click.argument("code")
def staff_reset_password(code: str) -> None:
    """Give a staff member a new password (asked for) and sign them out everywhere."""
    from sqlalchemy import func, select

    from bot.refusal_texts import text_for
    from bot.services.refusals import Refused
    from bot.services.staff.accounts import set_password
    from models import Staff

    password = _new_password()
    try:
        with _unit_of_work() as uow:
            found = uow.session.scalars(select(Staff).where(func.upper(Staff.code) == code.strip().upper())).first()
            if found is None:
                raise click.ClickException(f"no staff member has the staff number {code!r}")
            set_password(uow.session, found, password, actor=None, at=uow.now)
            code = found.code
    except Refused as exc:
        raise click.ClickException(text_for(exc, "en")) from exc
    click.echo(f"new password set for {code}; their other sessions have ended")


if __name__ == "__main__":
    main()
