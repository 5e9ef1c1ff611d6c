"""Programme settings on the marketer's console (marketers and admins) beyond coupons: stamp-card templates, the
tier table, and the daily-task settings. Every page validates with the service (a wrong value: 400, the form
shown again with the zh-TW message naming the field, nothing changed) and lists the versions saved."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from bot.services.marketing import task_settings
from bot.services.marketing.settings_forms import SettingsError, changed_fields, text
from bot.services.rewards import stamp_card_settings as cards
from bot.services.rewards.tier_settings import birthday_choices, save_tiers, tier_history, tiers_from_form
from bot.services.rewards.tiers import TIER_CODES, TIER_LABELS, current_tiers
from bot.uow import UnitOfWork
from bot.web.backoffice import message_page, render_page, staff_page, t
from models import CouponTemplate, Game, Mission, Staff, StampCardTemplate

bp = Blueprint("settings", __name__, url_prefix="/staff/console/settings")

NOTICE_KEY = "settings_notice"
UNCHANGED = "沒有變更"
CARD_NOT_FOUND = "找不到這張集點卡"
CARD_SAVED = "已儲存集點卡「{name}」"
CARD_CREATED = "已新增集點卡「{name}」"
TIERS_SAVED = "已儲存會員等級設定（第 {version} 版）"
CHECKIN_SAVED = "已儲存簽到設定"
GAME_SAVED = "已儲存「{name}」"
GAME_NOT_FOUND = "找不到這個遊戲"
SAVED_MEANWHILE = "另一位同事剛剛也儲存了設定，請重新整理頁面後再試一次"
RULE_LABELS = {"per_amount": "依消費金額", "per_visit": "每次來店"}
CARD_LABELS = {
    "code": "代碼",
    "name": "名稱",
    "rule": "集點方式",
    "amount_per_stamp": "每滿多少元集一點",
    "stamps_to_fill": "集滿點數",
    "daily_limit": "每日上限（點）",
    "valid_days": "有效天數（自第一點起）",
    "reward_coupon_template_id": "集滿獎勵",
    "is_active": "啟用",
}
TIER_FIELD_LABELS = {"threshold": "門檻", "earn_multiplier": "點數倍率", "birthday_coupon": "生日禮"}
MILESTONE_LABELS = {"points": "點數", "coupon": "優惠券", "stamp": "集點卡點數", "freeze": "補簽卡"}
PRIZE_LABELS = {"points": "點數", "coupon": "優惠券"}
GAME_KIND_LABELS = {"draw": "抽獎", "scratch": "刮刮樂"}
WHEN_UNAVAILABLE_LABELS = {"nothing": "沒有獎品", "next": "改給下一個獎項"}
PART_LABELS = {"before": "原始設定", "checkin": "簽到設定", "load": "設定檔載入"}
MISSION_SAVED = "已儲存任務「{name}」"
MISSION_CREATED = "已新增任務「{name}」"
MISSION_NOT_FOUND = "找不到這個任務"
MISSION_KIND_LABELS = {
    "visit_store": "到門市消費（次）",
    "spend": "累積消費（NT$）",
    "redeem_coupon": "使用優惠券（張）",
    "checkin": "每日簽到（天）",
    "invite": "邀請好友加入（位）",
    "poll": "回答小問卷",
}
MISSION_REWARD_LABELS = {"points": "點數", "coupon": "優惠券", "draw_plays": "抽獎次數"}
REPEAT_LABELS = {"none": "整段期間一次", "weekly": "每週一次（週一到週日）"}
MISSION_KEYS = (
    "code",
    "title",
    "title_en",
    "description",
    "kind",
    "target",
    "coupon",
    "question",
    *(f"option_{n}" for n in range(task_settings.MAX_OPTIONS)),
    "repeat",
    "reward_kind",
    "reward_value",
    "starts_on",
    "ends_on",
    "active",
)
EMPTY_ROWS = 2


@bp.after_request
def _not_cached(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


def _error(error: SettingsError) -> str:
    # Params that are labels (a tier's name) are msgids too.
    return t(error.message, **{k: t(v) if isinstance(v, str) else v for k, v in error.params.items()})


def _form(keys: Any) -> dict[str, str]:
    return {key: request.form.get(key, "") for key in keys}


def _staff_names(uow: UnitOfWork, ids: list[int | None]) -> dict[int, str]:
    wanted = [i for i in ids if i is not None]
    query = select(Staff).where(Staff.id.in_(wanted))
    return {s.id: f"{s.name}（{s.code}）" for s in uow.session.scalars(query)}


def _done(message: str, endpoint: str, **values: Any) -> Response:
    session[NOTICE_KEY] = message
    return redirect(url_for(endpoint, **values))


# Stamp-card templates.


@bp.get("/stamp-cards", endpoint="stamp_cards")
@staff_page("marketer")
def stamp_cards(uow: UnitOfWork, staff: Staff) -> ResponseReturnValue:
    """Every stamp-card template with its terms and how many cards are in progress."""
    templates = cards.list_templates(uow.session)
    rewards = {c.id: c.name for c in cards.reward_choices(uow.session)}
    return render_page(
        "staff/settings/stamp_cards.html",
        templates=templates,
        open_counts={tpl.id: cards.open_cards(uow.session, tpl) for tpl in templates},
        rewards=rewards,
        rules=RULE_LABELS,
        notice=session.pop(NOTICE_KEY, None),
    )


def _card_page(
    uow: UnitOfWork,
    template: StampCardTemplate | None,
    form: dict[str, Any],
    error: str | None = None,
    error_field: str | None = None,
    status: int = 200,
) -> tuple[str, int]:
    history = []
    versions = cards.versions_of(uow.session, template) if template is not None else []
    for index, version in enumerate(versions):
        older = versions[index + 1].settings if index + 1 < len(versions) else None
        changed = changed_fields(older, version.settings, cards.SETTINGS_FIELDS)
        history.append({"version": version, "changed": [t(CARD_LABELS[f]) for f in changed]})
    choices = cards.reward_choices(uow.session)
    current = template.reward_coupon_template_id if template is not None else None
    if current is not None and all(c.id != current for c in choices):
        kept = uow.session.get(CouponTemplate, current)
        choices = [*([kept] if kept else []), *choices]
    return render_page(
        "staff/settings/stamp_card.html",
        status,
        card=template,
        form=form,
        error=error,
        error_field=error_field,
        labels=CARD_LABELS,
        rules=RULE_LABELS,
        rewards=choices,
        open_count=cards.open_cards(uow.session, template) if template is not None else 0,
        history=history,
        staff_names=_staff_names(uow, [v.staff_id for v in versions]),
        tz=uow.settings.tz,
        notice=session.pop(NOTICE_KEY, None),
    )


def _shown(form: dict[str, str]) -> dict[str, Any]:
    return {**form, "is_active": form.get("is_active") == "yes"}


@bp.route("/stamp-cards/new", methods=["GET", "POST"], endpoint="stamp_card_new")
@staff_page("marketer")
def stamp_card_new(uow: UnitOfWork, staff: Staff) -> ResponseReturnValue:
    """A new stamp-card template."""
    if request.method == "GET":
        blank = {"rule": "per_amount", "stamps_to_fill": 10, "is_active": True}
        return _card_page(uow, None, blank)
    form = _form(CARD_LABELS)
    try:
        with uow.session.begin_nested():
            new = cards.StampCardSettings.from_form(uow.session, form)
            template = cards.create_template(uow.session, staff, form["code"], new, uow.now)
    except IntegrityError:  # a colleague saved the same version number (or code) a moment before
        return message_page(t(SAVED_MEANWHILE), 409)
    except SettingsError as error:
        return _card_page(uow, None, _shown(form), _error(error), error.field, 400)
    return _done(t(CARD_CREATED, name=template.name), "settings.stamp_card", template_id=template.id)


@bp.route("/stamp-cards/<int:template_id>", methods=["GET", "POST"], endpoint="stamp_card")
@staff_page("marketer")
def stamp_card(uow: UnitOfWork, staff: Staff, template_id: int) -> ResponseReturnValue:
    """A stamp-card template's settings (saved as a new version) and its history."""
    template = uow.session.get(StampCardTemplate, template_id) if 0 < template_id < 2**31 else None
    if template is None:
        return message_page(t(CARD_NOT_FOUND), 404)
    if request.method == "GET":
        return _card_page(uow, template, cards.settings_of(template))
    form = _form(CARD_LABELS)
    try:
        with uow.session.begin_nested():
            new = cards.StampCardSettings.from_form(uow.session, form, template)
            changed = cards.update_template(uow.session, staff, template, new, uow.now)
    except IntegrityError:  # a colleague saved the same version number (or code) a moment before
        return message_page(t(SAVED_MEANWHILE), 409)
    except SettingsError as error:
        uow.session.refresh(template)
        return _card_page(uow, template, _shown(form), _error(error), error.field, 400)
    message = t(CARD_SAVED, name=template.name) if changed else t(UNCHANGED)
    return _done(message, "settings.stamp_card", template_id=template.id)


