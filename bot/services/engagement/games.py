"""Plays of the lucky draw (抽獎) and the scratch card (刮刮樂): quota, the server's decision, stock and budget.

* Quota: each brand-local day a member has the game's free plays, then the extra plays granted to them
  (`grant_plays`, e.g. by a mission). `plays_left` is what the chat shows and exactly what `play` enforces.
* A play is decided on the server (odds.draw_number: the OS CSPRNG) and recorded (a `game_plays` row, unique per
  member, game kind, day and play number) with its reward in the same transaction, before anyone sees it.
* A prize is awarded only within its stock (a conditional UPDATE of `awarded_count`, a CHECK behind it) and the
  game's daily budget (the same on `game_day_counts`); otherwise the play falls to "no prize" or to the next prize,
  as the game is configured. A member's plays take turns (a row lock on the member), so concurrent taps with one
  play left give one play.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.db import dialect_insert
from bot.services.engagement.checkins import local_day
from bot.services.engagement.odds import Band, RandomSource, candidates, draw_number, prize_for
from bot.services.refusals import Reason, Refused
from bot.services.rewards.coupon_rules import CouponRefused
from bot.services.rewards.coupons import issue_coupon
from bot.services.rewards.ledger import post_points
from bot.services.rewards.point_expiry import expiry_for
from models import Coupon, CouponTemplate, Game, GameDayCount, GamePlay, GamePlayGrant, GamePrize, Member

log = logging.getLogger(__name__)

REASONS = {"draw": "幸運抽獎", "scratch": "刮刮樂"}


@dataclass(frozen=True)
class PlaysLeft:
    free: int
    extra: int

    @property
    def total(self) -> int:
        return self.free + self.extra


@dataclass(frozen=True)
class PlayResult:
    """A play as the member sees it: what it gave (prize None: no prize), and the plays left after it."""

    play: GamePlay
    game: Game
    prize: GamePrize | None
    coupon: Coupon | None
    plays_left: PlaysLeft


def active_game(session: Session, kind: str, day: date) -> Game | None:
    """The game of this kind the chat offers on this brand-local day: the first active one running that day (its
    `starts_on` … `ends_on`), in the file's order."""
    return session.scalars(
        select(Game)
        .where(Game.kind == kind, Game.is_active.is_(True))
        .where(Game.starts_on.is_(None) | (Game.starts_on <= day), Game.ends_on.is_(None) | (Game.ends_on >= day))
        .order_by(Game.position, Game.id)
        .limit(1)
    ).one_or_none()


def grant_plays(
    session: Session,
    member: Member,
    n: int,
    reason: str,
    at: datetime,
    *,
    game_kind: str = "draw",
    key: str | None = None,
) -> bool:
    """Give a member `n` extra plays of the lucky draw (or, with game_kind="scratch", scratch cards), used after
    the day's free plays and kept until used. With `key`, once per key (False when given already): a mission
    passes its completion's key so a retry does not grant twice."""
    if n <= 0:
        raise ValueError("n must be positive")
    if game_kind not in REASONS:
        raise ValueError(f"unknown game kind {game_kind!r}")
    grant = GamePlayGrant(
        member_id=member.id,
        game_kind=game_kind,
        plays=n,
        reason=reason[:200],
        idempotency_key=key or f"grant:{uuid.uuid4().hex}",
        created_at=at,
    )
    try:
        with session.begin_nested():
            session.add(grant)
            session.flush()
    except IntegrityError:
        return False
    return True


def _plays_today(session: Session, member_id: int, kind: str, day: date) -> dict[str, int]:
    rows = session.execute(
        select(GamePlay.source, func.count(GamePlay.id))
        .where(GamePlay.member_id == member_id, GamePlay.game_kind == kind, GamePlay.local_day == day)
        .group_by(GamePlay.source)
    ).all()
    return {source: int(count) for source, count in rows}


def _extra_left(session: Session, member_id: int, kind: str) -> int:
    granted = session.scalar(
        select(func.coalesce(func.sum(GamePlayGrant.plays), 0)).where(
            GamePlayGrant.member_id == member_id, GamePlayGrant.game_kind == kind
        )
    )
    used = session.scalar(
        select(func.count(GamePlay.id)).where(
            GamePlay.member_id == member_id, GamePlay.game_kind == kind, GamePlay.source == "extra"
        )
    )
    return int(granted or 0) - int(used or 0)


def plays_left(session: Session, member_id: int, game: Game, day: date) -> PlaysLeft:
    """The plays a member has left on a brand-local day: the day's free plays not used, and extra plays."""
    today = _plays_today(session, member_id, game.kind, day)
    free = max(0, game.free_plays_per_day - today.get("free", 0))
    return PlaysLeft(free, max(0, _extra_left(session, member_id, game.kind)))


def _bands(session: Session, game: Game) -> tuple[list[Band], dict[int, GamePrize]]:
    prizes = session.scalars(
        select(GamePrize)
        .where(GamePrize.game_id == game.id, GamePrize.is_active.is_(True))
        .order_by(GamePrize.position, GamePrize.id)
    ).all()
    return [Band(prize.id, prize.chance_ppm) for prize in prizes], {prize.id: prize for prize in prizes}


def _take_stock(session: Session, prize: GamePrize) -> bool:
    statement = (
        update(GamePrize)
        .where(
            GamePrize.id == prize.id,
            (GamePrize.stock.is_(None)) | (GamePrize.awarded_count < GamePrize.stock),
        )
        .values(awarded_count=GamePrize.awarded_count + 1)
        .execution_options(synchronize_session=False)
    )
    return bool(session.execute(statement).rowcount)  # type: ignore[attr-defined]


