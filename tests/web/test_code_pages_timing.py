"""Timing: the join and bind pages answer a member's phone as fast as anyone else's, and neither waits on the SMS
gateway (here a stand-in that takes 250 ms a message). Medians of interleaved requests, loose enough for a busy
2-core machine, tight enough to catch a page that waits on the gateway for some phones."""

from __future__ import annotations

import statistics
import time

import pytest

from bot.links import join_url
from bot.sms import DevSmsBackend, wait_for_background_sends
from tests.binding_helpers import Shopper, field, friend, path_of, sms_codes, text_of
from tests.factories import make_member

GATEWAY_SECONDS = 0.25
ROUNDS = 7
MAX_DIFFERENCE_MS = 25.0
MEMBER_PHONES = [f"+88691234560{i}" for i in range(ROUNDS + 1)]
STRANGER_PHONES = [f"+88698765430{i}" for i in range(ROUNDS + 1)]


class SlowGateway(DevSmsBackend):
    """The development backend behind a gateway that takes a quarter of a second to accept each message."""

    def send(self, phone_e164: str, text: str) -> None:
        time.sleep(GATEWAY_SECONDS)
        super().send(phone_e164, text)


@pytest.fixture
def gateway(app, runtime):
    for phone in MEMBER_PHONES:
        make_member(runtime.sessions, phone=phone)
    slow = SlowGateway()
    app.extensions["sms"] = slow
    return slow


def local(phone: str) -> str:
    return "0" + phone.removeprefix("+886")


def timed(post) -> tuple[float, int]:
    started = time.perf_counter()
    answer = post()
    return (time.perf_counter() - started) * 1000, answer.status_code


def compare(member_ms: list[float], stranger_ms: list[float]) -> None:
    member, stranger = statistics.median(member_ms[1:]), statistics.median(stranger_ms[1:])  # the first warms up
    assert abs(member - stranger) < MAX_DIFFERENCE_MS, (member_ms, stranger_ms)
    assert max(member, stranger) < GATEWAY_SECONDS * 1000 - 50, "the page waited on the gateway"


def test_the_join_page_answers_every_phone_alike_without_waiting_on_the_gateway(app, platform, settings, gateway):
    times: dict[str, list[float]] = {"member": [], "stranger": []}
    for i in range(ROUNDS + 1):
        for kind, phone in (("member", MEMBER_PHONES[i]), ("stranger", STRANGER_PHONES[i])):
            browser = app.test_client()
            page = text_of(browser.get(path_of(join_url(settings, friend(platform)))))
            form = {
                "t": field(page, "t"),
                "csrf_token": field(page, "csrf_token"),
                "name": "王小明",
                "phone": local(phone),
                "consent": "yes",
            }
            environ = {"REMOTE_ADDR": f"192.0.2.{2 * i + (kind == 'member')}"}
            ms, status = timed(lambda: browser.post("/members/join", data=form, environ_base=environ))  # noqa: B023
            assert status == 200
            times[kind].append(ms)

    compare(times["member"], times["stranger"])
    assert all(len(sms_codes(app, phone)) == 1 for phone in MEMBER_PHONES + STRANGER_PHONES), "every phone is texted"


def test_the_bind_page_answers_every_phone_alike_without_waiting_on_the_gateway(app, runtime, platform, gateway):
    times: dict[str, list[float]] = {"member": [], "stranger": []}
    for i in range(ROUNDS + 1):
        for kind, phone in (("member", MEMBER_PHONES[i]), ("stranger", STRANGER_PHONES[i])):
            shopper = Shopper(app, runtime, platform)
            shopper.open()
            ms, status = timed(lambda: shopper.ask_code(local(phone)))  # noqa: B023
            assert status == 200
            times[kind].append(ms)

    compare(times["member"], times["stranger"])
    wait_for_background_sends()
    texted = {to for to, _text in gateway.messages()}
    assert texted == set(MEMBER_PHONES), "only members' phones are texted a bind code"