# The tier table.


def _tiers_page(
    uow: UnitOfWork, form: dict[str, str], error: str | None = None, field: str | None = None, status: int = 200
) -> tuple[str, int]:
    history = tier_history(uow.session)
    choices = [(c.code, c.name) for c in birthday_choices(uow.session)]
    for tier in current_tiers(uow.session):  # a gift kept from before stays selectable
        if tier.birthday_coupon and all(code != tier.birthday_coupon for code, _ in choices):
            choices.append((tier.birthday_coupon, tier.birthday_coupon))
    rows = [
        {
            "version": v,
            "changed": [f"{t(TIER_LABELS[code])} {t(TIER_FIELD_LABELS[key])}" for code, key in v.changed],
        }
        for v in history
    ]
    return render_page(
        "staff/settings/tiers.html",
        status,
        form=form,
        error=error,
        error_field=field,
        codes=TIER_CODES,
        tier_labels=TIER_LABELS,
        gifts=choices,
        history=rows,
        staff_names=_staff_names(uow, [v.staff_id for v in history]),
        tz=uow.settings.tz,
        notice=session.pop(NOTICE_KEY, None),
    )


def _multiplier_text(multiplier: float) -> str:
    """1.0, 1.2, 1.25: at least one decimal, at most two."""
    shown = f"{multiplier:.2f}".rstrip("0")
    return shown + "0" if shown.endswith(".") else shown


