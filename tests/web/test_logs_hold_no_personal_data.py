"""Whatever the app logs (every logger, every level, exceptions and SQL errors with their parameters, formatted by the
production formatter) holds no phone number, birthday, API key, channel secret or token, webhook signature or token
of a signed link; each request has an id, echoed in its response."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import request
from sqlalchemy import text

from bot.links import card_url, join_url
from bot.log_redaction import JsonFormatter, RedactingFilter, TextFormatter, redact
from bot.runtime import Runtime
from bot.settings import Settings
from tests.binding_helpers import Shopper, field, friend, path_of, sms_codes, text_of, wait_for
from tests.factories import make_member
from tests.pos import open_shop

PHONE_DIGITS = ("912345678", "987654321", "922333444")
BIRTHDAY_FORMS = ("1990-03-14", "1990/03/14", "1990-3-14", "1990, 3, 14", "19900314", "1985-12-01", "1985, 12, 1")
BAD_KEY = "Bearer Wr0ngKeyWr0ngKeyWr0ngKeyWr0ngKeyWr0ngKey12"


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    """Every record of every logger at every level, through the filter and the JSON formatter production uses."""
    output = io.StringIO()
    handler = logging.StreamHandler(output)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactingFilter())
    handler.setLevel(logging.DEBUG)
    root, sql = logging.getLogger(), logging.getLogger("sqlalchemy.engine")
    levels = root.level, sql.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    sql.setLevel(logging.INFO)  # statement and parameter dumps
    yield output
    root.removeHandler(handler)
    root.setLevel(levels[0])
    sql.setLevel(levels[1])


def _bearer_values(page_or_json: str) -> set[str]:
    """The tokens of signed links and image paths in what the app answered or sent to the chat."""
    found = set(re.findall(r"[?&](?:amp;)?[tv]=([^&\"'\s<>]+)", page_or_json))
    found |= set(re.findall(r"/img/(?:coupon/)?([^/\"'\s]+)\.png", page_or_json))
    found |= set(re.findall(r'name="[tv]" value="([^"]+)"', page_or_json))
    return found


def test_a_full_run_through_the_app_logs_no_personal_data_or_credentials(
    app, client, platform, runtime: Runtime, settings: Settings, monkeypatch, log_output
):
    app.config["PROPAGATE_EXCEPTIONS"] = False  # errors are logged and answered 500, as in production
    signatures: list[str] = []
    app.before_request(lambda: signatures.append(request.headers.get("X-Line-Signature", "")) and None)
    seen: list[str] = []
    shop = open_shop(runtime.sessions)
    make_member(runtime.sessions)  # +886912345678, born 1990-03-14: the bind page asks a code for this phone

    # A follow, then the join page with a new shopper's phone and birthday.
    newcomer = friend(platform, "陳小姐")
    join_link = join_url(settings, newcomer)
    page = text_of(client.get(path_of(join_link)))
    seen += [join_link, page]
    form = {"t": field(page, "t"), "csrf_token": field(page, "csrf_token")}
    joined = client.post(
        "/members/join",
        data={**form, "name": "陳怡如", "phone": "0987-654-321", "birthday": "1985-12-01", "consent": "yes"},
    )
    seen.append(text_of(joined))
    assert joined.status_code < 500

    # The bind page: a code texted to the existing member's phone, then entered.
    shopper = Shopper(app, runtime, platform)
    shopper.open()
    seen += [shopper.page_url, shopper.page]
    shopper.ask_code("0912-345-678")
    seen.append(shopper.page)
    codes = wait_for(lambda: sms_codes(app, "+886912345678"))
    if codes:
        shopper.enter(codes[-1])
        seen.append(shopper.page)

    # A bound member's barcode in the chat, its image, and a purchase at the counter.
    regular = friend(platform, "林先生")
    member = make_member(runtime.sessions, phone="+886922333444", bound_to=regular)
    platform.send_text(regular, "會員條碼")
    messages = json.dumps(platform.bot_messages(regular), ensure_ascii=False)
    seen.append(messages)
    images = re.findall(r"https?://[^\"\s]+/img/[^\"\s]+\.png", messages)
    assert images, "the barcode message links its images"
    assert client.get(path_of(images[0])).status_code == 200
    scanned = client.post(
        "/api/v1/scan",
        json={"code": _current_code(runtime, member.id), "intent": "transaction"},
        headers=shop.auth,
    )
    bought = client.post(
        "/api/v1/purchases",
        json={"transaction_id": "T-1", "amount": 350, "member_code": _current_code(runtime, member.id)},
        headers=shop.auth,
    )
    assert scanned.status_code < 500 and bought.status_code < 500

    # A POS request with a wrong key.
    assert client.post("/api/v1/purchases", json={}, headers={"Authorization": BAD_KEY}).status_code == 401

    # A service that fails with a phone and a birthday in its message, then a SQL error with them as parameters.
    card = card_url(settings, regular)
    seen.append(card)

    def failing(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("+886912345678 1990-03-14 0912-345-678 886912345678")

    monkeypatch.setattr("bot.web.card.summary", failing)
    crashed = client.get(path_of(card), headers={"X-Request-Id": "req-0001-abcd"})
    assert crashed.status_code == 500
    assert crashed.headers["X-Request-Id"] == "req-0001-abcd"

    def bad_sql(session: Any, *_args: Any, **_kwargs: Any) -> Any:
        from datetime import date

        statement = text("INSERT INTO no_such_table (phone, birthday) VALUES (:phone, :birthday)")
        return session.execute(statement, {"phone": "+886912345678", "birthday": date(1990, 3, 14)})

    monkeypatch.setattr("bot.web.card.summary", bad_sql)
    assert client.get(path_of(card)).status_code == 500

    logged = log_output.getvalue()
    lines = [json.loads(line) for line in logged.splitlines() if line.startswith("{")]
    assert any(line["exc"] and "RuntimeError" in line["exc"] for line in lines), "the service's error is logged"
    assert any(line["exc"] and "no_such_table" in line["exc"] for line in lines), "the SQL error is logged"
    assert any(line["request_id"] == "req-0001-abcd" for line in lines), "records carry the request's id"

    squeezed = re.sub(r"[\s.\-()+]", "", logged)
    for digits in PHONE_DIGITS:
        assert digits not in squeezed, f"a phone number ending {digits[-3:]} is in the logs"
    for birthday in BIRTHDAY_FORMS:
        assert birthday not in logged, f"the birthday {birthday} is in the logs"
    credentials = [shop.key, BAD_KEY.split()[1], settings.line_channel_secret, settings.line_channel_access_token]
    credentials += [signature for signature in signatures if signature]
    assert len(credentials) > 4, "the webhook's signatures were seen"
    for credential in credentials:
        assert credential not in logged, "a key, a channel secret or token, or a webhook signature is in the logs"
    tokens = set().union(*(_bearer_values(part) for part in seen))
    assert len(tokens) >= 4
    for token in tokens:
        assert token not in logged, f"a signed link's token ({token[:6]}…) is in the logs"


def _current_code(runtime: Runtime, member_id: int) -> str:
    from datetime import UTC, datetime

    from bot.db import transaction
    from bot.services.barcode import codes as barcode
    from models import Member

    with transaction(runtime.sessions) as session:
        member = session.get(Member, member_id)
        assert member is not None
        return barcode.current_code(session, member, datetime.now(UTC)).code


def test_a_request_gets_a_new_id_unless_it_brings_a_well_formed_one(client):
    mine = client.get("/healthz", headers={"X-Request-Id": "pos-7f3a-0001"})
    forged = client.get("/healthz", headers={"X-Request-Id": "bad id; <script>"})
    fresh = client.get("/healthz")

    assert mine.headers["X-Request-Id"] == "pos-7f3a-0001"
    assert re.fullmatch(r"[0-9a-f]{32}", forged.headers["X-Request-Id"])
    assert re.fullmatch(r"[0-9a-f]{32}", fresh.headers["X-Request-Id"])
    assert fresh.headers["X-Request-Id"] != forged.headers["X-Request-Id"]


def test_production_engines_hide_sql_parameters(settings):
    from dataclasses import replace

    production = Runtime.build(replace(settings, app_env="production"))
    development = Runtime.build(replace(settings, app_env="development"))
    try:
        assert production.engine.hide_parameters and not development.engine.hide_parameters
    finally:
        production.engine.dispose()
        development.engine.dispose()


@pytest.mark.parametrize(
    "line",
    [
        '127.0.0.1 "GET /members/card?t=eyJ1IjoiVTEyMyJ9.ZzAbCd.s1gNaTuRe HTTP/1.1" 200',
        '127.0.0.1 "GET /members/join?lang=zh&t=eyJ1IjoiVTEyMyJ9.ZzAbCd.s1gNaTuRe HTTP/1.1" 200',
        '127.0.0.1 "GET /img/eyJjIjoiMTIzIn0.ZzAbCd.s1gNaTuRe.png HTTP/1.1" 200',
        '127.0.0.1 "GET /img/coupon/eyJjIjoiMTIzIn0.ZzAbCd.s1gNaTuRe.png HTTP/1.1" 200',
        "headers: {'Authorization': 'Bearer eyJ1IjoiVTEyMyJ9.ZzAbCd.s1gNaTuRe'}",
        "headers: {'X-Line-Signature': 'eyJ1IjoiVTEyMyJ9.ZzAbCd.s1gNaTuRe='}",
    ],
)
def test_tokens_in_urls_and_headers_are_masked(line):
    assert "s1gNaTuRe" not in redact(line) and "eyJ" not in redact(line)


def test_the_development_format_is_readable_and_masked_too():
    record = logging.LogRecord(
        "bot", logging.INFO, __file__, 1, "SMS to %s born %s", ("0912 345 678", "1990-03-14"), None
    )

    line = TextFormatter().format(record)

    assert "INFO bot [None]: SMS to ***678 born ****-**-**" in line


def test_gunicorns_access_log_leaves_out_query_strings_and_masks_image_tokens(capsys):
    import runpy
    from datetime import timedelta
    from pathlib import Path
    from types import SimpleNamespace

    from gunicorn.config import Config
    from gunicorn.glogging import Logger

    settings_file = Path(__file__).resolve().parents[2] / "gunicorn.conf.py"
    config = Config()
    for name, value in runpy.run_path(str(settings_file)).items():
        if name in config.settings:
            config.set(name, value)
    assert "%(r)s" not in config.access_log_format and "%(q)s" not in config.access_log_format
    root = logging.getLogger()
    root_handlers, root_level = list(root.handlers), root.level
    logger = Logger(config)  # dictConfig: its handlers on gunicorn's loggers and the root, undone below
    try:
        for uri in ("/members/card?t=eyJ1IjoiVTEyMyJ9.ZzAbCd.s1gNaTuRe", "/img/eyJjIjoiMTIzIn0.ZzAbCd.s1gNaTuRe.png"):
            path, _, query = uri.partition("?")
            environ = {
                "REQUEST_METHOD": "GET",
                "RAW_URI": uri,
                "PATH_INFO": path,
                "QUERY_STRING": query,
                "SERVER_PROTOCOL": "HTTP/1.1",
                "REMOTE_ADDR": "127.0.0.1",
                "HTTP_REFERER": "https://example.com/members/card?t=eyJ1IjoiVTEyMyJ9.ZzAbCd.s1gNaTuRe",
            }
            response = SimpleNamespace(status="200 OK", sent=10, headers=[("X-Request-Id", "req-42-abcdef")])
            request = SimpleNamespace(headers=[("USER-AGENT", "pos")])
            logger.access(response, request, environ, timedelta(milliseconds=5))
    finally:
        for name in ("gunicorn.error", "gunicorn.access"):
            for handler in list(logging.getLogger(name).handlers):
                logging.getLogger(name).removeHandler(handler)
        logging.getLogger("gunicorn.error").propagate = logging.getLogger("gunicorn.access").propagate = True
        root.handlers[:] = root_handlers
        root.setLevel(root_level)

    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["logger"] for line in lines] == ["gunicorn.access", "gunicorn.access"]
    assert "GET /members/card HTTP/1.1" in lines[0]["message"] and lines[0]["request_id"] == "req-42-abcdef"
    assert "GET /img/***.png HTTP/1.1" in lines[1]["message"]
    assert all("s1gNaTuRe" not in line["message"] for line in lines)
