"""Engagement test helpers: the example configuration loaded, a member checked in or playing at a moment."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from bot.db import transaction
from bot.services.demo import DEMO_ENGAGEMENT as EXAMPLE_PATH
from bot.services.engagement.config import LoadReport, load_config
from bot.services.rewards.coupon_rules import seed_demo_coupons
from bot.services.rewards.stamps import seed_demo_stamp_cards


def seed(runtime: Any, at: datetime | None = None) -> None:
    """The demo coupon templates and stamp cards the example configuration names; with `at`, the example
    configuration loaded too."""
    with transaction(runtime.sessions) as tx:
        seed_demo_coupons(tx)
        seed_demo_stamp_cards(tx)
        if at is not None:
            load_config(tx, example_text(), at)


def load(runtime: Any, text: str, at: datetime) -> LoadReport:
    with transaction(runtime.sessions) as tx:
        return load_config(tx, text, at)


def example_text() -> str:
    return Path(EXAMPLE_PATH).read_text(encoding="utf-8")


def checkin_at(runtime: Any, clock: Any, member_id: int, at: datetime) -> Any:
    """Move the clock to `at` and check the member in, as the chat's 簽到 does; the CheckinView."""
    from bot.services.engagement.checkins import check_in
    from models import Member
    from tests.helpers import in_unit_of_work

    clock.set(at)

    def work(uow: Any) -> Any:
        return check_in(uow.session, uow.session.get_one(Member, member_id), uow.now, uow.settings.tz)

    view, _sent = in_unit_of_work(runtime, work)
    return view


class Fixed:
    """A random source that always draws `number` (0 … 999 999): the band it falls in decides the prize."""

    def __init__(self, number: int) -> None:
        self.number = number

    def randrange(self, stop: int) -> int:
        return self.number


def play_at(runtime: Any, member_id: int, kind: str, at: datetime, number: int | None = None) -> Any:
    """Play the active game of `kind` for a member at `at` (with a fixed draw when `number` is given)."""
    from bot.services.engagement.games import play
    from models import Member
    from tests.helpers import in_unit_of_work

    def work(uow: Any) -> Any:
        member = uow.session.get_one(Member, member_id)
        result = play(uow.session, member, kind, at, uow.settings.tz, Fixed(number) if number is not None else None)
        return (result.prize.code if result.prize else None, result.plays_left.total, result.play.id)

    return in_unit_of_work(runtime, work)[0]


def grant_at(runtime: Any, member_id: int, n: int, at: datetime, *, kind: str = "draw", key: str | None = None) -> bool:
    from bot.services.engagement.games import grant_plays
    from models import Member

    with transaction(runtime.sessions) as tx:
        return grant_plays(tx, tx.get_one(Member, member_id), n, "任務獎勵", at, game_kind=kind, key=key)
