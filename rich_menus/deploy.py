"""Put the rich menus on LINE (`omo richmenu deploy`) and move members onto a new member menu (`omo richmenu relink`).

Deploy: for each menu whose definition or image changed (or that LINE no longer has), create it and upload its
image; then make the new menus live (aliases moved, the guest menu made the default); then record them; and only
then delete the menus they replaced. A failure before the record undoes this run's changes on LINE: aliases moved
back, the menus it made deleted. The replaced member menu stays while members are still linked to it (a deleted menu
would leave them on the guest menu): relink moves them in bulk, then deletes it.

This calls LINE, so it lives outside bot/services; it takes the LineClient and the unit of work's session."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.line_client import MAX_BULK_LINK_USERS, LineClient
from bot.settings import Settings
from models import LineUser, RichMenuDeployment
from rich_menus.definitions import GUEST, MEMBER, MenuDefinition, menus
from rich_menus.render import render_all

log = logging.getLogger(__name__)

MENU_NAME_PREFIX = "omo-"  # every menu this module makes is named so; relink deletes only such menus
# LINE documents no separate limit for POST /v2/bot/richmenu/bulk/link, so it falls under "other endpoints: 2,000
# requests per second" (per channel; /work/shared/LINE_PLATFORM.md). Relink stays well under it; a 429 is retried
# by the client honouring Retry-After.
BULK_LINK_REQUESTS_PER_SECOND = 100.0


def content_hash(menu: MenuDefinition, image: bytes) -> str:
    """SHA-256 of what LINE would be given: the menu's JSON (canonical) and its image bytes."""
    definition = json.dumps(menu.request_body(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    digest = hashlib.sha256(definition.encode())
    digest.update(b"\0")
    digest.update(image)
    return digest.hexdigest()


@dataclass
class DeployReport:
    created: dict[str, str] = field(default_factory=dict)  # state -> new menu id
    unchanged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    kept: dict[str, int] = field(default_factory=dict)  # replaced menu id -> members still linked to it
    changes: list[str] = field(default_factory=list)  # aliases and default moved

    def lines(self) -> list[str]:
        if not self.created and not self.changes:
            return ["rich menus are up to date; nothing changed"]
        lines = [f"{state}: new menu {menu_id}" for state, menu_id in self.created.items()]
        lines += [f"{state}: unchanged" for state in self.unchanged]
        lines += self.changes
        lines += [f"deleted replaced menu {menu_id}" for menu_id in self.deleted]
        lines += [
            f"kept replaced member menu {menu_id}: {count} members still linked; run `omo richmenu relink`"
            for menu_id, count in self.kept.items()
        ]
        return lines


class _Rollback:
    """What this run changed on LINE, to undo when a later step fails."""

    def __init__(self, line: LineClient) -> None:
        self.line = line
        self.created: list[str] = []
        self.aliases: list[tuple[str, str | None]] = []  # alias, the menu it pointed at before (None: new alias)

    def undo(self) -> None:
        for alias_id, previous in reversed(self.aliases):
            if previous is not None:
                self._quietly(lambda: self.line.update_rich_menu_alias(alias_id, previous))  # noqa: B023
        for menu_id in self.created:  # deleting a menu also drops the aliases new in this run
            self._quietly(lambda: self.line.delete_rich_menu(menu_id))  # noqa: B023

    @staticmethod
    def _quietly(step: Callable[[], None]) -> None:
        try:
            step()
        except Exception:
            log.exception("rich menu rollback step failed")


def deploy(line: LineClient, session: Session, settings: Settings, now: datetime) -> DeployReport:
    """Deploy every menu; a second run with nothing changed makes no changing call (only reads)."""
    definitions = menus(settings)
    images = render_all(definitions, settings.brand_color, settings.brand_logo_path)
    hashes = {menu.state: content_hash(menu, images[menu.state]) for menu in definitions}
    records = {record.state: record for record in session.scalars(select(RichMenuDeployment))}
    on_line = line.list_rich_menus()
    report = DeployReport()
    stale = [
        menu
        for menu in definitions
        if (record := records.get(menu.state)) is None
        or record.content_hash != hashes[menu.state]
        or record.line_rich_menu_id not in on_line
    ]
    report.unchanged = [menu.state for menu in definitions if menu not in stale]

    rollback = _Rollback(line)
    try:
        for menu in stale:
            menu_id = line.create_rich_menu(menu.request())
            rollback.created.append(menu_id)
            line.upload_rich_menu_image(menu_id, images[menu.state])
            report.created[menu.state] = menu_id
        live = {state: record.line_rich_menu_id for state, record in records.items()} | report.created
        for menu in definitions:
            if menu.alias_id is None:
                continue
            current = line.get_rich_menu_alias(menu.alias_id)
            if current == live[menu.state]:
                continue
            if current is None:
                line.create_rich_menu_alias(menu.alias_id, live[menu.state])
            else:
                line.update_rich_menu_alias(menu.alias_id, live[menu.state])
            rollback.aliases.append((menu.alias_id, current))
            report.changes.append(f"alias {menu.alias_id} -> {live[menu.state]}")
        if line.get_default_rich_menu() != live[GUEST]:
            line.set_default_rich_menu(live[GUEST])
            report.changes.append(f"default menu -> {live[GUEST]}")
    except BaseException:
        rollback.undo()
        raise

    replaced: list[str] = []
    for menu in stale:
        record = records.get(menu.state)
        if record is None:
            record = RichMenuDeployment(state=menu.state, line_rich_menu_id=report.created[menu.state])
            session.add(record)
        elif record.line_rich_menu_id != report.created[menu.state]:
            replaced.append(record.line_rich_menu_id)
        record.line_rich_menu_id = report.created[menu.state]
        record.content_hash = hashes[menu.state]
        record.deployed_at = now
    session.flush()

    for menu_id in replaced:
        if menu_id not in on_line:
            continue
        linked = _members_on(session, menu_id)
        if linked:
            report.kept[menu_id] = linked
            continue
        _delete_quietly(line, menu_id, report)
    return report


def _members_on(session: Session, menu_id: str) -> int:
    linked = select(LineUser.id).where(LineUser.applied_rich_menu_id == menu_id, ~LineUser.is_blocked)
    return len(session.scalars(linked).all())


def _delete_quietly(line: LineClient, menu_id: str, report: DeployReport) -> None:
    """Delete a replaced menu; failing is not worth undoing a deploy (relink retries the clean-up)."""
    try:
        line.delete_rich_menu(menu_id)
    except Exception:
        log.exception("replaced rich menu %s not deleted", menu_id)
    else:
        report.deleted.append(menu_id)


class Pacer:
    """Spaces calls at least 1/rate seconds apart."""

    def __init__(
        self,
        per_second: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = 1.0 / per_second
        self.clock = clock
        self.sleep = sleep
        self._last: float | None = None

    def wait(self) -> None:
        if self._last is not None:
            remaining = self._last + self.interval - self.clock()
            if remaining > 0:
                self.sleep(remaining)
        self._last = self.clock()


@dataclass
class RelinkReport:
    menu_id: str | None
    linked: int = 0
    requests: int = 0
    deleted: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        if self.menu_id is None:
            return ["no member menu is deployed; run `omo richmenu deploy` first"]
        lines = [f"linked {self.linked} members to {self.menu_id} in {self.requests} bulk requests"]
        lines += [f"deleted replaced menu {menu_id}" for menu_id in self.deleted]
        return lines


def relink(line: LineClient, session: Session, *, pacer: Pacer | None = None) -> RelinkReport:
    """Link every bound, unblocked member not yet on the deployed member menu to it, 500 to a bulk call, paced;
    then delete replaced menus of ours that nobody is linked to any more."""
    pacer = pacer or Pacer(BULK_LINK_REQUESTS_PER_SECOND)
    menu_id = session.scalar(select(RichMenuDeployment.line_rich_menu_id).where(RichMenuDeployment.state == MEMBER))
    report = RelinkReport(menu_id)
    if menu_id is None:
        return report
    users = session.scalars(
        select(LineUser)
        .where(
            LineUser.rich_menu_state == "member",
            ~LineUser.is_blocked,
            LineUser.applied_rich_menu_id.is_(None) | (LineUser.applied_rich_menu_id != menu_id),
        )
        .order_by(LineUser.id)
    ).all()
    for start in range(0, len(users), MAX_BULK_LINK_USERS):
        batch = users[start : start + MAX_BULK_LINK_USERS]
        pacer.wait()
        line.bulk_link_rich_menu([user.line_user_id for user in batch], menu_id)
        for user in batch:
            user.applied_rich_menu_id = menu_id
        session.flush()
        report.requests += 1
        report.linked += len(batch)

    deployed = set(session.scalars(select(RichMenuDeployment.line_rich_menu_id)))
    applied = select(LineUser.applied_rich_menu_id).where(~LineUser.is_blocked)
    in_use = set(session.scalars(applied))
    for old_id, name in line.list_rich_menus().items():
        if name.startswith(MENU_NAME_PREFIX) and old_id not in deployed and old_id not in in_use:
            line.delete_rich_menu(old_id)
            report.deleted.append(old_id)
    return report
