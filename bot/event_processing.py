"""The worker's side of the webhook: run one stored event's handler in one unit of work.

LINE is never called inside the transaction: a follow event's profile is fetched before it opens, and the replies
are written to the outbox and sent (by the caller) after it commits.
"""

from __future__ import annotations

import logging
from typing import Any

from linebot.v3.webhooks import Event, FollowEvent
from sqlalchemy import Row, Table, bindparam, case, update

from bot.chat.wire import to_json
from bot.i18n import language_for
from bot.line_client import LineDeliveryError, Profile
from bot.runtime import Runtime
from bot.services.membership.line_users import find_line_user, record_first_contact
from bot.services.membership.menu_state import wanted_menu
from bot.services.messaging import outbox
from bot.uow import AfterCommit, UnitOfWork, left_to_the_caller, unit_of_work
from handlers import HandlerContext, handle
from models import LineUser, WebhookEvent

log = logging.getLogger(__name__)

MAX_EVENT_ATTEMPTS = 5

_inbox: Table = WebhookEvent.__table__  # type: ignore[assignment]
# One statement takes a pending event (its row locked until the commit; a second taker finds it no longer pending)
# and settles it as its handler's success will leave it: the attempt counted, `done`, or `skipped` in standby. A
# failed handler rolls it back (_record_failure counts that attempt). Built once: the ORM's loading and flush of the
# row cost several times the statement.
_TAKE_EVENT = (
    update(_inbox)
    .where(_inbox.c.id == bindparam("inbox_id"), _inbox.c.status == "pending")
    .values(
        status=case((_inbox.c.mode == "active", "done"), else_="skipped"),
        processed_at=bindparam("at"),
        attempts=_inbox.c.attempts + 1,
    )
    .returning(_inbox.c.id, _inbox.c.mode, _inbox.c.event_type, _inbox.c.line_user_id)
    .returning(_inbox.c.occurred_at, _inbox.c.payload)
)
_SKIP_EVENT = update(_inbox).where(_inbox.c.id == bindparam("inbox_id")).values(status="skipped")


class _ProfileFirst(Exception):
    """The event needs the user's LINE profile (a follow, or a user the bot has no record of). LINE is never called
    inside a transaction, so the unit of work is rolled back, the profile fetched, and the event handled again."""

    def __init__(self, line_user_id: str) -> None:
        super().__init__(line_user_id)
        self.line_user_id = line_user_id


def _fetch_profile(runtime: Runtime, line_user_id: str) -> Profile | None:
    """A profile is nice to have, never awaited: None when LINE does not give it."""
    try:
        return runtime.line.get_profile(line_user_id)
    except LineDeliveryError as exc:
        log.warning("profile of a LINE user unavailable: %s", exc)
        return None


def process_event(runtime: Runtime, inbox_id: int) -> AfterCommit:
    """Handle one inbox event exactly once; returns the replies (outbox ids) and menu changes to carry out now."""
    profile: Profile | None = None
    profile_asked = False
    while True:
        try:
            with unit_of_work(runtime, after_commit=left_to_the_caller, claim_outbox=True) as uow:
                _handle(uow, inbox_id, profile, profile_asked)
        except _ProfileFirst as needed:
            profile, profile_asked = _fetch_profile(runtime, needed.line_user_id), True
            continue
        except Exception as exc:
            _record_failure(runtime, inbox_id, exc)
            raise
        return uow.after_commit


def _handle(uow: UnitOfWork, inbox_id: int, profile: Profile | None, profile_asked: bool) -> None:
    session = uow.session
    row = session.connection().execute(_TAKE_EVENT, {"inbox_id": inbox_id, "at": uow.now}).one_or_none()
    if row is None:
        return
    try:
        event = Event.from_dict(row.payload)
    except (ValueError, TypeError, KeyError):
        log.warning(
            "webhook event %s of type %r that line-bot-sdk cannot read kept unprocessed", inbox_id, row.event_type
        )
        session.connection().execute(_SKIP_EVENT, {"inbox_id": inbox_id})
        return
    line_user = find_line_user(session, row.line_user_id) if row.line_user_id else None
    if not profile_asked and _needs_profile(row, line_user):
        raise _ProfileFirst(row.line_user_id or "")
    if row.mode != "active":
        # In standby another channel answers this chat: record the event (settled `skipped`), send nothing.
        return
    if line_user is None and row.line_user_id and row.event_type not in ("follow", "unfollow"):
        line_user = record_first_contact(
            session,
            row.line_user_id,
            at=uow.now,
            display_name=profile.display_name if profile else None,
            picture_url=profile.picture_url if profile else None,
            language=profile.language if profile else None,
        )
    ctx = HandlerContext(
        uow=uow,
        line_user=line_user,
        language=language_for(line_user.language if line_user else None),
        profile=profile if isinstance(event, FollowEvent) else None,
    )
    replies = handle(ctx, event)
    if line_user is not None and wanted_menu(session, line_user) != line_user.applied_rich_menu_id:
        # Checked after each of the user's events, in this transaction: a menu left wrong by a bind elsewhere is put
        # right the next time they use the chat, and LINE (and another transaction) only when it differs.
        uow.after_commit.relink_menu(line_user.line_user_id)
    if not replies or not row.line_user_id:
        return
    payloads = [to_json(reply) for reply in replies]
    reply_token = getattr(event, "reply_token", None)
    if reply_token:
        queued = outbox.queue_reply(
            session,
            reply_token=reply_token,
            line_user_id=row.line_user_id,
            event_time=row.occurred_at,
            messages=payloads,
            webhook_event_id=row.id,
        )
    else:
        queued = outbox.queue_push(session, row.line_user_id, payloads, webhook_event_id=row.id)
    uow.send_after_commit(queued)


def _needs_profile(row: Row[Any], line_user: LineUser | None) -> bool:
    """A new friend's profile is stored with their follow; a user the bot has no record of is stored with theirs."""
    if not row.line_user_id or row.mode != "active" or row.event_type == "unfollow":
        return False
    return row.event_type == "follow" or line_user is None


def _record_failure(runtime: Runtime, inbox_id: int, exc: Exception) -> None:
    log.exception("webhook event %s failed", inbox_id)
    with unit_of_work(runtime) as uow:
        row = uow.session.get(WebhookEvent, inbox_id)
        if row is None:
            return
        row.attempts += 1
        row.error = f"{type(exc).__name__}: {exc}"[:2000]
        if row.attempts >= MAX_EVENT_ATTEMPTS:
            row.status = "failed"
