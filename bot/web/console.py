"""The marketer's console (marketers and admins): saved segments, built on a page that shows the live count and a
masked sample before saving.

The builder (bot/static/staff/segments.js) edits the definition as JSON in a hidden field; the page posts it with
the name, and the same JSON goes to the preview endpoint (CSRF in the X-CSRFToken header) while the marketer edits.
"""

from __future__ import annotations

import json
import secrets
from typing import Any, TypeVar

from flask import Blueprint, jsonify, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from werkzeug.wrappers import Response

from bot.services.marketing.definition import (
    CONDITION_KINDS,
    COUPON_STATES,
    SOURCES,
    DefinitionError,
    parse_definition,
)
from bot.services.marketing.products import categories
from bot.services.marketing.programme import (
    SettingsError,
    TemplateSettings,
    changed_fields,
    issue_to_member,
    issue_to_segment,
    list_templates,
    settings_of,
    update_template,
    versions_of,
)
from bot.services.marketing.rfm import RFM_GROUPS
from bot.services.marketing.segments import (
    audience_for_marketing,
    count,
    create_segment,
    delete_segment,
    list_segments,
    members_matching,
    sample,
    update_segment,
)
from bot.services.marketing.tags import live as live_tag
from bot.services.refusals import Refused
from bot.services.rewards.tiers import TIER_CODES, TIER_LABELS
from bot.uow import UnitOfWork
from bot.web.backoffice import message_page, refusal_text, render_page, staff_page, t
from models import CouponTemplate, Member, Segment, Staff, StampCardTemplate, Store, Tag

bp = Blueprint("console", __name__, url_prefix="/staff/console")
T = TypeVar("T")

NOTICE_KEY = "console_notice"
NOT_FOUND = "找不到這個分群"
BAD_JSON = "分群條件格式不正確"
SAVED = "已儲存分群「{name}」"
DELETED = "已刪除分群「{name}」"
MAX_BODY = 64 * 1024
# Ids beyond the id columns' range name nothing (and would be a database error, not a miss).
MAX_ID = 2**31 - 1
# A definition nests at most MAX_DEPTH groups of conditions with lists inside: far less than this.
MAX_JSON_DEPTH = 32
SOURCE_LABELS = {"line": "LINE", "counter": "門市櫃台", "api": "POS 系統", "pos_import": "POS 匯入"}
COUPON_STATE_LABELS = {"held": "持有未使用", "redeemed": "期間內已使用", "expiring": "幾天內到期"}
# Words the builder script shows, translated on the server.
BUILDER_WORDS = (
    "符合以下全部條件",
    "符合以下任一條件",
    "新增條件",
    "新增群組",
    "移除",
    "排除（NOT）",
    "最近幾天",
    "最小值",
    "最大值",
    "從（含）",
    "到（不含）",
    "是",
    "否",
    "SKU（以逗號分隔）",
    "集點卡",
    "優惠券",
    "狀態",
    "不限",
    "符合人數",
    "可發送行銷訊息",
    "名單範例",
    "會員編號",
    "姓名",
    "等級",
    "計算中…",
    "沒有符合的會員",
)


