"""The reference for the webhook benchmark: a bare line-bot-sdk v3 echo webhook (verify the signature, parse the
events, reply with the text), as the SDK's own examples build it, served by gunicorn like the bot.

    LINE_CHANNEL_SECRET=... LINE_API_BASE_URL=http://127.0.0.1:9100 gunicorn bench.echo_app:app
"""

from __future__ import annotations

import os

from flask import Flask, abort, request
from linebot.v3 import WebhookHandler
from linebot.v3.exceptions import InvalidSignatureError
from linebot.v3.messaging import ApiClient, Configuration, MessagingApi, ReplyMessageRequest, TextMessage
from linebot.v3.webhooks import MessageEvent, TextMessageContent

app = Flask(__name__)
handler = WebhookHandler(os.environ["LINE_CHANNEL_SECRET"])
configuration = Configuration(host=os.environ["LINE_API_BASE_URL"], access_token="bench-token")
api = MessagingApi(ApiClient(configuration))


@app.get("/healthz")
def health() -> str:
    return "ok"


@app.post("/callback")
def callback() -> str:
    signature = request.headers.get("X-Line-Signature", "")
    try:
        handler.handle(request.get_data(as_text=True), signature)
    except InvalidSignatureError:
        abort(400)
    return "OK"


@handler.add(MessageEvent, message=TextMessageContent)
def echo(event: MessageEvent) -> None:
    api.reply_message(
        ReplyMessageRequest(reply_token=event.reply_token, messages=[TextMessage(text=event.message.text)])
    )
