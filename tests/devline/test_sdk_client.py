"""line-bot-sdk v3, pointed at the local LINE platform over real HTTP, gets LINE's answers."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import pytest
from flask import Flask
from linebot.v3.messaging import (
    ApiClient,
    ApiException,
    Configuration,
    MessagingApi,
    MessagingApiBlob,
    PushMessageRequest,
    ReplyMessageRequest,
    RichMenuRequest,
    TextMessage,
)
from werkzeug.serving import make_server

HELLO = TextMessage(text="今天買麵包送點數 🍞")


@pytest.fixture
def sdk(devline_app: Flask) -> Iterator[ApiClient]:
    server = make_server("127.0.0.1", 0, devline_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    configuration = Configuration(host=f"http://127.0.0.1:{server.port}/dev/line", access_token="t")
    with ApiClient(configuration) as client:
        yield client
    server.shutdown()


def test_the_sdk_replies_and_pushes_and_reads_sent_message_ids(sdk, platform):
    user = platform.create_user("阿明", friend=True)
    token = platform.build_event("message", user, text="嗨")["replyToken"]
    api = MessagingApi(sdk)

    replied = api.reply_message(ReplyMessageRequest(reply_token=token, messages=[HELLO]))
    pushed = api.push_message(PushMessageRequest(to=user, messages=[HELLO]), x_line_retry_key=str(uuid.uuid4()))

    assert replied.sent_messages[0].id.isdigit() and pushed.sent_messages[0].quote_token
    assert platform.bot_messages(user) == [{"type": "text", "text": HELLO.text}] * 2


def test_the_sdk_sees_a_used_reply_token_as_a_400(sdk, platform):
    token = platform.build_event("follow", platform.create_user("阿明"))["replyToken"]
    api = MessagingApi(sdk)
    api.reply_message(ReplyMessageRequest(reply_token=token, messages=[HELLO]))

    with pytest.raises(ApiException) as refused:
        api.reply_message(ReplyMessageRequest(reply_token=token, messages=[HELLO]))

    assert refused.value.status == 400 and "Invalid reply token" in refused.value.body


def test_the_sdk_deploys_a_rich_menu_with_its_image_and_links_it(sdk, platform, image):
    api, blob = MessagingApi(sdk), MessagingApiBlob(sdk)
    definition = {
        "size": {"width": 2500, "height": 843},
        "selected": True,
        "name": "會員選單",
        "chatBarText": "會員選單",
        "areas": [
            {"bounds": {"x": 0, "y": 0, "width": 2500, "height": 843}, "action": {"type": "postback", "data": "a"}}
        ],
    }

    menu_id = api.create_rich_menu(RichMenuRequest.from_dict(definition)).rich_menu_id
    blob.set_rich_menu_image(menu_id, body=bytearray(image(2500, 843)), _headers={"Content-Type": "image/png"})
    api.set_default_rich_menu(menu_id)

    assert api.get_default_rich_menu_id().rich_menu_id == menu_id
    assert platform.rich_menu_for(platform.create_user("小美")) == menu_id
    assert api.get_rich_menu(menu_id).chat_bar_text == "會員選單"


def test_the_sdk_reads_profiles_and_link_tokens(sdk, platform):
    user = platform.create_user("小美", language="ja", friend=True)
    api = MessagingApi(sdk)

    profile = api.get_profile(user)
    token = api.issue_link_token(user).link_token

    assert (profile.display_name, profile.language, profile.picture_url) == ("小美", "ja", None)
    assert platform.consume_link_token(token) == user