def _tier_form_keys() -> list[str]:
    return [f"{field}_{code}" for code in TIER_CODES for field in ("threshold", "multiplier", "birthday")]


@bp.route("/tiers", methods=["GET", "POST"], endpoint="tiers")
@staff_page("marketer")
def tiers(uow: UnitOfWork, staff: Staff) -> ResponseReturnValue:
    """The tier table in force (thresholds, earn multipliers, birthday coupons), saved as a new version, and the
    versions before it."""
    if request.method == "GET":
        form: dict[str, str] = {}
        for tier in current_tiers(uow.session):
            form[f"threshold_{tier.code}"] = str(tier.threshold)
            form[f"multiplier_{tier.code}"] = _multiplier_text(tier.earn_multiplier)
            form[f"birthday_{tier.code}"] = tier.birthday_coupon or ""
        return _tiers_page(uow, form)
    form = _form(_tier_form_keys())
    try:
        with uow.session.begin_nested():
            version = save_tiers(uow.session, staff, tiers_from_form(uow.session, form), uow.now)
    except IntegrityError:  # a colleague saved the same version number (or code) a moment before
        return message_page(t(SAVED_MEANWHILE), 409)
    except SettingsError as error:
        return _tiers_page(uow, form, _error(error), error.field, 400)
    message = t(TIERS_SAVED, version=version.version) if version else t(UNCHANGED)
    return _done(message, "settings.tiers")


