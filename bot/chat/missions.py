"""Missions in the chat: a carousel of the running missions with progress and what is left, the poll's options, the
invite link, the answers to an invite code or a poll answer, and the message pushed when a mission is completed."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from linebot.v3.messaging import Message, TextMessage

from bot.chat.base import BRAND_GREEN, GREY, flex, postback_button, uri_button
from bot.i18n import DEFAULT_LANGUAGE, _
from bot.services.engagement.invites import Claim, ClaimResult
from bot.services.engagement.mission_views import MissionReward, MissionView
from bot.services.engagement.polls import Answer

# LINE shows at most 12 bubbles in a carousel.
MAX_BUBBLES = 12
TRACK_GREY = "#E5E5E5"


def title_of(language: str, view: MissionView) -> str:
    """The mission's name in the member's language: its English name when one is set, else the zh-TW title."""
    if language != DEFAULT_LANGUAGE and view.title_en:
        return view.title_en
    return _(view.title, language)


def progress_text(language: str, view: MissionView) -> str:
    """How far the member is: "已來店 1 / 3 次", "已消費 NT$1,200 / NT$3,000"…"""
    value, target = min(view.value, view.target), view.target
    if view.kind == "visit_store":
        return _("已來店 {value} / {target} 次", language, value=value, target=target)
    if view.kind == "spend":
        return _("已消費 NT${value} / NT${target}", language, value=f"{value:,}", target=f"{target:,}")
    if view.kind == "redeem_coupon":
        return _("已使用優惠券 {value} / {target} 張", language, value=value, target=target)
    if view.kind == "checkin":
        return _("已簽到 {value} / {target} 天", language, value=value, target=target)
    if view.kind == "invite":
        return _("已邀請 {value} / {target} 位好友加入", language, value=value, target=target)
    return _("回答 1 題小問卷", language)


def left_text(language: str, view: MissionView) -> str:
    """What is left to do, or that it is done."""
    if view.completed:
        return _("已完成 ✓", language)
    left = view.left
    if view.kind == "visit_store":
        return _("還差 {left} 次來店", language, left=left)
    if view.kind == "spend":
        return _("還差 NT${left}", language, left=f"{left:,}")
    if view.kind == "redeem_coupon":
        return _("還差 {left} 張優惠券", language, left=left)
    if view.kind == "checkin":
        return _("還差 {left} 天簽到", language, left=left)
    if view.kind == "invite":
        return _("還差 {left} 位好友", language, left=left)
    return _("回答後即完成", language)


def reward_text(language: str, reward: MissionReward) -> str:
    if reward.coupon:
        return _("完成可得「{coupon}」", language, coupon=_(reward.coupon, language))
    if reward.plays:
        return _("完成可得 {plays} 次抽獎機會", language, plays=reward.plays)
    return _("完成可得 {points} 點", language, points=reward.points or 0)


def _line(text: str, color: str = GREY, **style: Any) -> dict[str, Any]:
    return {"type": "text", "text": text, "size": "sm", "color": color, "wrap": True, **style}


def _bar(view: MissionView) -> dict[str, Any]:
    percent = 100 if view.completed else min(100, view.value * 100 // view.target)
    filled: dict[str, Any] = {"type": "box", "layout": "vertical", "contents": [], "height": "8px"}
    filled |= {"width": f"{percent}%", "backgroundColor": BRAND_GREEN, "cornerRadius": "4px"}
    return {
        "type": "box",
        "layout": "vertical",
        "contents": [filled],
        "backgroundColor": TRACK_GREY,
        "height": "8px",
        "cornerRadius": "4px",
    }


def invite_share_url(language: str, brand: str, code: str, basic_id: str) -> str:
    """LINE's share picker with a message for friends: the link that opens the account's chat with the invite code
    typed in (LINE's oaMessage link; without the account's basic id, the code alone)."""
    typed = _("邀請碼 {code}", language, code=code)
    text = _(
        "我是 {brand} 的會員，邀請您一起加入！加入 LINE 好友後傳送「{typed}」，再加入會員就完成了。",
        language,
        brand=brand,
        typed=typed,
    )
    if basic_id:
        text += f"\nhttps://line.me/R/oaMessage/{quote(basic_id, safe='')}/?{quote(typed, safe='')}"
    return f"https://line.me/R/share?text={quote(text, safe='')}"


def _poll_button(language: str, view: MissionView, index: int, option: str) -> dict[str, Any]:
    label = _(option, language)
    return {
        "type": "button",
        "style": "secondary",
        "height": "sm",
        "action": {
            "type": "postback",
            "label": label[:20],
            "data": f"action=poll&mission={view.mission_id}&option={index}",
            "displayText": label,
        },
    }


def _buttons(language: str, view: MissionView, brand: str, basic_id: str) -> list[dict[str, Any]]:
    if view.completed:
        return []
    if view.kind in ("visit_store", "spend"):
        return [postback_button(_("會員條碼", language), "barcode", style="primary")]
    if view.kind == "redeem_coupon":
        return [postback_button(_("優惠券", language), "coupons", style="primary")]
    if view.kind == "checkin":
        return [postback_button(_("每日簽到", language), "checkin", style="primary")]
    if view.kind == "invite" and view.invite_code:
        url = invite_share_url(language, brand, view.invite_code, basic_id)
        return [uri_button(_("邀請好友", language), url, style="primary")]
    if view.kind == "poll" and view.answered_option is None:
        return [_poll_button(language, view, i, option) for i, option in enumerate(view.poll_options)]
    return []


def mission_bubble(language: str, view: MissionView, *, brand: str = "", basic_id: str = "") -> dict[str, Any]:
    """One mission: title, what to do, the progress bar, what is left, until when, and the reward."""
    if view.weekly:
        period = _("每週任務，本週期限 {date}", language, date=view.period_ends_on.isoformat())
    else:
        period = _("任務期限 {date}", language, date=view.period_ends_on.isoformat())
    body: list[dict[str, Any]] = []
    if view.description:
        body.append(_line(_(view.description, language), color="#333333"))
    if view.kind == "poll" and view.poll_question:
        body.append(_line(_(view.poll_question, language), color="#333333", weight="bold"))
        if view.answered_option is not None and view.answered_option < len(view.poll_options):
            answer = _(view.poll_options[view.answered_option], language)
            body.append(_line(_("您的回答：{answer}", language, answer=answer)))
    if view.kind == "invite" and view.invite_code:
        body.append(_line(_("您的邀請碼：{code}", language, code=view.invite_code), color="#333333", weight="bold"))
    body += [
        _line(progress_text(language, view), color="#333333"),
        _bar(view),
        _line(left_text(language, view), color=BRAND_GREEN if view.completed else "#333333", weight="bold"),
        {"type": "separator"},
        _line(reward_text(language, view.reward)),
        _line(period, size="xs"),
    ]
    bubble: dict[str, Any] = {
        "type": "bubble",
        "header": {
            "type": "box",
            "layout": "vertical",
            "backgroundColor": BRAND_GREEN,
            "contents": [
                {"type": "text", "text": title_of(language, view), "color": "#FFFFFF", "weight": "bold", "wrap": True}
            ],
        },
        "body": {"type": "box", "layout": "vertical", "spacing": "md", "contents": body},
    }
    buttons = _buttons(language, view, brand, basic_id)
    if buttons:
        bubble["footer"] = {"type": "box", "layout": "vertical", "spacing": "sm", "contents": buttons}
    return bubble


def missions(language: str, views: list[MissionView], *, brand: str, basic_id: str) -> list[Message]:
    """The running missions as a carousel, or that there are none."""
    if not views:
        return [TextMessage(text=_("目前沒有進行中的任務，有新任務時會在這裡通知您！", language))]
    bubbles = [mission_bubble(language, view, brand=brand, basic_id=basic_id) for view in views[:MAX_BUBBLES]]
    return [flex(_("每日任務", language), {"type": "carousel", "contents": bubbles})]


def completed(language: str, view: MissionView) -> list[Message]:
    """Pushed when a mission is completed: what was done and what it gave."""
    text = _("任務完成！「{title}」", language, title=title_of(language, view))
    reward = view.reward
    if reward.points:
        text += "\n" + _("已獲得 {points} 點，已存入您的點數。", language, points=reward.points)
    elif reward.coupon:
        text += "\n" + _("已獲得「{coupon}」，可在「優惠券」查看。", language, coupon=_(reward.coupon, language))
    elif reward.plays:
        text += "\n" + _("已獲得 {plays} 次抽獎機會，輸入「抽獎」試試手氣！", language, plays=reward.plays)
    else:
        text += "\n" + _("這次的獎勵已經發送完畢，感謝您的參與！", language)
    return [TextMessage(text=text)]


def invite_claimed(language: str, result: ClaimResult) -> list[Message]:
    """The answer to a friend who sent an invite code."""
    if result.outcome is Claim.ACCEPTED:
        name = result.inviter_name or _("您的朋友", language)
        card = {
            "type": "bubble",
            "body": {
                "type": "box",
                "layout": "vertical",
                "spacing": "md",
                "contents": [
                    {
                        "type": "text",
                        "text": _("已收到 {name} 的邀請！", language, name=name),
                        "weight": "bold",
                        "wrap": True,
                    },
                    _line(_("加入會員就完成邀請，點下方按鈕開始。", language), color="#555555"),
                ],
            },
            "footer": {
                "type": "box",
                "layout": "vertical",
                "contents": [postback_button(_("加入會員", language), "bind", style="primary")],
            },
        }
        return [flex(_("已收到 {name} 的邀請！", language, name=name), card)]
    texts = {
        Claim.UNKNOWN_CODE: _("找不到這個邀請碼，請確認後再傳一次。", language),
        Claim.OWN_CODE: _("這是您自己的邀請碼，請分享給還沒加入的朋友！", language),
        Claim.ALREADY_MEMBER: _("您已經是會員囉！邀請碼限新朋友使用，歡迎您也邀請朋友加入。", language),
        Claim.NOT_NEW: _("邀請碼限第一次加入好友的新朋友使用，謝謝您一直以來的支持！", language),
        Claim.ALREADY_CLAIMED: _("您已經使用過邀請碼了，每位朋友只能使用一次。", language),
    }
    return [TextMessage(text=texts[result.outcome])]


def poll_answered(language: str, answer: Answer) -> list[Message]:
    """The answer to a poll answer (a completed poll mission is also pushed as completed)."""
    texts = {
        Answer.RECORDED: _("感謝您的回答！", language),
        Answer.ALREADY_ANSWERED: _("您已經回答過這題囉，感謝您的參與！", language),
        Answer.CLOSED: _("這份問卷已經結束了，感謝您的參與！", language),
        Answer.BAD_OPTION: _("找不到這個選項，請從「每日任務」重新選擇。", language),
    }
    return [TextMessage(text=texts[answer])]
