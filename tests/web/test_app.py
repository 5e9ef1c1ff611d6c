"""The app as production runs it: no local LINE platform, health check answers."""

from __future__ import annotations

from dataclasses import replace

from bot.app import create_app


def test_production_serves_no_local_line_platform(settings, runtime):
    production = replace(settings, app_env="production", dev_line_enabled=False)

    client = create_app(production, runtime).test_client()

    assert client.get("/dev/line").status_code == 404
    assert client.post("/dev/line/v2/bot/message/push", json={}).status_code == 404
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_an_oversized_webhook_body_is_refused(client):
    response = client.post("/callback", data=b"x" * (3 * 1024 * 1024), headers={"X-Line-Signature": "x"})

    assert response.status_code == 413
