"""Points in the chat: the balance, the tier and what the next one needs, the latest ledger entries, and points
about to expire."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from bot.i18n import _
from bot.services.membership import members
from bot.services.rewards.point_expiry import REMIND_DAYS_BEFORE, points_expiring
from bot.services.rewards.tiers import TIERS, TIERS_BY_CODE, rolling_spend
from handlers.context import HandlerContext, Replies
from handlers.membership import invitation_for
from handlers.messages import BRAND_GREEN, GREY, flex, member_shortcuts
from handlers.routing import action
from models import Member, PointEntry

MINUS_RED = "#E53935"
LATEST = 5


def _now() -> datetime:
    return datetime.now(UTC)


@action("points")
def show_points(ctx: HandlerContext, params: dict[str, str]) -> Replies:
    """A member gets their points card; anyone else the invitation to join or bind."""
    member = members.member_of(ctx.session, ctx.line_user)
    if member is None:
        return invitation_for(ctx)
    card = points_bubble(ctx, member, _now())
    return [flex(_("我的點數", ctx.language), card)]


def next_tier_text(ctx: HandlerContext, member: Member, at: datetime) -> str:
    """What the next tier needs (rolling 12-month spend), or that the member is at the top."""
    tier = TIERS_BY_CODE.get(member.tier)
    if tier is None:
        return ""
    higher = [t for t in TIERS if t.threshold > tier.threshold]
    if not higher:
        return _("你已是最高等級，感謝你的支持！", ctx.language)
    target = min(higher, key=lambda t: t.threshold)
    needed = max(0, target.threshold - rolling_spend(ctx.session, member.id, at))
    return _(
        "近 12 個月再消費 NT${amount} 即可升級為{tier}",
        ctx.language,
        amount=f"{needed:,}",
        tier=_(target.label, ctx.language),
    )


def _note(text: str, color: str) -> dict[str, Any]:
    return {"type": "text", "text": text, "size": "sm", "color": color, "wrap": True}


def _entry_row(ctx: HandlerContext, entry: PointEntry) -> dict[str, Any]:
    day = entry.created_at.astimezone(ctx.settings.tz)
    sign = "+" if entry.points >= 0 else "−"
    return {
        "type": "box",
        "layout": "horizontal",
        "spacing": "sm",
        "contents": [
            {"type": "text", "text": f"{day:%m/%d}", "size": "sm", "color": GREY, "flex": 2},
            {"type": "text", "text": _(entry.reason, ctx.language), "size": "sm", "flex": 5, "wrap": True},
            {
                "type": "text",
                "text": f"{sign}{abs(entry.points):,}",
                "size": "sm",
                "weight": "bold",
                "align": "end",
                "color": BRAND_GREEN if entry.points >= 0 else MINUS_RED,
                "flex": 3,
            },
        ],
    }


def _expiring(ctx: HandlerContext, member_id: int, at: datetime) -> list[dict[str, Any]]:
    horizon = at + timedelta(days=REMIND_DAYS_BEFORE)
    points = points_expiring(ctx.session, member_id, horizon)
    if points <= 0:
        return []
    first = ctx.session.scalar(
        select(func.min(PointEntry.expires_at)).where(
            PointEntry.member_id == member_id, PointEntry.points > 0, PointEntry.expires_at > at
        )
    )
    day = (first if first is not None else horizon).astimezone(ctx.settings.tz).date()
    text = _("{points} 點將於 {date} 到期，記得使用喔！", ctx.language, points=f"{points:,}", date=day.isoformat())
    return [_note(text, MINUS_RED)]


def points_bubble(ctx: HandlerContext, member: Member, at: datetime) -> dict[str, Any]:
    """The balance (cached), the tier and what the next needs, the latest entries, points expiring soon."""
    language = ctx.language
    balance = members.points_balance(ctx.session, member.id)
    tier = TIERS_BY_CODE.get(member.tier)
    latest = ctx.session.scalars(
        select(PointEntry)
        .where(PointEntry.member_id == member.id)
        .order_by(PointEntry.created_at.desc(), PointEntry.id.desc())
        .limit(LATEST)
    ).all()
    next_tier = next_tier_text(ctx, member, at)
    history = [_entry_row(ctx, entry) for entry in latest] or [
        {"type": "text", "text": _("還沒有點數紀錄", language), "size": "sm", "color": GREY}
    ]
    return {
        "type": "bubble",
        "header": {
            "type": "box",
            "layout": "vertical",
            "backgroundColor": BRAND_GREEN,
            "contents": [
                {"type": "text", "text": _("我的點數", language), "color": "#FFFFFF", "size": "sm"},
                {
                    "type": "text",
                    "text": _("{points} 點", language, points=f"{balance:,}"),
                    "color": "#FFFFFF",
                    "weight": "bold",
                    "size": "3xl",
                },
            ],
        },
        "body": {
            "type": "box",
            "layout": "vertical",
            "spacing": "md",
            "contents": [
                {
                    "type": "text",
                    "text": _(tier.label, language) if tier else member.tier,
                    "weight": "bold",
                    "size": "md",
                },
                *([_note(next_tier, GREY)] if next_tier else []),
                *_expiring(ctx, member.id, at),
                {"type": "separator"},
                {"type": "text", "text": _("最近紀錄", language), "weight": "bold", "size": "sm"},
                *history,
            ],
        },
        "footer": {
            "type": "box",
            "layout": "vertical",
            "spacing": "sm",
            "contents": [
                *member_shortcuts(language),
            ],
        },
    }
