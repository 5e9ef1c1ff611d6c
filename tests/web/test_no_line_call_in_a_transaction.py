"""No LINE call is made while the bot holds a database connection: profiles are fetched before the event's unit
of work, replies and pushes are sent after it commits, link tokens are asked for when the bind page opens."""

from __future__ import annotations

import pytest

from bot.line_client import LineClient
from tests.binding_helpers import friend
from tests.factories import make_member


@pytest.fixture
def connections_held_at_line_calls(runtime, monkeypatch) -> list[tuple[str, int]]:
    """Every LINE call the bot makes, with how many of its pooled database connections were checked out then."""
    seen: list[tuple[str, int]] = []
    original = LineClient._call

    def watched(self, send):
        seen.append((getattr(send, "__qualname__", "call"), runtime.engine.pool.checkedout()))
        return original(self, send)

    monkeypatch.setattr(LineClient, "_call", watched)
    return seen


def test_following_asking_to_bind_and_opening_the_bind_page_call_line_outside_transactions(
    platform, runtime, client, settings, connections_held_at_line_calls
):
    user = friend(platform, "林怡君")  # profile fetch, then the welcome reply
    seen = len(platform.bot_messages(user))
    platform.postback(user, "action=bind")  # the invitation reply
    (card,) = platform.bot_messages(user)[seen:]
    bind_start = next(
        b["action"]["uri"] for b in card["contents"]["footer"]["contents"] if "/members/bind/start" in str(b)
    )
    client.get(bind_start.removeprefix(settings.public_base_url))  # the link token

    assert len(connections_held_at_line_calls) >= 4
    assert [held for _call, held in connections_held_at_line_calls] == [0] * len(connections_held_at_line_calls)


def test_a_member_whose_menu_changes_is_relinked_outside_transactions(
    platform, runtime, connections_held_at_line_calls
):
    from tests.web.test_rich_menu_state import _deploy_member_menu

    _deploy_member_menu(runtime)
    user = friend(platform, "林怡君")
    make_member(runtime.sessions, bound_to=user)
    platform.send_text(user, "會員資料")

    assert platform.rich_menu_for(user) is not None
    assert [held for _call, held in connections_held_at_line_calls] == [0] * len(connections_held_at_line_calls)