# Daily tasks.


def _checkin_form(uow: UnitOfWork) -> dict[str, str]:
    settings = task_settings.snapshot(uow.session)["checkin"]
    form = {
        "checkins_enabled": "yes" if settings["enabled"] else "",
        "reminders_enabled": "yes" if settings["reminder"]["enabled"] else "",
        "reminder_time": settings["reminder"]["time"],
    }
    for n, milestone in enumerate(settings["milestones"]):
        kind = next(k for k in task_settings.MILESTONE_KINDS if k in milestone)
        form |= {f"m_day_{n}": str(milestone["day"]), f"m_kind_{n}": kind, f"m_value_{n}": str(milestone[kind] or "")}
    return form


def _rows_in(form: dict[str, str], prefix: str) -> int:
    numbers = [int(k.rpartition("_")[2]) for k in form if k.startswith(prefix) and k.rpartition("_")[2].isdigit()]
    return max(numbers, default=-1) + 1 + EMPTY_ROWS


def _tasks_page(
    uow: UnitOfWork, form: dict[str, str], error: str | None = None, field: str | None = None, status: int = 200
) -> tuple[str, int]:
    history = task_settings.task_history(uow.session)
    games = {game.code: game for game in uow.session.scalars(select(Game))}
    missions = {mission.code: mission for mission in uow.session.scalars(select(Mission))}
    return render_page(
        "staff/settings/tasks.html",
        status,
        form=form,
        rows=_rows_in(form, "m_day_"),
        error=error,
        error_field=field,
        kinds=MILESTONE_LABELS,
        games=[g for kind in task_settings.SECTION_OF_KIND for g in task_settings.games_of(uow.session, kind)],
        game_kinds=GAME_KIND_LABELS,
        missions=task_settings.missions_of(uow.session),
        mission_kinds=MISSION_KIND_LABELS,
        mission_progress=task_settings.mission_progress_counts(uow.session),
        history=[{"version": v, "what": _part(v.part, games, missions)} for v in history],
        staff_names=_staff_names(uow, [v.staff_id for v in history]),
        tz=uow.settings.tz,
        notice=session.pop(NOTICE_KEY, None),
    )


def _part(part: str, games: dict[str, Game], missions: dict[str, Mission]) -> str:
    if part.startswith("game:"):
        game = games.get(part.removeprefix("game:"))
        return game.name if game else part
    if part.startswith("mission:"):
        mission = missions.get(part.removeprefix("mission:"))
        return t("任務「{name}」", name=mission.title) if mission else part
    return t(PART_LABELS.get(part, part))


def _posted_rows(prefix: str, fields: tuple[str, ...]) -> dict[str, str]:
    form: dict[str, str] = {}
    for key, value in request.form.items():
        field, _, number = key.removeprefix(prefix).rpartition("_")
        if key.startswith(prefix) and field in fields and number.isdigit() and len(number) < 3:
            form[key] = value
    return form


@bp.get("/tasks", endpoint="tasks")
@staff_page("marketer")
def tasks(uow: UnitOfWork, staff: Staff) -> ResponseReturnValue:
    """The check-in settings (reminder, milestones), the games, and the versions of the daily-task settings."""
    return _tasks_page(uow, _checkin_form(uow))


