"""The daily check-in in the chat: this week's strip (checked days, frozen days, today), the streak, the rewards
given now and the next milestone; the evening reminder; the reminder switch."""

from __future__ import annotations

from typing import Any

from linebot.v3.messaging import Message, QuickReply, TextMessage

from bot.chat.base import BRAND_GREEN, GREY, flex, postback_button
from bot.i18n import _
from bot.services.engagement.checkins import CheckinView, Reward, WeekDay

FROZEN_BLUE = "#3B82F6"
EMPTY_GREY = "#CCCCCC"
TODAY_BACKGROUND = "#E8F9EE"
WEEKDAYS = ("週一", "週二", "週三", "週四", "週五", "週六", "週日")


def reward_text(language: str, reward: Reward) -> str:
    """A milestone's reward in a few words."""
    if reward.kind == "points":
        return _("{points} 點", language, points=reward.amount)
    if reward.kind == "coupon":
        return _("優惠券「{name}」", language, name=_(reward.name or "", language))
    if reward.kind == "stamp":
        return _("「{name}」集點 {count} 點", language, name=_(reward.name or "", language), count=reward.amount)
    return _("補簽卡 {count} 張", language, count=reward.amount)


def _day_cell(language: str, day: WeekDay) -> dict[str, Any]:
    if day.checked:
        mark, colour = "●", BRAND_GREEN
    elif day.frozen:
        mark, colour = "❄", FROZEN_BLUE
    else:
        mark, colour = "○", EMPTY_GREY
    cell: dict[str, Any] = {
        "type": "box",
        "layout": "vertical",
        "flex": 1,
        "paddingAll": "4px",
        "cornerRadius": "8px",
        "contents": [
            {
                "type": "text",
                "text": _(WEEKDAYS[day.day.weekday()], language),
                "size": "xxs",
                "align": "center",
                "color": "#333333" if day.is_today else GREY,
                "weight": "bold" if day.is_today else "regular",
            },
            {"type": "text", "text": mark, "size": "lg", "align": "center", "color": colour},
            {
                "type": "text",
                "text": _("今天", language) if day.is_today else str(day.day.day),
                "size": "xxs",
                "align": "center",
                "color": BRAND_GREEN if day.is_today else GREY,
            },
        ],
    }
    if day.is_today:
        cell.update(backgroundColor=TODAY_BACKGROUND, borderColor=BRAND_GREEN, borderWidth="2px")
    return cell


def week_strip(language: str, week: list[WeekDay]) -> dict[str, Any]:
    """Monday to Sunday: ● checked in, ❄ kept by a streak freeze, ○ not (yet); today framed."""
    return {"type": "box", "layout": "horizontal", "spacing": "xs", "contents": [_day_cell(language, d) for d in week]}


def _line(text: str, color: str = "#333333", **style: Any) -> dict[str, Any]:
    return {"type": "text", "text": text, "size": "sm", "color": color, "wrap": True, **style}


def checkin_bubble(language: str, view: CheckinView) -> dict[str, Any]:
    """The check-in card: status, streak, the week, rewards now, the next milestone."""
    status = _("今天簽到成功！", language) if view.checked_in_now else _("今天已經簽到過囉，明天再來！", language)
    lines: list[dict[str, Any]] = []
    if view.freezes_used:
        lines.append(_line(_("已用 {count} 張補簽卡保住連續紀錄", language, count=view.freezes_used), FROZEN_BLUE))
    for milestone in view.rewards:
        reward = reward_text(language, milestone.reward)
        lines.append(
            _line(_("★ 連續 {day} 天達成！獲得 {reward}", language, day=milestone.day, reward=reward), weight="bold")
        )
    if view.next_milestone is not None:
        left = view.next_milestone.day - view.streak
        lines.append(
            _line(
                _(
                    "再簽到 {left} 天（連續第 {day} 天）可獲得 {reward}",
                    language,
                    left=left,
                    day=view.next_milestone.day,
                    reward=reward_text(language, view.next_milestone.reward),
                )
            )
        )
    else:
        lines.append(_line(_("所有連續簽到獎勵都已達成，繼續保持！", language)))
    if view.freezes_left:
        lines.append(_line(_("補簽卡：{count} 張（漏簽一天時自動使用）", language, count=view.freezes_left), GREY))
    return {
        "type": "bubble",
        "header": {
            "type": "box",
            "layout": "vertical",
            "backgroundColor": BRAND_GREEN,
            "contents": [
                {"type": "text", "text": _("每日簽到", language), "color": "#FFFFFF", "weight": "bold"},
                {"type": "text", "text": status, "color": "#FFFFFF", "size": "sm", "wrap": True},
            ],
        },
        "body": {
            "type": "box",
            "layout": "vertical",
            "spacing": "md",
            "contents": [
                {
                    "type": "text",
                    "text": _("連續簽到 {days} 天", language, days=view.streak),
                    "weight": "bold",
                    "size": "xl",
                    "align": "center",
                },
                week_strip(language, view.week),
                {"type": "separator"},
                *lines,
            ],
        },
        "footer": {
            "type": "box",
            "layout": "vertical",
            "spacing": "sm",
            "contents": [
                postback_button(_("幸運抽獎", language), "draw", style="primary"),
                _line(_("輸入「簽到提醒 開」，斷簽前一晚提醒您簽到", language), GREY, size="xs", align="center"),
            ],
        },
    }


def checkin_messages(language: str, view: CheckinView) -> list[Message]:
    alt = _("連續簽到 {days} 天", language, days=view.streak)
    return [flex(alt, checkin_bubble(language, view))]


def _checkin_quick_reply(language: str) -> QuickReply:
    label = _("每日簽到", language)
    return QuickReply.from_dict(
        {
            "items": [
                {
                    "type": "action",
                    "action": {"type": "postback", "label": label[:20], "data": "action=checkin", "displayText": label},
                }
            ]
        }
    )


def streak_at_risk(language: str, streak: int) -> list[Message]:
    """The evening reminder."""
    text = _(
        "您已連續簽到 {days} 天，今天還沒簽到喔！午夜前簽到就能保住紀錄。\n不想收到提醒？輸入「簽到提醒 關」",
        language,
        days=streak,
    )
    return [TextMessage(text=text, quickReply=_checkin_quick_reply(language))]


def reminders_switched(language: str, enabled: bool, reminder_time: str) -> list[Message]:
    if enabled:
        text = _("已開啟簽到提醒：連續簽到快中斷時，會在當天 {time} 左右提醒您。", language, time=reminder_time)
    else:
        text = _("已關閉簽到提醒。想再收到時，輸入「簽到提醒 開」。", language)
    return [TextMessage(text=text)]
