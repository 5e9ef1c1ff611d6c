"""GET /dev/sms: the text messages the development SMS backend kept, for a developer to read the codes."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify

from bot.services.membership.phones import mask_phone
from bot.sms import DevSmsBackend

bp = Blueprint("dev_sms", __name__)


@bp.get("/dev/sms")
def sent_messages() -> Response:
    backend = current_app.extensions["sms"]
    kept = backend.messages() if isinstance(backend, DevSmsBackend) else []
    return jsonify({"messages": [{"to": mask_phone(phone), "text": text} for phone, text in kept]})
