"""SMS backends: the development one keeps messages (phones masked in the log), the HTTP one posts to a gateway."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from bot.app import create_app
from bot.settings import ConfigurationError, Settings
from bot.sms import DevSmsBackend, HttpSmsBackend, SmsDeliveryError, build_sms_backend, verification_text

PRODUCTION = {
    "APP_ENV": "production",
    "LINE_CHANNEL_SECRET": "secret",
    "LINE_CHANNEL_ACCESS_TOKEN": "token",
    "SECRET_KEY": "key",
    "DATABASE_URL": "postgres://u@db/omo",
    "PUBLIC_BASE_URL": "https://bot.example.com",
}


class Gateway:
    """A local SMS gateway that records what it is sent and answers with `status`."""

    def __init__(self) -> None:
        self.status = 202
        self.received: list[dict[str, Any]] = []


@pytest.fixture
def gateway() -> Iterator[tuple[Gateway, str]]:
    state = Gateway()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.received.append({"headers": dict(self.headers), "json": json.loads(body)})
            self.send_response(state.status)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield state, f"http://127.0.0.1:{server.server_port}/sms"
    server.shutdown()


@pytest.fixture(autouse=True)
def no_proxy_for_local_addresses(monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setenv("no_proxy", "127.0.0.1")


def test_the_code_text_names_the_brand_the_code_and_its_lifetime():
    assert verification_text("OMO 烘焙坊", "123456") == (
        "【OMO 烘焙坊】您的會員綁定驗證碼為 123456，5 分鐘內有效。請勿提供給他人。"
    )


def test_the_development_backend_keeps_messages_and_logs_neither_the_phone_nor_the_code(caplog):
    caplog.set_level(logging.INFO, logger="bot.sms")
    backend = DevSmsBackend()

    backend.send("+886912345678", "code 123456")

    assert backend.messages() == [("+886912345678", "code 123456")]
    assert "+886*****5678" in caplog.text and "912345678" not in caplog.text
    assert "123456" not in caplog.text


def test_the_http_backend_posts_json_with_a_bearer_token(gateway):
    state, url = gateway

    HttpSmsBackend(url, "sms-token").send("+886912345678", "您的驗證碼為 123456")

    (request,) = state.received
    assert request["json"] == {"to": "+886912345678", "text": "您的驗證碼為 123456"}
    assert request["headers"]["Authorization"] == "Bearer sms-token"
    assert request["headers"]["Content-Type"].startswith("application/json")


def test_the_http_backend_fails_clearly_when_the_gateway_refuses(gateway):
    state, url = gateway
    state.status = 401

    with pytest.raises(SmsDeliveryError, match="SMS gateway answered 401") as failure:
        HttpSmsBackend(url, "wrong").send("+886912345678", "text")
    assert "912345678" not in str(failure.value)


def test_the_http_backend_fails_clearly_when_the_gateway_is_unreachable():
    with pytest.raises(SmsDeliveryError, match="unreachable"):
        HttpSmsBackend("http://127.0.0.1:9/sms", "t", timeout=2).send("+886912345678", "text")


def test_outside_production_the_development_backend_is_the_default():
    settings = Settings.from_env({"APP_ENV": "development"})

    assert settings.sms_backend == "dev"
    assert isinstance(build_sms_backend(settings), DevSmsBackend)


def test_production_refuses_the_development_backend_naming_the_variable():
    with pytest.raises(ConfigurationError, match="SMS_BACKEND"):
        Settings.from_env({**PRODUCTION, "SMS_BACKEND": "dev"})


def test_production_uses_the_http_backend_and_will_not_start_without_its_address_and_token(settings, runtime):
    production = Settings.from_env(PRODUCTION)
    configured = Settings.from_env({**PRODUCTION, "SMS_HTTP_URL": "https://sms.example/api", "SMS_HTTP_TOKEN": "t"})

    assert production.sms_backend == "http"
    with pytest.raises(ConfigurationError, match="SMS_HTTP_URL and SMS_HTTP_TOKEN"):
        create_app(replace(settings, sms_backend="http"), runtime)
    backend = build_sms_backend(configured)
    assert isinstance(backend, HttpSmsBackend) and backend.url == "https://sms.example/api"


def test_an_unknown_backend_is_refused():
    with pytest.raises(ConfigurationError, match="SMS_BACKEND must be dev or http"):
        Settings.from_env({"APP_ENV": "development", "SMS_BACKEND": "carrier-pigeon"})


@pytest.mark.parametrize("value", ["ten", "-5"])
def test_welcome_points_must_be_a_whole_positive_number(value):
    with pytest.raises(ConfigurationError, match="WELCOME_POINTS"):
        Settings.from_env({"APP_ENV": "development", "WELCOME_POINTS": value})


def test_welcome_points_default_to_none():
    assert Settings.from_env({"APP_ENV": "development"}).welcome_points == 0
    assert Settings.from_env({"APP_ENV": "development", "WELCOME_POINTS": "50"}).welcome_points == 50


def test_the_development_sms_page_shows_kept_messages_with_phones_masked(app, client):
    app.extensions["sms"].send("+886912345678", "【OMO】驗證碼 123456")

    answer = client.get("/dev/sms")

    assert answer.get_json() == {"messages": [{"to": "+886*****5678", "text": "【OMO】驗證碼 123456"}]}


def test_production_serves_no_sms_page(settings, runtime):
    production = replace(settings, app_env="production", dev_line_enabled=False)

    assert create_app(production, runtime).test_client().get("/dev/sms").status_code == 404
