"""A chat message's JSON for LINE, built in one pass (bot/chat/wire.py), is exactly what line-bot-sdk's to_dict()
gives: for the bot's own messages and for a message using every kind of Flex component, action and option."""

from __future__ import annotations

from typing import Any

import pytest
from linebot.v3.messaging import (
    FlexContainer,
    FlexMessage,
    ImageMessage,
    Message,
    QuickReply,
    Sender,
    StickerMessage,
    TemplateMessage,
    TextMessage,
)

from bot.chat import base
from bot.chat.wire import to_json

ACTIONS: list[dict[str, Any]] = [
    {"type": "postback", "label": "集點卡", "data": "action=stamps", "displayText": "集點卡"},
    {"type": "postback", "label": "開啟", "data": "x=1", "inputOption": "openKeyboard", "fillInText": "推薦碼 "},
    {"type": "uri", "label": "官網", "uri": "https://example.com/?a=1&b=二", "altUri": {"desktop": "https://e.com/d"}},
    {"type": "message", "label": "說嗨", "text": "嗨"},
    {"type": "datetimepicker", "label": "日期", "data": "d", "mode": "date", "initial": "2026-11-30"},
    {"type": "clipboard", "label": "複製", "clipboardText": "ABCD-1234"},
]
QUICK_ACTIONS: list[dict[str, Any]] = [
    {"type": "camera", "label": "相機"},
    {"type": "cameraRoll", "label": "相簿"},
    {"type": "location", "label": "位置"},
    *ACTIONS[:2],
]

CAROUSEL: dict[str, Any] = {
    "type": "carousel",
    "contents": [
        {
            "type": "bubble",
            "size": "mega",
            "direction": "ltr",
            "header": {
                "type": "box",
                "layout": "horizontal",
                "background": {"type": "linearGradient", "angle": "90deg", "startColor": "#06C755", "endColor": "#FFF"},
                "contents": [
                    {"type": "icon", "url": "https://example.com/i.png", "size": "sm"},
                    {
                        "type": "text",
                        "contents": [{"type": "span", "text": "金卡", "weight": "bold", "color": "#AA8800"}],
                        "flex": 0,
                    },
                    {"type": "filler"},
                ],
            },
            "hero": {
                "type": "image",
                "url": "https://example.com/hero.png",
                "size": "full",
                "aspectRatio": "20:13",
                "aspectMode": "cover",
                "action": ACTIONS[2],
            },
            "body": {
                "type": "box",
                "layout": "vertical",
                "spacing": "md",
                "paddingAll": "12px",
                "offsetTop": "2px",
                "cornerRadius": "8px",
                "contents": [
                    {"type": "text", "text": "您好 <b>&amp;</b> {name}", "wrap": True, "maxLines": 3, "size": "lg"},
                    {"type": "separator", "margin": "md", "color": "#EEEEEE"},
                    {
                        "type": "box",
                        "layout": "baseline",
                        "action": ACTIONS[3],
                        "contents": [{"type": "text", "text": "0", "align": "end", "gravity": "center"}],
                    },
                    {"type": "text", "text": "🍞 x 3", "decoration": "line-through", "style": "italic"},
                ],
            },
            "footer": {
                "type": "box",
                "layout": "vertical",
                "contents": [
                    {"type": "button", "style": "primary", "height": "sm", "action": action} for action in ACTIONS
                ],
            },
            "styles": {"body": {"backgroundColor": "#FFFFFF", "separator": True}, "footer": {"separator": False}},
            "action": ACTIONS[0],
        },
        base.bubble("標題", "內文", [base.uri_button("網站", "https://example.com")]),
    ],
}


def _quick_reply() -> QuickReply:
    return QuickReply.from_dict(
        {"items": [{"type": "action", "imageUrl": "https://e.com/q.png", "action": a} for a in QUICK_ACTIONS]}
    )


def _messages() -> list[Message]:
    return [
        TextMessage(
            text="您好 $", quickReply=_quick_reply(), sender=Sender(name="小幫手", iconUrl="https://e.com/s.png")
        ),
        TextMessage.from_dict(
            {"type": "text", "text": "$ 您好", "emojis": [{"index": 0, "productId": "p", "emojiId": "001"}]}
        ),
        FlexMessage(altText="卡片", contents=FlexContainer.from_dict(CAROUSEL), quickReply=_quick_reply()),
        ImageMessage(originalContentUrl="https://e.com/o.png", previewImageUrl="https://e.com/p.png"),
        StickerMessage(packageId="446", stickerId="1988"),
        TemplateMessage.from_dict(
            {
                "type": "template",
                "altText": "確認",
                "template": {"type": "confirm", "text": "確定嗎？", "actions": [ACTIONS[3], ACTIONS[0]]},
            }
        ),
        TemplateMessage.from_dict(
            {
                "type": "template",
                "altText": "按鈕",
                "template": {"type": "buttons", "title": "標題", "text": "內文", "actions": ACTIONS[:4]},
            }
        ),
        *base.welcome("zh-TW", "小麥烘焙", "林小姐", returning=False),
        *base.menu("zh-TW", "小麥烘焙", is_member=True),
        *base.menu("en", "Wheat Bakery", is_member=False),
        *base.not_understood("zh-TW", "小麥烘焙"),
    ]


@pytest.mark.parametrize("index", range(len(_messages())))
def test_one_pass_json_equals_the_sdk_to_dict(index: int) -> None:
    message = _messages()[index]
    assert to_json(message) == message.to_dict()


def test_unset_fields_are_left_out_and_aliases_are_used() -> None:
    message = FlexMessage(altText="卡片", contents=FlexContainer.from_dict(base.bubble("標題", "內文", [])))
    wire = to_json(message)
    assert wire["altText"] == "卡片" and "alt_text" not in wire
    assert "quickReply" not in wire and "sender" not in wire
