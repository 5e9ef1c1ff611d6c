"""Task-queue jobs. The worker process runs them: `huey_consumer bot.tasks.huey`."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from huey import crontab
from sqlalchemy import event, select
from sqlalchemy.orm import Session, SessionTransaction

from bot.db import transaction
from bot.event_processing import event_user, process_event
from bot.queue import huey
from bot.runtime import get_runtime
from bot.services.membership import menu_state
from bot.services.membership.members import MemberError
from bot.services.messaging import outbox
from bot.services.rewards import point_expiry, stamps, tiers
from bot.services.rewards.stamp_views import DELIVER_AFTER_COMMIT
from models import WebhookEvent

log = logging.getLogger(__name__)

STALE_AFTER = timedelta(seconds=60)


@huey.task(retries=3, retry_delay=5)
def process_webhook_event(inbox_id: int) -> None:
    """Handle a stored webhook event, then send its replies at once (reply tokens are short-lived)."""
    runtime = get_runtime()
    for outbound_id in process_event(runtime, inbox_id):
        outbox.deliver(runtime.sessions, runtime.line, outbound_id, datetime.now(UTC))
    line_user_id = event_user(runtime, inbox_id)
    if line_user_id:
        menu_state.apply_rich_menu(runtime.sessions, runtime.line, line_user_id)


@huey.task()
def apply_rich_menu(line_user_id: str) -> None:
    """Link the rich menu the user's state asks for."""
    runtime = get_runtime()
    menu_state.apply_rich_menu(runtime.sessions, runtime.line, line_user_id)


@huey.task()
def deliver_message(outbound_id: int) -> None:
    """Send one outbox message."""
    runtime = get_runtime()
    outbox.deliver(runtime.sessions, runtime.line, outbound_id, datetime.now(UTC))


@huey.periodic_task(crontab(minute="*"))
def sweep_stalled_work() -> None:
    """Nothing recorded is lost: events and messages left behind by a crash or a failed enqueue run again."""
    runtime = get_runtime()
    now = datetime.now(UTC)
    with runtime.sessions() as session:
        stalled_events = list(
            session.scalars(
                select(WebhookEvent.id)
                .where(WebhookEvent.status == "pending", WebhookEvent.created_at < now - STALE_AFTER)
                .order_by(WebhookEvent.id)
                .limit(500)
            )
        )
        stalled_messages = outbox.due_for_delivery(session, now, STALE_AFTER)
        menus_to_fix = menu_state.users_needing_menu_change(session)
    for inbox_id in stalled_events:
        process_webhook_event(inbox_id)
    for outbound_id in stalled_messages:
        deliver_message(outbound_id)
    for line_user_id in menus_to_fix:
        apply_rich_menu(line_user_id)
    if stalled_events or stalled_messages:
        log.info("re-queued %d events and %d messages", len(stalled_events), len(stalled_messages))


# Points, purchases and tiers. Huey's crontab is in UTC: 16:05 UTC is 00:05 in Asia/Taipei.


@huey.periodic_task(crontab(hour="16", minute="5"))
def expire_due_points() -> None:
    """Daily: post the `expire` entry of every member whose earned points have passed their expiry."""
    runtime = get_runtime()
    now = datetime.now(UTC)
    with runtime.sessions() as session:
        member_ids = point_expiry.members_with_points_due(session, now)
    expired = 0
    for member_id in member_ids:
        try:
            with transaction(runtime.sessions) as session:
                expired += point_expiry.expire_points(session, member_id, now) is not None
        except MemberError:
            log.exception("points of member %s could not be expired", member_id)
    if expired:
        log.info("expired points of %d members", expired)


@huey.periodic_task(crontab(hour="2", minute="0"))
def remind_expiring_points() -> None:
    """Daily (10:00 in Taipei): tell members whose points expire within 30 days, once per expiry date."""
    runtime = get_runtime()
    with transaction(runtime.sessions) as session:
        queued = point_expiry.remind_expiring_points(session, datetime.now(UTC), runtime.settings.tz)
    for outbound_id in queued:
        deliver_message(outbound_id)


@huey.periodic_task(crontab(day="1", hour="2", minute="30"))
def review_tiers_monthly() -> None:
    """Monthly: move members whose rolling 12-month spend fell below their tier down one step."""
    runtime = get_runtime()
    with transaction(runtime.sessions) as session:
        changes = tiers.monthly_review(session, datetime.now(UTC), runtime.settings.tz)
    log.info("monthly tier review: %d members changed tier", len(changes))


# Coupons. 01:00 UTC is 09:00 in Asia/Taipei: birthday wishes in the morning, not at midnight.


@huey.periodic_task(crontab(hour="1", minute="0"))
def issue_birthday_coupons() -> None:
    """Daily: each silver and gold member whose birthday is today gets their birthday coupon (once a year)."""
    from bot.services.rewards.coupon_jobs import issue_birthday_coupons as issue

    runtime = get_runtime()
    queued: list[int] = []
    with transaction(runtime.sessions) as session:
        issued = issue(session, datetime.now(UTC), runtime.settings.tz, queued=queued)
    for outbound_id in queued:
        deliver_message(outbound_id)
    log.info("birthday coupons: %d issued", issued)


@huey.periodic_task(crontab(hour="1", minute="30"))
def remind_expiring_coupons() -> None:
    """Daily: remind members of unused coupons whose last day is three days away (once per coupon)."""
    from bot.services.rewards.coupon_jobs import remind_expiring_coupons as remind

    runtime = get_runtime()
    queued: list[int] = []
    with transaction(runtime.sessions) as session:
        remind(session, datetime.now(UTC), runtime.settings.tz, queued=queued)
    for outbound_id in queued:
        deliver_message(outbound_id)


# Stamp cards, and the pushes services queue for sending once their transaction has committed.


@huey.periodic_task(crontab(hour="16", minute="10"))
def expire_stamp_cards() -> None:
    """Daily (00:10 in Taipei): close the stamp cards past their expiry; their stamps expire with them."""
    runtime = get_runtime()
    with transaction(runtime.sessions) as session:
        closed = stamps.expire_stamp_cards(session, datetime.now(UTC), runtime.settings.tz)
    if closed:
        log.info("closed %d expired stamp cards", closed)


@event.listens_for(Session, "after_commit")
def _deliver_after_commit(session: Session) -> None:
    """Send the outbox messages a service listed in `session.info[DELIVER_AFTER_COMMIT]`, now they are stored."""
    if session.in_nested_transaction():  # a SAVEPOINT was released: the transaction goes on
        return
    for outbound_id in session.info.pop(DELIVER_AFTER_COMMIT, []):
        try:
            deliver_message(outbound_id)
        except Exception:  # the sweep sends it later
            log.exception("outbox message %s could not be queued after commit", outbound_id)


@event.listens_for(Session, "after_transaction_end")
def _forget_after_rollback(session: Session, ended: SessionTransaction) -> None:
    """A rolled-back transaction's messages were never stored: forget them."""
    if ended.parent is None:
        session.info.pop(DELIVER_AFTER_COMMIT, None)
