"""Task-queue jobs, run by the worker (`omo worker`). Each is thin: it opens a unit of work and calls one service.

Periodic jobs are written in the brand's local time (settings.TIMEZONE, Asia/Taipei by default): `local_crontab`
checks Huey's UTC clock against the brand's wall clock, so "09:00" is nine in the morning where the stores are.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from huey import crontab
from sqlalchemy import select

from bot import campaign_runner, delivery
from bot.event_processing import process_event
from bot.queue import huey
from bot.runtime import Runtime, get_runtime
from bot.services.engagement import reminders
from bot.services.marketing import campaign_start, campaigns, rfm, tags
from bot.services.membership import menu_state
from bot.services.messaging import backlog, outbox
from bot.services.refusals import Refused
from bot.services.rewards import coupon_jobs, point_expiry, stamps, tiers
from bot.uow import unit_of_work
from models import WebhookEvent

log = logging.getLogger(__name__)

STALE_AFTER = timedelta(seconds=60)


def local_crontab(*, hour: int, minute: int, day: int | None = None) -> Callable[[datetime], bool]:
    """A Huey schedule at the brand's local wall-clock time (a day of the month too, when given)."""
    local_match = crontab(minute=str(minute), hour=str(hour), day=str(day) if day is not None else "*")

    def matches(utc_now: datetime) -> bool:
        local = utc_now.replace(tzinfo=UTC).astimezone(get_runtime().settings.tz).replace(tzinfo=None)
        return bool(local_match(local))

    return matches


# Under a backlog an event whose reply token has gone stale steps aside for fresher ones (its answer will be a push
# anyway), up to this many times, this many seconds each: at most a minute, so it is never starved.
MAX_DEFERRALS = 10
DEFER_SECONDS = 6


@huey.task(retries=3, retry_delay=5)
def process_webhook_event(inbox_id: int, received_at: float | None = None, deferrals: int = 0) -> None:
    """Handle a stored webhook event, then send its replies at once (reply tokens are short-lived).

    `received_at` (Unix seconds) is when the webhook took the event: one whose reply token is already too old to use
    waits behind the queue's other work while there is some, so a backlog spends its fresh tokens first."""
    runtime = get_runtime()
    if received_at is not None and deferrals < MAX_DEFERRALS and _stale_behind_a_backlog(runtime, received_at):
        process_webhook_event.schedule((inbox_id, received_at, deferrals + 1), delay=DEFER_SECONDS)
        return
    policy = delivery.DeliveryPolicy.from_settings(runtime.settings)
    work = process_event(runtime, inbox_id)
    for message in work.claimed:
        delivery.deliver_claimed(runtime.sessions, runtime.line, message, runtime.clock.now(), policy)
    for outbound_id in work.outbox_ids:
        delivery.deliver(runtime.sessions, runtime.line, outbound_id, runtime.clock.now(), policy)
    for line_user_id in work.menu_users:
        delivery.apply_rich_menu(runtime.sessions, runtime.line, line_user_id)


@huey.task()
def apply_rich_menu(line_user_id: str) -> None:
    """Link the rich menu the user's state asks for."""
    runtime = get_runtime()
    delivery.apply_rich_menu(runtime.sessions, runtime.line, line_user_id)


@huey.task()
def deliver_message(outbound_id: int) -> None:
    """Send one outbox message."""
    runtime = get_runtime()
    policy = delivery.DeliveryPolicy.from_settings(runtime.settings)
    delivery.deliver(runtime.sessions, runtime.line, outbound_id, runtime.clock.now(), policy)


@huey.periodic_task(crontab(minute="*"))
def sweep_stalled_work() -> None:
    """Nothing recorded is lost: events and messages left behind by a crash or a failed enqueue run again, and
    messages waiting out a LINE outage are tried when their next attempt is due. Newest first: under a backlog the
    events whose reply tokens are still fresh are answered before those that will be pushes anyway. Logs the backlog
    (the numbers /healthz?detail=1 shows)."""
    runtime = get_runtime()
    now = runtime.clock.now()
    with runtime.sessions() as session:
        stalled_events = list(
            session.scalars(
                select(WebhookEvent.id)
                .where(WebhookEvent.status == "pending", WebhookEvent.created_at < now - STALE_AFTER)
                .order_by(WebhookEvent.id.desc())
                .limit(500)
            )
        )
        stalled_messages = outbox.due_for_delivery(session, now, STALE_AFTER)
        menus_to_fix = menu_state.users_needing_menu_change(session)
        report = backlog.backlog_report(session, now)
    log.info("backlog: queue %s, line %s, %s", queue_depth(), runtime.line.breaker.state, report)
    for inbox_id in stalled_events:
        process_webhook_event(inbox_id)
    for outbound_id in stalled_messages:
        deliver_message(outbound_id)
    for line_user_id in menus_to_fix:
        apply_rich_menu(line_user_id)
    if stalled_events or stalled_messages:
        log.info("re-queued %d events and %d messages", len(stalled_events), len(stalled_messages))


def _stale_behind_a_backlog(runtime: Runtime, received_at: float) -> bool:
    """Whether the event's reply token can no longer be used while other work waits in the queue."""
    age = runtime.clock.now().timestamp() - received_at
    return age > outbox.REPLY_TOKEN_USABLE_FOR.total_seconds() and (queue_depth() or 0) > 0


