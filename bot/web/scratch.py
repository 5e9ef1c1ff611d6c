"""The scratch card's page: GET /games/scratch?t=<token>.

The token (bot.links.scratch_url, valid 24 hours) names one LINE user and one play the server decided and recorded
when the chat handed out the card (handlers/games.py). The page only reveals that result: opening it again shows
the same result and plays nothing. A forged, altered or expired link, or a play that is not this LINE user's
member's, gets a zh-TW (and English) error page and awards nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, request
from sqlalchemy import update

from bot.links import LinkInvalid, read_link
from bot.services.engagement.games import result_of
from bot.services.membership.line_users import find_line_user
from bot.services.membership.members import member_of
from bot.uow import unit_of_work
from bot.web import runtime
from bot.web.pages import Notice, PageRefused, notice, refused_page, render
from models import GamePlay

SCRATCH_MAX_AGE_SECONDS = 24 * 60 * 60
NOT_YOURS = "這張刮刮樂不屬於您的 LINE 帳號，請回到 LINE 開啟您自己的刮刮樂"
LINK_INVALID = "連結無效，請回到 LINE 重新開啟"

bp = Blueprint("scratch", __name__)


@dataclass(frozen=True)
class Revealed:
    """What the card hides: the prize (zh-TW and English), how to use it, and whether it was opened before."""

    game: Notice
    won: bool
    prize: Notice | None
    how_to_use: Notice | None
    coupon_code: str | None
    opened_before: bool


def _payload(token: str) -> tuple[str, int]:
    try:
        payload = read_link(runtime().settings, "scratch", token, max_age=SCRATCH_MAX_AGE_SECONDS)
    except LinkInvalid as exc:
        raise PageRefused(403, notice(exc.message)) from exc
    user, play_id = payload.get("u"), payload.get("p")
    if not isinstance(user, str) or not isinstance(play_id, int) or isinstance(play_id, bool):
        raise PageRefused(403, notice(LINK_INVALID))
    return user, play_id


def _reveal(line_user_id: str, play_id: int) -> Revealed:
    with unit_of_work(runtime()) as uow:
        session = uow.session
        member = member_of(session, find_line_user(session, line_user_id))
        play = session.get(GamePlay, play_id)
        if member is None or play is None or play.member_id != member.id or play.game_kind != "scratch":
            raise PageRefused(403, notice(NOT_YOURS))
        opened_before = play.revealed_at is not None
        if not opened_before:
            session.execute(
                update(GamePlay)
                .where(GamePlay.id == play.id, GamePlay.revealed_at.is_(None))
                .values(revealed_at=uow.now)
                .execution_options(synchronize_session=False)
            )
        result = result_of(session, play, uow.settings.tz)
        prize = result.prize
        how = None
        if prize is not None and result.coupon is not None:
            how = notice("優惠券已放進「優惠券」，結帳時出示即可使用。")
        elif prize is not None:
            how = notice("已為您加入 {points} 點。", points=prize.points)
        return Revealed(
            game=notice(result.game.name),
            won=prize is not None,
            prize=notice(prize.name) if prize is not None else None,
            how_to_use=how,
            coupon_code=result.coupon.code if result.coupon is not None else None,
            opened_before=opened_before,
        )


@bp.get("/games/scratch")
def scratch_page() -> tuple[str, int]:
    """The card to scratch, with the server's result under it."""
    try:
        revealed = _reveal(*_payload(request.args.get("t", "")))
    except PageRefused as refusal:
        return refused_page(refusal)
    return render("games/scratch.html", card=revealed, no_prize=notice("沒有中獎，下次再接再厲！"))
