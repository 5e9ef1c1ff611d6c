"""What 任務 shows a member: each running mission, their progress in its current period and what is left."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.services.engagement.invites import invite_code_for
from bot.services.engagement.missions import active_missions, local_day, period_of
from bot.services.engagement.polls import answer_of
from models import CouponTemplate, Member, Mission, MissionProgress


@dataclass(frozen=True)
class MissionReward:
    """What completing a mission gives: points, a coupon (its name) or lucky-draw plays."""

    points: int | None = None
    coupon: str | None = None
    plays: int | None = None


@dataclass(frozen=True)
class MissionView:
    mission_id: int
    title: str
    description: str | None
    kind: str
    target: int
    value: int
    completed: bool
    weekly: bool
    period_ends_on: date
    reward: MissionReward
    poll_question: str | None = None
    poll_options: tuple[str, ...] = ()
    answered_option: int | None = None
    invite_code: str | None = None
    # The English name set for the mission (None: the zh-TW title, as the chat's catalogue translates it).
    title_en: str | None = None

    @property
    def left(self) -> int:
        return max(0, self.target - self.value)


def reward_of(session: Session, mission: Mission) -> MissionReward:
    """The mission's reward as the member is told it."""
    if mission.reward_coupon_template_id is not None:
        return MissionReward(coupon=session.get_one(CouponTemplate, mission.reward_coupon_template_id).name)
    if mission.reward_plays:
        return MissionReward(plays=mission.reward_plays)
    return MissionReward(points=mission.reward_points)


def mission_views(session: Session, member: Member, now: datetime, tz: tzinfo) -> list[MissionView]:
    """The member's running missions with their progress in the current period (an invite mission makes the
    member's invite code if they have none yet)."""
    day = local_day(now, tz)
    views = []
    for mission in active_missions(session, day):
        start, end = period_of(mission, day)
        progress = session.scalars(
            select(MissionProgress).where(
                MissionProgress.mission_id == mission.id,
                MissionProgress.member_id == member.id,
                MissionProgress.period_start == start,
            )
        ).one_or_none()
        answer = answer_of(session, mission, member.id, now, tz) if mission.kind == "poll" else None
        views.append(
            MissionView(
                mission_id=mission.id,
                title=mission.title,
                title_en=mission.title_en,
                description=mission.description,
                kind=mission.kind,
                target=mission.target,
                value=progress.value if progress else 0,
                completed=progress is not None and progress.completed_at is not None,
                weekly=mission.repeat == "weekly",
                period_ends_on=end,
                reward=reward_of(session, mission),
                poll_question=mission.poll_question,
                poll_options=tuple(mission.poll_options or ()),
                answered_option=answer.option if answer else None,
                invite_code=invite_code_for(session, member, now).code if mission.kind == "invite" else None,
            )
        )
    return views


def completed_view(session: Session, progress_id: int) -> MissionView | None:
    """A completed mission as its completion message shows it: the reward is what was given (nothing when, say, the
    reward coupon had run out)."""
    progress = session.get(MissionProgress, progress_id)
    if progress is None or progress.completed_at is None:
        return None
    mission = session.get_one(Mission, progress.mission_id)
    _start, end = period_of(mission, progress.period_start)
    reward = reward_of(session, mission)
    if (reward.points and progress.reward_point_entry_id is None) or (
        reward.coupon and progress.reward_coupon_id is None
    ):
        reward = MissionReward()
    return MissionView(
        mission_id=mission.id,
        title=mission.title,
        title_en=mission.title_en,
        description=mission.description,
        kind=mission.kind,
        target=mission.target,
        value=progress.value,
        completed=True,
        weekly=mission.repeat == "weekly",
        period_ends_on=end,
        reward=reward,
    )