def queue_depth() -> int | None:
    """Tasks waiting in the queue (None when the queue cannot say)."""
    try:
        return int(huey.pending_count())
    except Exception:  # a queue that cannot be counted is no reason to fail the sweep or the health check
        log.warning("queue depth unavailable", exc_info=True)
        return None


@huey.periodic_task(local_crontab(hour=0, minute=5))
def expire_due_points() -> None:
    """Daily, just after midnight: post the `expire` entry of every member whose points have passed their expiry."""
    runtime = get_runtime()
    with runtime.sessions() as session:
        member_ids = point_expiry.members_with_points_due(session, runtime.clock.now())
    expired = 0
    for member_id in member_ids:  # one unit of work per member: one member's problem does not stop the others
        try:
            with unit_of_work(runtime) as uow:
                expired += point_expiry.expire_points(uow.session, member_id, uow.now) is not None
        except Refused:
            log.exception("points of member %s could not be expired", member_id)
    if expired:
        log.info("expired points of %d members", expired)


@huey.periodic_task(local_crontab(hour=10, minute=0))
def remind_expiring_points() -> None:
    """Daily at 10:00: tell members whose points expire within 30 days, once per expiry date."""
    with unit_of_work(get_runtime()) as uow:
        point_expiry.remind_expiring_points(uow.session, uow.now, uow.settings.tz)


@huey.periodic_task(local_crontab(day=1, hour=10, minute=30))
def review_tiers_monthly() -> None:
    """Monthly (the 1st, 10:30): move members whose rolling 12-month spend fell below their tier down one step."""
    with unit_of_work(get_runtime()) as uow:
        changes = tiers.monthly_review(uow.session, uow.now, uow.settings.tz)
    log.info("monthly tier review: %d members changed tier", len(changes))


@huey.periodic_task(local_crontab(hour=9, minute=0))
def issue_birthday_coupons() -> None:
    """Daily at 09:00 (birthday wishes in the morning, not at midnight): each silver and gold member whose birthday
    is today gets their birthday coupon, once a year."""
    with unit_of_work(get_runtime()) as uow:
        issued = coupon_jobs.issue_birthday_coupons(uow.session, uow.now, uow.settings.tz)
    log.info("birthday coupons: %d issued", issued)


@huey.periodic_task(local_crontab(hour=9, minute=30))
def remind_expiring_coupons() -> None:
    """Daily at 09:30: remind members of unused coupons whose last day is three days away (once per coupon)."""
    with unit_of_work(get_runtime()) as uow:
        coupon_jobs.remind_expiring_coupons(uow.session, uow.now, uow.settings.tz)


@huey.periodic_task(local_crontab(hour=0, minute=10))
def expire_stamp_cards() -> None:
    """Daily at 00:10: close the stamp cards past their expiry; their stamps expire with them."""
    with unit_of_work(get_runtime()) as uow:
        closed = stamps.expire_stamp_cards(uow.session, uow.now, uow.settings.tz)
    if closed:
        log.info("closed %d expired stamp cards", closed)


@huey.periodic_task(crontab(minute="0,30"))
def remind_checkin_streaks() -> None:
    """Every half hour: from the brand's reminder time (20:00 by default) until 22:00 local, remind the members who
    asked for it and whose check-in streak ends unless they check in today (once a day each)."""
    with unit_of_work(get_runtime()) as uow:
        reminded = reminders.remind_streaks_at_risk(uow.session, uow.now, uow.settings.tz)
    if reminded:
        log.info("check-in reminders: %d members", reminded)


@huey.periodic_task(crontab(minute="*"))
def send_due_campaigns() -> None:
    """Every minute: start the campaigns whose time has come (none in the quiet hours, 22:00-09:00 local) and resume
    those whose start stopped (a worker died mid-way), each in its own steps (bot/campaign_runner.py); their outbox
    rows are delivered once written (the sweep re-sends any a dead worker left). A campaign that fails to start stays
    scheduled, one that fails mid-way is resumed: both are tried again next minute. Then LINE is asked how each
    unfinished narrowcast is going."""
    runtime = get_runtime()
    now = runtime.clock.now()
    with runtime.sessions() as session:
        due = campaigns.due_campaigns(session, now, runtime.settings.tz)
        stalled = campaign_start.stalled_preparations(session, now)
    for campaign_id in stalled + due:
        try:
            started = (
                campaign_runner.resume(runtime, campaign_id)
                if campaign_id in stalled
                else campaign_runner.start(runtime, campaign_id)
            )
        except Exception:  # one campaign's problem does not hold back the others; it is tried again next minute
            log.exception("campaign %s could not be started", campaign_id)
            continue
        if started is not None:
            log.info("campaign %s: %d outbox rows queued", campaign_id, len(started.queued))
    try:
        campaign_runner.poll_narrowcasts(runtime)
    except Exception:  # LINE not answering: asked again next minute
        log.exception("narrowcast progress could not be read")


@huey.periodic_task(local_crontab(hour=2, minute=30))
def refresh_segment_facts() -> None:
    """Nightly at 02:30: the RFM groups computed again for every member, then every rule tag brought in line with
    its segment (gains and losses recorded), so segments on RFM groups and tags read stored rows."""
    with unit_of_work(get_runtime()) as uow:
        members = rfm.compute_rfm(uow.session, uow.now, uow.settings.tz)
    with unit_of_work(get_runtime()) as uow:
        evaluations = tags.evaluate_rule_tags(uow.session, uow.now, uow.settings.tz)
    log.info("RFM groups for %d members; %d rule tags evaluated", members, len(evaluations))
