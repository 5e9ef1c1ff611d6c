"""The marketer's campaign pages: the list with each campaign's progress, the compose form with a preview of the
rendered message and the audience it would reach now, a campaign's page, and cancelling one that has not started.

Campaigns are started by the minute job (bot.tasks.send_due_campaigns), never by a request: "send now" schedules the
campaign for this minute, and the quiet hours (22:00-09:00) hold it until 09:00."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Blueprint, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from bot.services.marketing import campaign_narrowcast, campaigns
from bot.services.marketing.campaign_messages import CampaignInvalid, Personal, render, validate_spec
from bot.services.marketing.definition import DefinitionError
from bot.services.marketing.segments import audience_for_marketing, count
from bot.services.messaging.outbox import queue_push
from bot.uow import UnitOfWork
from bot.web.backoffice import message_page, render_page, staff_page, t
from models import Campaign, CouponTemplate, LineUser, Segment, Staff

bp = Blueprint("campaigns", __name__, url_prefix="/staff/console/campaigns")

NOTICE_KEY = "campaign_notice"
NOT_FOUND = "找不到這個推播活動"
BAD_NUMBER = "比例請填 0 到 100 的整數"
BAD_TIME = "請輸入正確的排程時間（例如 2026-12-01 10:00）"
SCHEDULED = "已排程推播活動「{name}」"
SCHEDULED_NOW = "推播活動「{name}」將在一分鐘內開始發送"
WAITS_FOR_MORNING = "現在是勿擾時段（22:00–09:00），推播活動「{name}」將於 {at} 開始發送"
CANCELLED = "已取消推播活動「{name}」"
AWAITS_APPROVAL = "推播活動「{name}」的對象有 {n} 人，需由另一位行銷人員核准後才會發送"
APPROVED = "已核准推播活動「{name}」"
TEST_SENT = "已將預覽推送給 {name}（{n} 則訊息）"
BAD_TEST_USER = "找不到這位 LINE 使用者，或對方已封鎖官方帳號"
NOT_APPROVABLE = "這個推播活動不需要核准，或已核准、已取消"
NOT_CANCELLABLE = "這個推播活動已開始發送或已取消，無法取消"
PREVIEW_NAME, PREVIEW_POINTS = "王小明", 1234
STATUS_NAMES = {
    "pending_approval": "待核准",
    "scheduled": "排程中",
    "cancelled": "已取消",
    "sending": "發送中",
    "done": "已送出",
    "stuck": "發送延遲",
    "overdue": "逾時未發送",
    "refused": "未發送",
    "failed": "發送失敗",
}
DELIVERY_NAMES = {"multicast": "一般發送（每次 500 人）", "narrowcast": "LINE 受眾發送（narrowcast）"}
PHASE_NAMES = {"waiting": "準備中", "sending": "發送中", "succeeded": "已完成", "failed": "失敗"}


@dataclass
class Form:
    """The compose form as typed (shown again with the message when something is wrong)."""

    name: str = ""
    segment_id: str = ""
    kind: str = "text"
    text: str = ""
    title: str = ""
    body: str = ""
    button_label: str = ""
    button_url: str = ""
    image_url: str = ""
    b_text: str = ""
    holdout_percent: str = "10"
    b_percent: str = "50"
    coupon_template_id: str = ""
    when: str = "now"
    send_at: str = ""
    test_user: str = ""
    delivery: str = "multicast"

    @classmethod
    def posted(cls) -> Form:
        fields = cls.__dataclass_fields__
        return cls(**{name: (request.form.get(name) or "")[:6000] for name in fields if name in request.form})

    def variants(self) -> list[dict[str, Any]]:
        first: dict[str, Any]
        if self.kind == "card":
            first = {
                "kind": "card",
                "title": self.title,
                "body": self.body,
                "button_label": self.button_label,
                "button_url": self.button_url,
                "image_url": self.image_url,
            }
        else:
            first = {"kind": self.kind, "text": self.text}
        return [first, {"kind": "text", "text": self.b_text}] if self.b_text.strip() else [first]


def _whole(text: str, low: int, high: int) -> int:
    text = text.strip() or "0"
    if not text.isascii() or not text.isdigit() or not low <= int(text) <= high:
        raise CampaignInvalid(BAD_NUMBER)
    return int(text)


def _id(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) < 10 else None


def _draft(uow: UnitOfWork, form: Form) -> campaigns.Draft:
    segment_id = _id(form.segment_id)
    if segment_id is None:
        raise CampaignInvalid("請選擇名單")
    send_at: datetime | None = None
    if form.when == "later":
        try:
            local = datetime.fromisoformat(form.send_at.strip().replace(" ", "T"))
        except ValueError as exc:
            raise CampaignInvalid(BAD_TIME) from exc
        if local.tzinfo is not None or not 2000 <= local.year <= 9998:
            raise CampaignInvalid(BAD_TIME)
        send_at = local.replace(tzinfo=uow.settings.tz)
    coupon = form.coupon_template_id.strip()
    coupon_id = _id(coupon) if coupon else None
    if coupon and coupon_id is None:
        raise CampaignInvalid("找不到這張優惠券")
    return campaigns.Draft(
        name=form.name,
        segment_id=segment_id,
        variants=form.variants(),
        holdout_percent=_whole(form.holdout_percent, 0, 100),
        b_percent=_whole(form.b_percent, 0, 100),
        coupon_template_id=coupon_id,
        send_at=send_at,
        delivery=form.delivery.strip() or "multicast",
    )


def _choices(uow: UnitOfWork) -> dict[str, Any]:
    return {
        "segments": list(uow.session.scalars(select(Segment).order_by(Segment.name))),
        "templates": list(
            uow.session.scalars(select(CouponTemplate).where(CouponTemplate.is_active).order_by(CouponTemplate.code))
        ),
    }


def _reach(uow: UnitOfWork, segment_id: int) -> int:
    """How many members a marketing send to the segment would reach now (0 for an unknown segment)."""
    segment = uow.session.get(Segment, segment_id)
    if segment is None:
        return 0
    try:
        return count(uow.session, audience_for_marketing(uow.session, segment, uow.now, uow.settings.tz))
    except DefinitionError:  # its conditions name a deleted tag: it reaches nobody until they are changed
        return 0


def _preview(uow: UnitOfWork, draft: campaigns.Draft) -> dict[str, Any]:
    """The message as a sample member would get it (its LINE JSON) and how many it would reach now."""
    template = uow.session.get(CouponTemplate, draft.coupon_template_id) if draft.coupon_template_id else None
    personal = Personal(PREVIEW_NAME, PREVIEW_POINTS)
    rendered = [render(validate_spec(spec), personal, template) for spec in draft.variants]
    reach = _reach(uow, draft.segment_id)
    return {
        "variants": [
            {"messages": messages, "json": json.dumps(messages, ensure_ascii=False, indent=2)} for messages in rendered
        ],
        "reach": reach,
    }


def _test_push(uow: UnitOfWork, form: Form, draft: campaigns.Draft) -> ResponseReturnValue:
    """Push the preview (every variant, with the sample's personal fields) to one LINE user, e.g. the marketer's
    own account or a user of the local LINE platform; it is not a campaign send and counts for no cap."""
    preview = _preview(uow, draft)
    user_id = form.test_user.strip()
    line_user = None
    if re.fullmatch(r"U[0-9a-f]{32}", user_id):
        line_user = uow.session.scalars(select(LineUser).where(LineUser.line_user_id == user_id)).one_or_none()
    if line_user is None or line_user.is_blocked:
        return _compose(uow, form, 400, preview=preview, error=t(BAD_TEST_USER))
    messages = [message for variant in preview["variants"] for message in variant["messages"]]
    rows = queue_push(uow.session, user_id, messages)
    uow.send_after_commit(rows)
    name = line_user.display_name or user_id
    return _compose(uow, form, preview=preview, notice=t(TEST_SENT, name=name, n=len(messages)))


def _compose(uow: UnitOfWork, form: Form, status: int = 200, **context: Any) -> ResponseReturnValue:
    context.setdefault("devline", uow.settings.dev_line_enabled)
    return render_page("staff/campaigns/compose.html", status, form=form, **_choices(uow), **context)


@bp.route("/new", methods=["GET", "POST"], endpoint="new")
@staff_page("marketer")
def compose(uow: UnitOfWork, staff: Staff) -> ResponseReturnValue:
    if request.method == "GET":
        return _compose(uow, Form())
    form = Form.posted()
    try:
        draft = _draft(uow, form)
        if request.form.get("action") == "preview":
            return _compose(uow, form, preview=_preview(uow, draft))
        if request.form.get("action") == "test_push":
            return _test_push(uow, form, draft)
        reach = _reach(uow, draft.segment_id)
        with uow.session.begin_nested():
            campaign = campaigns.create_campaign(
                uow.session,
                draft,
                staff_id=staff.id,
                at=uow.now,
                needs_approval=reach > uow.settings.campaign_approval_above,
                reach=reach,
            )
    except CampaignInvalid as invalid:
        return _compose(uow, form, 400, error=t(invalid.message))
    if campaign.status == "pending_approval":
        session[NOTICE_KEY] = t(AWAITS_APPROVAL, name=campaign.name, n=f"{reach:,}")
        return redirect(url_for("campaigns.detail", campaign_id=campaign.id))
    starts = campaigns.quiet_hours_end(campaign.send_at, uow.settings.tz)
    if starts != campaign.send_at:
        at = starts.astimezone(uow.settings.tz).strftime("%Y-%m-%d %H:%M")
        notice = t(WAITS_FOR_MORNING, name=campaign.name, at=at)
    else:
        notice = t(SCHEDULED_NOW if draft.send_at is None else SCHEDULED, name=campaign.name)
    session[NOTICE_KEY] = notice
    return redirect(url_for("campaigns.detail", campaign_id=campaign.id))


def _status(uow: UnitOfWork, campaign: Campaign, progress: campaigns.Progress | None) -> str:
    if campaigns.is_overdue(campaign, uow.now, uow.settings.tz):
        return "overdue"
    if campaign.status == "started" and campaign.delivery == "narrowcast":
        rows = campaign_narrowcast.narrowcasts(uow.session, campaign.id)
        shown = campaign_narrowcast.shown_status(rows)
        return "stuck" if shown == "sending" and progress is not None and progress.stuck else shown
    if campaign.status != "started" or progress is None:
        return campaign.status
    if progress.stuck:
        return "stuck"
    return "sending" if progress.remaining else "done"


@bp.get("/", endpoint="list")
@staff_page("marketer")
def list_page(uow: UnitOfWork, staff: Staff) -> ResponseReturnValue:
    rows = []
    for campaign in uow.session.scalars(
        select(Campaign).order_by(Campaign.send_at.desc(), Campaign.id.desc()).limit(200)
    ):
        progress = campaigns.progress(uow.session, campaign, uow.now) if campaign.status == "started" else None
        rows.append({"campaign": campaign, "progress": progress, "shown_status": _status(uow, campaign, progress)})
    return render_page(
        "staff/campaigns/list.html",
        rows=rows,
        status_names=STATUS_NAMES,
        tz=uow.settings.tz,
        notice=session.pop(NOTICE_KEY, None),
    )


def _campaign(uow: UnitOfWork, campaign_id: int) -> Campaign | None:
    if not 0 < campaign_id < 2**31:  # beyond the id column's range: no such campaign (not a database error)
        return None
    return uow.session.get(Campaign, campaign_id)


@bp.get("/<int:campaign_id>", endpoint="detail")
@staff_page("marketer")
def detail(uow: UnitOfWork, staff: Staff, campaign_id: int) -> ResponseReturnValue:
    campaign = _campaign(uow, campaign_id)
    if campaign is None:
        return message_page(t(NOT_FOUND), 404)
    progress = campaigns.progress(uow.session, campaign, uow.now) if campaign.status == "started" else None
    template = uow.session.get(CouponTemplate, campaign.coupon_template_id) if campaign.coupon_template_id else None
    personal = Personal(PREVIEW_NAME, PREVIEW_POINTS)
    variants = [
        json.dumps(render(spec, personal, template), ensure_ascii=False, indent=2) for spec in campaign.variants
    ]
    return render_page(
        "staff/campaigns/detail.html",
        campaign=campaign,
        segment=uow.session.get(Segment, campaign.segment_id),
        coupon_template=template,
        creator=uow.session.get(Staff, campaign.created_by_staff_id) if campaign.created_by_staff_id else None,
        approver=uow.session.get(Staff, campaign.approved_by_staff_id) if campaign.approved_by_staff_id else None,
        may_approve=campaign.status == "pending_approval" and campaign.created_by_staff_id != staff.id,
        progress=progress,
        shown_status=_status(uow, campaign, progress),
        status_names=STATUS_NAMES,
        delivery_names=DELIVERY_NAMES,
        phase_names=PHASE_NAMES,
        narrowcasts=campaign_narrowcast.narrowcasts(uow.session, campaign.id),
        variants=variants,
        starts=campaigns.quiet_hours_end(campaign.send_at, uow.settings.tz),
        tz=uow.settings.tz,
        notice=session.pop(NOTICE_KEY, None),
    )


@bp.post("/<int:campaign_id>/cancel", endpoint="cancel")
@staff_page("marketer")
def cancel(uow: UnitOfWork, staff: Staff, campaign_id: int) -> ResponseReturnValue:
    campaign = _campaign(uow, campaign_id)
    if campaign is None:
        return message_page(t(NOT_FOUND), 404)
    if not campaigns.cancel_campaign(uow.session, campaign_id, staff_id=staff.id):
        return message_page(t(NOT_CANCELLABLE), 409)
    session[NOTICE_KEY] = t(CANCELLED, name=campaign.name)
    return redirect(url_for("campaigns.detail", campaign_id=campaign_id))


@bp.post("/<int:campaign_id>/approve", endpoint="approve")
@staff_page("marketer")
def approve(uow: UnitOfWork, staff: Staff, campaign_id: int) -> ResponseReturnValue:
    campaign = _campaign(uow, campaign_id)
    if campaign is None:
        return message_page(t(NOT_FOUND), 404)
    try:
        approved = campaigns.approve_campaign(uow.session, campaign_id, staff_id=staff.id, at=uow.now)
    except CampaignInvalid as invalid:
        return message_page(t(invalid.message), 403)
    if not approved:
        return message_page(t(NOT_APPROVABLE), 409)
    session[NOTICE_KEY] = t(APPROVED, name=campaign.name)
    return redirect(url_for("campaigns.detail", campaign_id=campaign_id))