@bp.post("/tasks/checkin", endpoint="tasks_checkin")
@staff_page("marketer")
def tasks_checkin(uow: UnitOfWork, staff: Staff) -> ResponseReturnValue:
    """Save the check-in settings, validated as `omo engagement load` validates the file."""
    form = {
        **_form(("checkins_enabled", "reminders_enabled", "reminder_time")),
        **_posted_rows("m_", ("day", "kind", "value")),
    }
    try:
        with uow.session.begin_nested():
            changed = task_settings.save_checkin(uow.session, staff, form, uow.now)
    except IntegrityError:  # a colleague saved the same version number (or code) a moment before
        return message_page(t(SAVED_MEANWHILE), 409)
    except SettingsError as error:
        return _tasks_page(uow, form, _error(error), error.field, 400)
    return _done(t(CHECKIN_SAVED) if changed else t(UNCHANGED), "settings.tasks")


def _game_form(uow: UnitOfWork, game: Game) -> dict[str, str]:
    section = task_settings.snapshot(uow.session)[task_settings.SECTION_OF_KIND[game.kind]]
    entry = next(g for g in section if g["code"] == game.code)
    form = {
        "name": entry["name"],
        "free_plays_per_day": str(entry["free_plays_per_day"]),
        "daily_budget": "" if entry["daily_budget"] is None else str(entry["daily_budget"]),
        "when_unavailable": entry["when_unavailable"],
        "active": "yes" if entry["active"] else "",
        "starts_on": entry["starts_on"] or "",
        "ends_on": entry["ends_on"] or "",
    }
    for n, prize in enumerate(entry["prizes"]):
        kind = "points" if "points" in prize else "coupon"
        form |= {
            f"p_code_{n}": prize["code"],
            f"p_name_{n}": prize["name"],
            f"p_odds_{n}": prize["odds"].removesuffix("%"),
            f"p_stock_{n}": "" if prize["stock"] is None else str(prize["stock"]),
            f"p_kind_{n}": kind,
            f"p_value_{n}": str(prize[kind] or ""),
        }
    return form


def _game_page(
    uow: UnitOfWork,
    game: Game,
    form: dict[str, str],
    error: str | None = None,
    field: str | None = None,
    status: int = 200,
) -> tuple[str, int]:
    prizes = {p.code: p for p in task_settings.prizes_of(uow.session, game)}
    return render_page(
        "staff/settings/game.html",
        status,
        game=game,
        form=form,
        rows=_rows_in(form, "p_code_"),
        prizes=prizes,
        error=error,
        error_field=field,
        prize_kinds=PRIZE_LABELS,
        game_kinds=GAME_KIND_LABELS,
        when_labels=WHEN_UNAVAILABLE_LABELS,
        notice=session.pop(NOTICE_KEY, None),
    )


@bp.route("/tasks/games/<int:game_id>", methods=["GET", "POST"], endpoint="tasks_game")
@staff_page("marketer")
def tasks_game(uow: UnitOfWork, staff: Staff, game_id: int) -> ResponseReturnValue:
    """One lucky draw's or scratch card's daily plays, prize budget and prize table."""
    game = uow.session.get(Game, game_id) if 0 < game_id < 2**31 else None  # beyond the id column: no such game
    if game is None:
        return message_page(t(GAME_NOT_FOUND), 404)
    if request.method == "GET":
        return _game_page(uow, game, _game_form(uow, game))
    keys = ("name", "free_plays_per_day", "daily_budget", "when_unavailable", "active", "starts_on", "ends_on")
    form = {**_form(keys), **_posted_rows("p_", ("code", "name", "odds", "stock", "kind", "value"))}
    try:
        with uow.session.begin_nested():
            changed = task_settings.save_game(uow.session, staff, game, form, uow.now)
    except IntegrityError:  # a colleague saved the same version number (or code) a moment before
        return message_page(t(SAVED_MEANWHILE), 409)
    except SettingsError as error:
        uow.session.refresh(game)
        return _game_page(uow, game, form, _error(error), error.field, 400)
    return _done(t(GAME_SAVED, name=game.name) if changed else t(UNCHANGED), "settings.tasks_game", game_id=game.id)


# Missions.