@bp.after_request
def _not_cached(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


def _error_text(error: DefinitionError) -> str:
    params = dict(error.params)
    for key in ("kind", "problem"):
        if key in params:
            params[key] = t(str(params[key]))
    return t(error.message, **params)


def _builder_options(uow: UnitOfWork) -> dict[str, Any]:
    """Everything the builder offers to choose from, with labels in the staff member's language."""
    session_ = uow.session
    stores = session_.scalars(select(Store).order_by(Store.code))
    cards = session_.scalars(select(StampCardTemplate).order_by(StampCardTemplate.code))
    coupons = session_.scalars(select(CouponTemplate).order_by(CouponTemplate.code))
    referrers = session_.scalars(select(Staff).where(Staff.role.in_(("clerk", "manager"))).order_by(Staff.code))
    return {
        "kinds": [[code, t(label)] for code, label in CONDITION_KINDS.items()],
        "tiers": [[code, t(TIER_LABELS[code])] for code in TIER_CODES],
        "stores": [[s.id, f"{s.name}（{s.code}）"] for s in stores],
        "stampCards": [[c.id, c.name] for c in cards],
        "coupons": [[c.id, c.name] for c in coupons],
        "staff": [[s.id, f"{s.name}（{s.code}）"] for s in referrers],
        "sources": [[code, t(SOURCE_LABELS[code])] for code in SOURCES],
        "couponStates": [[code, t(COUPON_STATE_LABELS[code])] for code in COUPON_STATES],
        "months": [[m, t("{m} 月", m=m)] for m in range(1, 13)],
        "categories": [[name, f"{name}（{n}）"] for name, n in categories(session_)],
        "tags": [[tag.id, tag.name] for tag in session_.scalars(select(Tag).where(live_tag()).order_by(Tag.name))],
        "rfmGroups": [[code, t(name)] for code, (name, _) in RFM_GROUPS.items()],
        "words": {word: t(word) for word in BUILDER_WORDS},
    }


def _page(
    uow: UnitOfWork, segment: Segment | None, name: str, definition: Any, error: str | None, status: int = 200
) -> tuple[str, int]:
    definition_json = json.dumps(definition, ensure_ascii=False)
    try:
        definition_json.encode()
    except UnicodeEncodeError:  # a refused lone surrogate: written back escaped, as it came
        definition_json = json.dumps(definition)
    return render_page(
        "staff/console/segment_form.html",
        status,
        segment=segment,
        name=name,
        definition_json=definition_json,
        options_json=json.dumps(_builder_options(uow), ensure_ascii=False),
        error=error,
    )


def _depth(value: Any) -> int:
    """How deep lists and objects nest in a JSON value (counted without recursion)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is not None:
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in children)
    return deepest


def _json(raw: str | bytes) -> Any:
    """A definition's JSON, or DefinitionError: also when it nests too deep to read (a RecursionError, not a
    ValueError) or deeper than a page could show it again."""
    if len(raw) > MAX_BODY:
        raise DefinitionError(BAD_JSON)
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        raise DefinitionError(BAD_JSON) from None
    if _depth(value) > MAX_JSON_DEPTH:
        raise DefinitionError(BAD_JSON)
    return value


def _posted_definition() -> Any:
    return _json(request.form.get("definition", ""))


def _get(uow: UnitOfWork, model: type[T], object_id: int) -> T | None:
    return uow.session.get(model, object_id) if 0 < object_id <= MAX_ID else None


def _save(uow: UnitOfWork, staff: Staff, segment: Segment | None) -> ResponseReturnValue:
    name = request.form.get("name", "")
    definition: Any = None
    try:
        definition = _posted_definition()
        with uow.session.begin_nested():
            if segment is None:
                segment = create_segment(uow.session, staff, name, definition, uow.now)
            else:
                update_segment(uow.session, staff, segment, name, definition, uow.now)
    except DefinitionError as error:
        return _page(uow, segment, name, definition, _error_text(error), 400)
    session[NOTICE_KEY] = t(SAVED, name=segment.name)
    return redirect(url_for("console.segments"))


@bp.get("/segments", endpoint="segments")
@staff_page("marketer")
def segments_page(uow: UnitOfWork, staff: Staff) -> ResponseReturnValue:
    """The saved segments, each with its members and marketing audience counted now."""
    tz = uow.settings.tz
    rows: list[dict[str, Any]] = []
    members: int | None
    reachable: int | None
    for segment in list_segments(uow.session):
        problem = None
        try:
            members = count(uow.session, members_matching(uow.session, segment.definition, uow.now, tz))
            reachable = count(uow.session, audience_for_marketing(uow.session, segment, uow.now, tz))
        except DefinitionError as error:
            members = reachable = None
            problem = _error_text(error)
        rows.append({"segment": segment, "members": members, "reachable": reachable, "problem": problem})
    return render_page("staff/console/segments.html", rows=rows, tz=tz, notice=session.pop(NOTICE_KEY, None))


@bp.route("/segments/new", methods=["GET", "POST"], endpoint="segment_new")
@staff_page("marketer")
def segment_new(uow: UnitOfWork, staff: Staff) -> ResponseReturnValue:
    """The builder for a new segment."""
    if request.method == "POST":
        return _save(uow, staff, None)
    return _page(uow, None, "", {"all": []}, None)


@bp.route("/segments/<int:segment_id>", methods=["GET", "POST"], endpoint="segment_edit")
@staff_page("marketer")
def segment_edit(uow: UnitOfWork, staff: Staff, segment_id: int) -> ResponseReturnValue:
    """The builder for a saved segment: rename it or change its conditions."""
    segment = _get(uow, Segment, segment_id)
    if segment is None:
        return message_page(t(NOT_FOUND), 404)
    if request.method == "POST":
        return _save(uow, staff, segment)
    return _page(uow, segment, segment.name, segment.definition, None)


@bp.post("/segments/<int:segment_id>/delete", endpoint="segment_delete")
@staff_page("marketer")
def segment_delete(uow: UnitOfWork, staff: Staff, segment_id: int) -> ResponseReturnValue:
    """Delete a saved segment (the list page asks first)."""
    segment = _get(uow, Segment, segment_id)
    if segment is None:
        return message_page(t(NOT_FOUND), 404)
    name = segment.name
    try:
        delete_segment(uow.session, staff, segment, uow.now)
    except Refused as refused:
        return message_page(refusal_text(refused), 409)
    session[NOTICE_KEY] = t(DELETED, name=name)
    return redirect(url_for("console.segments"))


@bp.post("/segments/preview", endpoint="segment_preview")
@staff_page("marketer")
def segment_preview(uow: UnitOfWork, staff: Staff) -> ResponseReturnValue:
    """The live count, marketing audience and a masked sample of a definition being built (JSON)."""
    tz = uow.settings.tz
    try:
        readable = request.is_json and (request.content_length or 0) <= MAX_BODY
        body = _json(request.get_data()) if readable else None
        raw = body.get("definition") if isinstance(body, dict) else None
        definition = parse_definition(raw)
        members = members_matching(uow.session, definition, uow.now, tz)
        result = {
            "count": count(uow.session, members),
            "reachable": count(uow.session, audience_for_marketing(uow.session, definition, uow.now, tz)),
            "sample": [
                {"member_number": s.member_number, "name": s.masked_name, "tier": t(_tier_name(s.tier))}
                for s in sample(uow.session, members)
            ],
        }
    except DefinitionError as error:
        return jsonify({"error": _error_text(error)}), 400
    return jsonify(result)


def _tier_name(code: str) -> str:
    return TIER_LABELS.get(code, code)


# Programme settings: coupon templates.

KIND_LABELS = {"amount_off": "折抵金額", "percent_off": "折扣（%）", "free_item": "兌換品項", "bogo": "買一送一"}
SETTING_LABELS = {
    "name": "名稱",
    "kind": "種類",
    "value": "折抵金額或折扣",
    "item": "品項",
    "min_spend": "最低消費（NT$）",
    "valid_from": "開始日期",
    "valid_until": "結束日期",
    "valid_days_after_issue": "發券後有效天數",
    "total_limit": "發行總量",
    "per_member_limit": "每人限領",
    "is_active": "啟用",
    "redeemable_without_member": "不需會員條碼即可核銷",
}
TEMPLATE_SAVED = "已儲存優惠券「{name}」"
TEMPLATE_UNCHANGED = "沒有變更"
TEMPLATE_NOT_FOUND = "找不到這張優惠券"
ISSUED_ONE = "已發給會員 {number} 一張「{name}」"
ISSUED_BEFORE = "這張表單已經發給會員 {number}，沒有重複發送"
ISSUED_SEGMENT = "已發出 {issued} 張；之前已發 {already} 張；{refused} 人已達每人限領"
ISSUED_SOLD_OUT = "已達發行總量，其餘會員沒有發到"
NO_SEGMENT = "請選擇分群"


def _template_page(
    uow: UnitOfWork,
    template: CouponTemplate,
    form: dict[str, Any],
    error: str | None = None,
    error_field: str | None = None,
    status: int = 200,
) -> tuple[str, int]:
    versions = versions_of(uow.session, template)
    history = []
    for index, version in enumerate(versions):
        older = versions[index + 1].settings if index + 1 < len(versions) else None
        history.append(
            {"version": version, "changed": [t(SETTING_LABELS[f]) for f in changed_fields(older, version.settings)]}
        )
    staff_names = {
        s.id: f"{s.name}（{s.code}）"
        for s in uow.session.scalars(select(Staff).where(Staff.id.in_([v.staff_id for v in versions if v.staff_id])))
    }
    return render_page(
        "staff/console/coupon_template.html",
        status,
        coupon=template,
        form=form,
        error=error,
        error_field=error_field,
        kinds=KIND_LABELS,
        labels=SETTING_LABELS,
        history=history,
        staff_names=staff_names,
        segments=list_segments(uow.session),
        token=secrets.token_hex(16),
        tz=uow.settings.tz,
        notice=session.pop(NOTICE_KEY, None),
    )


def _settings_error_text(error: SettingsError) -> str:
    return t(error.message, **error.params)


@bp.get("/coupons", endpoint="coupon_templates")
@staff_page("marketer")
def coupon_templates(uow: UnitOfWork, staff: Staff) -> ResponseReturnValue:
    """Every coupon template with its terms and how many were issued."""
    return render_page(
        "staff/console/coupon_templates.html",
        templates=list_templates(uow.session),
        kinds=KIND_LABELS,
        notice=session.pop(NOTICE_KEY, None),
    )


@bp.route("/coupons/<int:template_id>", methods=["GET", "POST"], endpoint="coupon_template")
@staff_page("marketer")
def coupon_template(uow: UnitOfWork, staff: Staff, template_id: int) -> ResponseReturnValue:
    """A coupon template's settings (saved as a new version), its history and the hand-issue forms."""
    template = _get(uow, CouponTemplate, template_id)
    if template is None:
        return message_page(t(TEMPLATE_NOT_FOUND), 404)
    tz = uow.settings.tz
    if request.method == "GET":
        return _template_page(uow, template, settings_of(template, tz))
    form = {key: request.form.get(key, "") for key in SETTING_LABELS}
    try:
        new = TemplateSettings.from_form(form)
        with uow.session.begin_nested():
            changed = update_template(uow.session, staff, template, new, uow.now, tz)
    except SettingsError as error:
        uow.session.refresh(template)
        shown = {
            **form,
            "is_active": form["is_active"] == "yes",
            "redeemable_without_member": form["redeemable_without_member"] == "yes",
        }
        return _template_page(uow, template, shown, _settings_error_text(error), error.field, 400)
    session[NOTICE_KEY] = t(TEMPLATE_SAVED, name=template.name) if changed else t(TEMPLATE_UNCHANGED)
    return redirect(url_for("console.coupon_template", template_id=template.id))


