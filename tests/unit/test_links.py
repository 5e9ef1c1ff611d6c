"""Link tokens are opaque: they hide what they carry, open only for their purpose, and refuse alteration and age."""

from __future__ import annotations

import base64
import binascii
import contextlib
import re
import time

import pytest

from bot import links
from bot.links import LinkInvalid, read_link, sign_link
from bot.settings import Settings

SETTINGS = Settings.from_env({"APP_ENV": "test", "SECRET_KEY": "a test secret", "PUBLIC_BASE_URL": "http://x"})
LINE_USER = "U4af4980629a0b2c1d3e4f5a6b7c8d9e0"
NAME, PHONE, BIRTHDAY = "林怡君", "0912345678", "1990-03-14"
PERSONAL = {"u": LINE_USER, "n": NAME, "p": PHONE, "b": BIRTHDAY, "v": 42}
EXPIRED = "連結已過期，請回到 LINE 重新開啟"
INVALID = "連結無效，請回到 LINE 重新開啟"


def _decodings(token: str) -> list[bytes]:
    """The token's bytes every way one might decode them: as is, and as base64 of each alphabet, at each offset,
    whole and split at dots (as itsdangerous tokens are)."""
    found = [token.encode()]
    parts = [token[start:] for start in range(4)] + token.split(".")
    for part in parts:
        padded = part + "=" * (-len(part) % 4)
        for decode in (base64.urlsafe_b64decode, base64.b64decode):
            with contextlib.suppress(binascii.Error, ValueError):
                found.append(decode(padded))
    return found


def _secrets_in(data: bytes) -> list[str]:
    forms = [LINE_USER, NAME, PHONE, BIRTHDAY, "4af4980629a0b2c1", "19900314", "912345678"]
    needles = [form.encode() for form in forms] + [NAME.encode("utf-16-le"), NAME.encode("unicode_escape")]
    lowered = data.lower()
    return [needle.decode("latin-1") for needle in needles if needle.lower() in lowered]


def test_a_token_carries_neither_the_line_user_id_nor_personal_data_in_any_readable_form():
    token = sign_link(SETTINGS, "join-code", PERSONAL)

    assert re.fullmatch(r"[A-Za-z0-9_-]+", token), "tokens are URL-safe as they are"
    for data in _decodings(token):
        assert _secrets_in(data) == []
    assert read_link(SETTINGS, "join-code", token) == PERSONAL


def test_two_tokens_for_the_same_payload_differ():
    assert sign_link(SETTINGS, "card", {"u": LINE_USER}) != sign_link(SETTINGS, "card", {"u": LINE_USER})


@pytest.mark.parametrize(("made_for", "opened_as"), [("bind-start", "card"), ("card", "join"), ("join", "bind")])
def test_a_token_for_one_purpose_is_refused_for_another(made_for, opened_as):
    token = sign_link(SETTINGS, made_for, {"u": LINE_USER})

    with pytest.raises(LinkInvalid) as refused:
        read_link(SETTINGS, opened_as, token)

    assert refused.value.message == INVALID


def test_a_token_made_with_another_secret_is_refused():
    other = Settings.from_env({"APP_ENV": "test", "SECRET_KEY": "another secret", "PUBLIC_BASE_URL": "http://x"})
    token = sign_link(other, "card", {"u": LINE_USER})

    with pytest.raises(LinkInvalid) as refused:
        read_link(SETTINGS, "card", token)

    assert refused.value.message == INVALID


def _altered(token: str, at: int) -> str:
    return token[:at] + ("B" if token[at] == "A" else "A") + token[at + 1 :]


@pytest.mark.parametrize("at", [0, 5, 12, 30, 60, -20, -2])
def test_an_altered_token_is_refused(at):
    token = sign_link(SETTINGS, "card", {"u": LINE_USER})

    with pytest.raises(LinkInvalid) as refused:
        read_link(SETTINGS, "card", _altered(token, at % len(token)))

    assert refused.value.message == INVALID


@pytest.mark.parametrize("garbage", ["", "A", "not a token", "abc.def.ghi", "連結", "A" * 200, "=" * 8, "a/b"])
def test_garbage_is_refused_as_invalid(garbage):
    with pytest.raises(LinkInvalid) as refused:
        read_link(SETTINGS, "card", garbage)

    assert refused.value.message == INVALID


def test_an_old_token_says_it_has_expired_and_a_fresh_one_opens(monkeypatch):
    with monkeypatch.context() as past:
        past.setattr(links, "_now_seconds", lambda: int(time.time()) - 601)
        old = sign_link(SETTINGS, "join", {"u": LINE_USER})
    with monkeypatch.context() as past:
        past.setattr(links, "_now_seconds", lambda: int(time.time()) - 590)
        recent = sign_link(SETTINGS, "join", {"u": LINE_USER})

    with pytest.raises(LinkInvalid) as refused:
        read_link(SETTINGS, "join", old)

    assert refused.value.message == EXPIRED
    assert read_link(SETTINGS, "join", recent) == {"u": LINE_USER}


def test_an_old_token_that_was_also_altered_is_invalid_not_expired(monkeypatch):
    with monkeypatch.context() as past:
        past.setattr(links, "_now_seconds", lambda: int(time.time()) - 3600)
        old = sign_link(SETTINGS, "join", {"u": LINE_USER})

    with pytest.raises(LinkInvalid) as refused:
        read_link(SETTINGS, "join", _altered(old, 40))

    assert refused.value.message == INVALID