def _take_budget(session: Session, game: Game, day: date) -> bool:
    if game.daily_budget is None:
        return True
    insert = dialect_insert(session.get_bind().dialect.name)
    values: dict[str, Any] = {"game_id": game.id, "local_day": day, "awarded": 0}
    session.execute(insert(GameDayCount).values(**values).on_conflict_do_nothing())
    statement = (
        update(GameDayCount)
        .where(
            GameDayCount.game_id == game.id,
            GameDayCount.local_day == day,
            GameDayCount.awarded < game.daily_budget,
        )
        .values(awarded=GameDayCount.awarded + 1)
        .execution_options(synchronize_session=False)
    )
    return bool(session.execute(statement).rowcount)  # type: ignore[attr-defined]


def _give(
    session: Session, member: Member, prize: GamePrize, key: str, at: datetime, tz: tzinfo, kind: str
) -> Coupon | None:
    if prize.reward_kind == "points":
        post_points(
            session,
            member.id,
            prize.points,
            kind="earn",
            reason=REASONS[kind],
            channel="line_task",
            idempotency_key=key,
            at=at,
            expires_at=expiry_for(at, tz),
        )
        return None
    template = session.get_one(CouponTemplate, prize.coupon_template_id)
    coupon, _created = issue_coupon(session, member, template, source=kind, source_key=key, at=at)
    return coupon


def _award(
    session: Session, member: Member, game: Game, chain: list[GamePrize], key: str, at: datetime, tz: tzinfo
) -> tuple[GamePrize | None, Coupon | None]:
    """The first prize of `chain` within stock and budget, given; (None, None) when none can be."""
    day = local_day(at, tz)
    for prize in chain:
        try:
            with session.begin_nested():
                if not _take_stock(session, prize):
                    raise _Unavailable
                if not _take_budget(session, game, day):
                    raise _OverBudget
                coupon = _give(session, member, prize, key, at, tz, game.kind)
        except _Unavailable:
            continue
        except _OverBudget:
            return None, None  # the day's budget is spent: no prize can be given today
        except CouponRefused as refusal:  # the coupon itself ran out or ended: like a prize out of stock
            log.warning("prize %s of game %s not given: %s", prize.code, game.code, refusal.reason)
            continue
        return prize, coupon
    return None, None


class _Unavailable(Exception):
    pass


class _OverBudget(Exception):
    pass


def play(
    session: Session, member: Member, kind: str, at: datetime, tz: tzinfo, source: RandomSource | None = None
) -> PlayResult:
    """Play the active game of `kind` ("draw" or "scratch") once: decide, record and give the result.

    Refused (changing nothing) with GAME_NOT_RUNNING when no game of that kind is active and running today,
    NO_PLAYS_LEFT when the member has no free or extra play left today.
    """
    day = local_day(at, tz)
    game = active_game(session, kind, day)
    if game is None:
        raise Refused(Reason.GAME_NOT_RUNNING)
    # One member's plays take turns: the quota read below cannot be read twice for one play.
    session.execute(select(Member.id).where(Member.id == member.id).with_for_update())
    left = plays_left(session, member.id, game, day)
    if left.total <= 0:
        raise Refused(Reason.NO_PLAYS_LEFT)
    today = _plays_today(session, member.id, kind, day)
    number = sum(today.values()) + 1
    bands, prizes = _bands(session, game)
    rolled = prize_for(bands, draw_number(source))
    chain = [prizes[prize_id] for prize_id in candidates(bands, rolled, game.when_unavailable)]
    key = f"game:{member.id}:{kind}:{day.isoformat()}:{number}"
    try:
        with session.begin_nested():
            prize, coupon = _award(session, member, game, chain, key, at, tz)
            record = GamePlay(
                member_id=member.id,
                game_id=game.id,
                game_kind=kind,
                local_day=day,
                play_number=number,
                source="free" if left.free > 0 else "extra",
                prize_id=prize.id if prize else None,
                rolled_prize_id=rolled,
                points=prize.points if prize and prize.reward_kind == "points" else 0,
                coupon_id=coupon.id if coupon else None,
                created_at=at,
            )
            session.add(record)
            session.flush()
    except IntegrityError as exc:  # a concurrent play took this number (the lock makes it rare): this one is void
        raise Refused(Reason.NO_PLAYS_LEFT) from exc
    log.info("member %s played %s: prize %s", member.id, game.code, prize.code if prize else None)
    return PlayResult(record, game, prize, coupon, plays_left(session, member.id, game, day))


def result_of(session: Session, play_row: GamePlay, tz: tzinfo) -> PlayResult:
    """An earlier play as it was decided (a scratch card opened again shows the same result)."""
    game = session.get_one(Game, play_row.game_id)
    prize = session.get(GamePrize, play_row.prize_id) if play_row.prize_id is not None else None
    coupon = session.get(Coupon, play_row.coupon_id) if play_row.coupon_id is not None else None
    day = local_day(play_row.created_at, tz)
    return PlayResult(play_row, game, prize, coupon, plays_left(session, play_row.member_id, game, day))


def last_play_today(session: Session, member_id: int, kind: str, at: datetime, tz: tzinfo) -> GamePlay | None:
    """The member's latest play of this kind today, if any."""
    return session.scalars(
        select(GamePlay)
        .where(GamePlay.member_id == member_id, GamePlay.game_kind == kind, GamePlay.local_day == local_day(at, tz))
        .order_by(GamePlay.play_number.desc())
        .limit(1)
    ).one_or_none()