@bp.post("/coupons/<int:template_id>/issue", endpoint="coupon_issue")
@staff_page("marketer")
def coupon_issue(uow: UnitOfWork, staff: Staff, template_id: int) -> ResponseReturnValue:
    """Issue the template by hand to one member (by member number) or to a saved segment, once per form."""
    template = _get(uow, CouponTemplate, template_id)
    if template is None:
        return message_page(t(TEMPLATE_NOT_FOUND), 404)
    token = request.form.get("token", "")
    notice: str
    try:
        with uow.session.begin_nested():
            if request.form.get("to") == "segment":
                segment_id = request.form.get("segment_id", "")
                segment = (
                    uow.session.get(Segment, int(segment_id))
                    if segment_id.isascii() and segment_id.isdigit() and len(segment_id) < 10
                    else None
                )
                if segment is None:
                    raise SettingsError(NO_SEGMENT, "segment_id")
                result = issue_to_segment(uow.session, staff, template, segment, token, uow.now, uow.settings.tz)
                notice = t(ISSUED_SEGMENT, issued=result.issued, already=result.already, refused=result.refused)
                if result.sold_out:
                    notice += " " + t(ISSUED_SOLD_OUT)
            else:
                number = request.form.get("member_number", "")
                coupon, new = issue_to_member(uow.session, staff, template, number, token, uow.now)
                member_number = uow.session.get(Member, coupon.member_id).member_number  # type: ignore[union-attr]
                notice = t(ISSUED_ONE if new else ISSUED_BEFORE, number=member_number, name=template.name)
    except SettingsError as error:
        return _template_page(
            uow, template, settings_of(template, uow.settings.tz), _settings_error_text(error), error.field, 400
        )
    except Refused as refused:
        return _template_page(uow, template, settings_of(template, uow.settings.tz), refusal_text(refused), None, 400)
    except DefinitionError as error:
        return _template_page(uow, template, settings_of(template, uow.settings.tz), _error_text(error), None, 400)
    session[NOTICE_KEY] = notice
    return redirect(url_for("console.coupon_template", template_id=template.id))
