"""Fixtures for the local LINE platform's own tests: a bare Flask app with only the stand-in, no database."""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from bot.devline import DevLinePlatform, create_devline_blueprint
from bot.settings import Settings


class Clock:
    """A clock a test moves by hand: platform.clock = clock."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def devline_settings() -> Settings:
    return Settings(
        app_env="test",
        dev_line_enabled=True,
        line_channel_secret="s",
        line_channel_access_token="t",
        public_base_url="http://127.0.0.1:9",
    )


@pytest.fixture
def devline_app(devline_settings: Settings) -> Flask:
    app = Flask(__name__)
    app.register_blueprint(create_devline_blueprint(devline_settings), url_prefix="/dev/line")
    return app


@pytest.fixture
def platform(devline_app: Flask) -> DevLinePlatform:
    """The stand-in; its webhook (127.0.0.1:9) is unreachable, so deliveries answer status 0."""
    return devline_app.extensions["devline"]


@pytest.fixture
def api(devline_app: Flask) -> Iterator[FlaskClient]:
    with devline_app.test_client() as client:
        yield client


@pytest.fixture
def clock(platform: DevLinePlatform) -> Clock:
    """A hand-moved clock installed on the platform."""
    hand_clock = Clock()
    platform.clock = hand_clock
    return hand_clock


@pytest.fixture
def image() -> Callable[..., bytes]:
    """image(width, height, fmt="PNG", noise=False): image bytes; noise makes them big."""

    def make(width: int, height: int, fmt: str = "PNG", noise: bool = False) -> bytes:
        if noise:
            picture = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
        else:
            picture = Image.new("RGB", (width, height), (6, 199, 85))
        buffer = io.BytesIO()
        picture.save(buffer, fmt)
        return buffer.getvalue()

    return make


class WebhookCatcher:
    """A real local HTTP server standing in for the bot's /callback: it keeps what it receives."""

    def __init__(self) -> None:
        self.received: list[tuple[bytes, dict[str, str]]] = []
        self.answer = (200, b"OK")
        catcher = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                catcher.received.append((body, dict(self.headers.items())))
                status, text = catcher.answer
                self.send_response(status)
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/callback"


@pytest.fixture
def webhook() -> Iterator[WebhookCatcher]:
    catcher = WebhookCatcher()
    thread = threading.Thread(target=catcher.server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield catcher
    catcher.server.shutdown()
    catcher.server.server_close()
