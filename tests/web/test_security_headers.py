"""Security headers on the pages, the session cookie's flags, the proxy hops trusted, and APP_ENV=test's guard."""

from __future__ import annotations

from dataclasses import replace

import pytest
from flask import request

from bot.app import create_app
from bot.links import card_url, join_url
from bot.settings import TEST_RUNNER_FLAG, ConfigurationError, Settings
from bot.web import card
from bot.web.security_headers import DEVLINE_CONTENT_SECURITY_POLICY, HSTS, content_security_policy
from tests.binding_helpers import bind_page_url, friend, path_of
from tests.factories import make_member

FRAMING_AND_SNIFFING = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def directives(response) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    return dict(part.strip().partition(" ")[::2] for part in policy.split(";"))


def assert_page_headers(response) -> None:
    for name, value in FRAMING_AND_SNIFFING.items():
        assert response.headers.get(name) == value, name
    policy = directives(response)
    assert policy["default-src"] == "'self'" and policy["object-src"] == "'none'" and policy["base-uri"] == "'none'"
    assert policy["frame-ancestors"] == "'none'" and policy["img-src"] == "'self' data:"
    assert policy["form-action"].startswith("'self'")


def https_app(settings, runtime):
    secure = replace(settings, public_base_url="https://omo.example")
    return create_app(secure, replace(runtime, settings=secure))


def test_the_join_page_and_its_refusals_carry_the_policy_and_no_referrer(client, platform, settings):
    page = client.get(path_of(join_url(settings, friend(platform))))
    refused = client.post("/members/join", data={"t": "forged"})

    assert page.status_code == 200 and refused.status_code == 400
    assert_page_headers(page)
    assert_page_headers(refused)


def test_the_bind_page_carry_the_policy_and_its_form_may_go_on_to_lines_dialog(client, platform, runtime, settings):
    page = client.get(path_of(bind_page_url(runtime, friend(platform))))

    assert page.status_code == 200
    assert_page_headers(page)
    assert settings.public_base_url in directives(page)["form-action"], "the local LINE platform's dialog"
    production = replace(settings, dev_line_enabled=False)
    assert "form-action 'self' https://access.line.me;" in content_security_policy(production)


def test_the_card_keeps_its_stricter_policy(client, platform, runtime, settings):
    user = friend(platform)
    make_member(runtime.sessions, bound_to=user)
    page = client.get(path_of(card_url(settings, user)))

    assert page.status_code == 200
    assert page.headers["Content-Security-Policy"] == card.CONTENT_SECURITY_POLICY
    assert page.headers["X-Frame-Options"] == "DENY" and page.headers["Referrer-Policy"] == "no-referrer"


def test_an_unknown_address_gets_the_headers_too(client):
    missing = client.get("/no-such-page")

    assert missing.status_code == 404
    assert_page_headers(missing)


def test_json_answers_are_not_sniffed_and_carry_no_page_policy(client):
    health = client.get("/healthz")

    assert health.headers["X-Content-Type-Options"] == "nosniff"
    assert "Content-Security-Policy" not in health.headers


def test_the_local_line_platform_page_may_show_images_from_anywhere(client):
    page = client.get("/dev/line/")

    assert page.status_code == 200
    assert page.headers["Content-Security-Policy"] == DEVLINE_CONTENT_SECURITY_POLICY
    assert (
        "frame-ancestors 'none'" in DEVLINE_CONTENT_SECURITY_POLICY
        and "script-src" not in DEVLINE_CONTENT_SECURITY_POLICY
    )


def test_hsts_only_when_the_public_address_is_https(client, settings, runtime):
    assert "Strict-Transport-Security" not in client.get("/healthz").headers

    secure = https_app(settings, runtime).test_client()

    assert secure.get("/healthz").headers["Strict-Transport-Security"] == HSTS == "max-age=31536000; includeSubDomains"
    assert secure.get("/no-such-page").headers["Strict-Transport-Security"] == HSTS


def test_the_session_cookie_is_http_only_lax_and_secure_behind_https(client, platform, settings, runtime):
    user = friend(platform)
    plain = client.get(path_of(join_url(settings, user))).headers["Set-Cookie"]
    secure = https_app(settings, runtime).test_client().get(path_of(join_url(settings, user))).headers["Set-Cookie"]

    for cookie in (plain, secure):
        assert cookie.startswith("session=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in plain and "Secure" in secure


@pytest.mark.parametrize(("hops", "seen"), [(0, "127.0.0.1"), (1, "203.0.113.9")])
def test_x_forwarded_for_is_read_only_from_the_configured_proxies(settings, runtime, hops, seen):
    proxied = replace(settings, trusted_proxy_hops=hops)
    app = create_app(proxied, replace(runtime, settings=proxied))
    app.add_url_rule("/probe-address", "probe_address", lambda: request.remote_addr or "")

    # The client wrote the first address itself; the one proxy appended the address it saw.
    answer = app.test_client().get("/probe-address", headers={"X-Forwarded-For": "198.51.100.1, 203.0.113.9"})

    assert answer.get_data(as_text=True) == seen


@pytest.mark.parametrize(
    ("given", "named"),
    [
        ({}, "LINE_CHANNEL_SECRET, SECRET_KEY"),
        ({"LINE_CHANNEL_SECRET": "s"}, "SECRET_KEY"),
        ({"SECRET_KEY": "k"}, "LINE_CHANNEL_SECRET"),
    ],
)
def test_app_env_test_outside_the_test_suite_needs_the_secrets(monkeypatch, given, named):
    monkeypatch.delenv(TEST_RUNNER_FLAG)

    with pytest.raises(ConfigurationError, match=f"APP_ENV=test outside the test suite needs {named} "):
        Settings.from_env({"APP_ENV": "test", **given})

    secrets = {"LINE_CHANNEL_SECRET": "s", "SECRET_KEY": "k"}
    settings = Settings.from_env({"APP_ENV": "test", **secrets})
    assert settings.secret_key == "k" and not settings.dev_line_enabled
    assert Settings.from_env({"APP_ENV": "test", TEST_RUNNER_FLAG: "1"}).dev_line_enabled