def _mission_form(uow: UnitOfWork, mission: Mission) -> dict[str, str]:
    entry = next(m for m in task_settings.snapshot(uow.session)["missions"] if m["code"] == mission.code)
    reward_kind, reward_value = next(iter(entry["reward"].items()))
    form = {
        "code": entry["code"],
        "title": entry["title"],
        "title_en": entry.get("title_en") or "",
        "description": entry.get("description") or "",
        "kind": entry["kind"],
        "target": str(entry["target"]),
        "coupon": entry.get("coupon") or "",
        "question": entry.get("question") or "",
        "repeat": entry["repeat"],
        "reward_kind": reward_kind,
        "reward_value": "" if reward_value is None else str(reward_value),
        "starts_on": entry["starts_on"],
        "ends_on": entry["ends_on"],
        "active": "yes" if entry["active"] else "",
    }
    for n, option in enumerate(entry.get("options") or []):
        form[f"option_{n}"] = option
    return form


def _mission_page(
    uow: UnitOfWork,
    mission: Mission | None,
    form: dict[str, str],
    error: str | None = None,
    field: str | None = None,
    status: int = 200,
) -> tuple[str, int]:
    progress = task_settings.mission_progress_counts(uow.session).get(mission.id, 0) if mission is not None else 0
    return render_page(
        "staff/settings/mission.html",
        status,
        mission=mission,
        form=form,
        error=error,
        error_field=field,
        kinds=MISSION_KIND_LABELS,
        rewards=MISSION_REWARD_LABELS,
        repeats=REPEAT_LABELS,
        options=task_settings.MAX_OPTIONS,
        progress=progress,
        notice=session.pop(NOTICE_KEY, None),
    )


def _save_mission(uow: UnitOfWork, staff: Staff, mission: Mission | None) -> ResponseReturnValue:
    form = _form(MISSION_KEYS)
    try:
        with uow.session.begin_nested():
            changed = task_settings.save_mission(uow.session, staff, mission, form, uow.now)
    except IntegrityError:  # a colleague saved the same version number (or code) a moment before
        return message_page(t(SAVED_MEANWHILE), 409)
    except SettingsError as error:
        if mission is not None:
            uow.session.refresh(mission)
        return _mission_page(uow, mission, form, _error(error), error.field, 400)
    code = mission.code if mission is not None else text(form, "code")
    saved = uow.session.scalars(select(Mission).where(Mission.code == code)).one()
    if mission is None:
        message = t(MISSION_CREATED, name=saved.title)
    else:
        message = t(MISSION_SAVED, name=saved.title) if changed else t(UNCHANGED)
    return _done(message, "settings.tasks_mission", mission_id=saved.id)


@bp.route("/tasks/missions/new", methods=["GET", "POST"], endpoint="tasks_mission_new")
@staff_page("marketer")
def tasks_mission_new(uow: UnitOfWork, staff: Staff) -> ResponseReturnValue:
    """A new mission: what counts, the target, the reward, the dates; validated as the YAML's `missions` section."""
    if request.method == "GET":
        blank = {"kind": "visit_store", "repeat": "none", "reward_kind": "points", "active": "yes"}
        return _mission_page(uow, None, blank)
    return _save_mission(uow, staff, None)


@bp.route("/tasks/missions/<int:mission_id>", methods=["GET", "POST"], endpoint="tasks_mission")
@staff_page("marketer")
def tasks_mission(uow: UnitOfWork, staff: Staff, mission_id: int) -> ResponseReturnValue:
    """One mission's settings (never deleted: switching it off ends it, members' progress stays)."""
    mission = uow.session.get(Mission, mission_id) if 0 < mission_id < 2**31 else None
    if mission is None:
        return message_page(t(MISSION_NOT_FOUND), 404)
    if request.method == "GET":
        return _mission_page(uow, mission, _mission_form(uow, mission))
    return _save_mission(uow, staff, mission)
