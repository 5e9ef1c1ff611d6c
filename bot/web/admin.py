"""The back office's admin pages: stores, staff and their roles, the stores' POS API keys, and the audit log.

Admins manage everything. A store manager manages the clerks of their own store (list, add, edit, activate or
deactivate, reset a password) and reads their store's audit log; anything else is a 403 page. Every change goes
through a service in a savepoint (`attempt`): a refusal shows the form again with the reason and changes nothing.
After a change the browser is sent on (post, redirect, get), so reloading a page never repeats it; a new POS key is
the exception: it is shown once on the answer to the form, never stored, logged or shown again.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from flask import Blueprint, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response

from bot.services.refusals import Reason, Refused
from bot.services.staff.accounts import (
    MAX_PASSWORD_LENGTH,
    StaffDraft,
    create_staff,
    set_active,
    set_password,
    update_staff,
)
from bot.services.staff.api_keys import (
    DEFAULT_SCOPES,
    SCOPES,
    create_store_key,
    revoke_store_key,
    scopes_of,
    store_keys,
)
from bot.services.staff.audit import AuditSubjects, recent_changes, subjects_of
from bot.services.staff.management import (
    ensure_may_manage,
    managed_staff,
    may_manage,
    roles_assignable_by,
    staff_directory,
)
from bot.services.staff.stores import StoreDraft, all_stores, create_store, update_store
from bot.uow import UnitOfWork
from bot.web.backoffice import (
    ROLE_NAMES,
    attempt,
    message_page,
    refusal_text,
    render_page,
    staff_page,
    start_session,
    t,
)
from bot.web.console import KIND_LABELS as COUPON_KIND_LABELS
from bot.web.console import SETTING_LABELS as COUPON_SETTING_LABELS
from models import ApiKey, Staff, StaffAudit, Store

bp = Blueprint("admin", __name__, url_prefix="/staff/admin")

ID = "int(max=2147483647)"  # larger numbers are no row's id (and too large for SQLite)
NOTICE_KEY = "admin_notice"
AUDIT_PAGE = 100
PASSWORDS_DIFFER = "兩次輸入的新密碼不一致"
PASSWORD_TOO_LONG = "密碼最多 {length} 個字元"
STORE_NOT_FOUND = "查無此門市"
STORE_CREATED = "已新增門市「{name}」"
STORE_SAVED = "已儲存門市「{name}」"
STAFF_CREATED = "已新增員工「{name}」"
STAFF_SAVED = "已儲存「{name}」的資料"
STAFF_UNCHANGED = "沒有任何變更"
STAFF_ACTIVATED = "已啟用「{name}」"
STAFF_DEACTIVATED = "已停用「{name}」，他的登入已全部登出"
PASSWORD_SET = "已為「{name}」設定新密碼，他的登入已全部登出"
KEY_REVOKED = "已撤銷金鑰「{name}」，使用它的請求從現在起都會被拒絕"
KEY_ALREADY_REVOKED = "金鑰「{name}」先前已撤銷"
COMMAND_LINE = "系統指令（omo）"
# Refusals that mean "not yours" or "not there" get a page of their own; the others are shown on the form.
STATUS = {Reason.STAFF_OUTSIDE_STORE: 403, Reason.STAFF_NOT_FOUND: 404, Reason.API_KEY_UNKNOWN: 404}

# How the audit log names what happened, the fields that changed and the keys' scopes (each has its English in the
# catalogue; tests/web/test_admin_audit.py checks).
ACTION_LABELS = {
    "staff.create": "新增員工",
    "staff.update": "修改員工資料",
    "staff.activate": "啟用員工",
    "staff.deactivate": "停用員工",
    "staff.password": "設定密碼",
    "store.create": "新增門市",
    "store.update": "修改門市",
    "api_key.create": "建立 POS 金鑰",
    "api_key.revoke": "撤銷 POS 金鑰",
    "segment.create": "新增分群",
    "segment.update": "修改分群",
    "segment.delete": "刪除分群",
    "tag.create": "新增會員標籤",
    "tag.rename": "修改會員標籤名稱",
    "tag.delete": "刪除會員標籤",
    "coupon_template.update": "修改優惠券",
    "product.create": "新增商品",
    "product.update": "修改商品",
    "product.import": "匯入商品目錄",
    "stamp_card_template.create": "新增集點卡",
    "stamp_card_template.update": "修改集點卡",
    "tier_settings.update": "修改會員等級設定",
    "task_settings.update": "修改每日任務設定",
}
FIELD_LABELS = {
    "code": "編號",
    "name": "名稱",
    "role": "角色",
    "store_id": "門市",
    "is_online": "網路商店",
    "address": "地址",
    "phone": "電話",
    "opening_hours": "營業時間",
    "scopes": "權限",
    "renamed_from": "原名稱",
    "conditions_changed": "條件已修改",
    "members": "會員數",
    "segment": "分群",
    "sku": "商品 SKU",
    "sku_from": "原 SKU",
    "category": "商品類別",
    "rows": "匯入列數",
    "added": "新增",
    "changed": "變更",
    "added_skus": "新增的 SKU",
    "changed_skus": "變更的 SKU",
    **COUPON_SETTING_LABELS,  # a coupon template's settings, named as on its page
}
# What the newer kinds of audit row are about, named by the code, SKU or name the row holds (a product import is
# about the catalogue as a whole).
NAMED_TARGETS = {"tag": "會員標籤", "product": "商品目錄", "coupon_template": "優惠券"}
SCOPE_LABELS = {
    "scan": "掃碼、消費、退款、集點",
    "coupons": "優惠券（查詢、核銷、取消）",
    "members": "會員資料（綁定碼、解除綁定、刪除）",
}
YES, NO, NONE = "是", "否", "—"
EMPTY_STORE_FORM = {"code": "", "name": "", "is_online": False, "address": "", "phone": "", "opening_hours": ""}


@bp.after_request
def _not_cached(response: Response) -> Response:
    """Admin pages (one of them shows a new key) are never kept by the browser or a proxy."""
    response.headers["Cache-Control"] = "no-store"
    return response


def _field(name: str) -> str:
    """A form field as sent (too long or unprintable is for the service to refuse, not for us to cut)."""
    return request.form.get(name, "")


def _number(value: str | None) -> int | None:
    """A row id from a form or query; None for anything that is not one (ASCII digits only: "²" is a digit to
    str.isdigit but no number to int)."""
    if value is None or not value.isascii() or not value.isdigit() or len(value) > 9:
        return None
    return int(value)


def _reason_text(refused: Refused) -> str:
    """The refusal in the staff member's language, a field's name included."""
    if "field" in refused.params:
        refused = Refused(refused.reason, **{**refused.params, "field": t(str(refused.params["field"]))})
    return refusal_text(refused)


def _refused_page(refused: Refused) -> tuple[str, int] | None:
    """A page of its own for "not yours" or "not there"; None when the form should show the refusal."""
    status = STATUS.get(refused.reason)
    return message_page(_reason_text(refused), status) if status else None


def _done(notice: str, endpoint: str, **values: Any) -> Response:
    """After a change: on to the next page, which says what was done."""
    session[NOTICE_KEY] = notice
    return redirect(url_for(endpoint, **values))


def _page(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    return render_page(template, status, notice=session.pop(NOTICE_KEY, None), **context)


# Stores


def _store_draft() -> StoreDraft:
    return StoreDraft(
        code=_field("code"),
        name=_field("name"),
        is_online=request.form.get("is_online") == "1",
        address=_field("address"),
        phone=_field("phone"),
        opening_hours=_field("opening_hours"),
    )


def _store_form(store: Store) -> dict[str, Any]:
    return {
        "code": store.code,
        "name": store.name,
        "is_online": store.is_online,
        "address": store.address or "",
        "phone": store.phone or "",
        "opening_hours": store.opening_hours or "",
    }


@bp.get("/stores", endpoint="stores")
@staff_page("admin")
def stores_page(uow: UnitOfWork, staff: Staff) -> ResponseReturnValue:
    return _page("staff/admin/stores.html", stores=all_stores(uow.session))


@bp.route("/stores/new", methods=["GET", "POST"])
@staff_page("admin")
def store_new(uow: UnitOfWork, staff: Staff) -> ResponseReturnValue:
    if request.method == "GET":
        return _page("staff/admin/store_form.html", store=None, form=EMPTY_STORE_FORM)
    draft = _store_draft()
    result = attempt(uow, lambda: create_store(uow.session, draft, actor=staff, at=uow.now))
    if isinstance(result, Refused):
        form = asdict(draft)
        return _page("staff/admin/store_form.html", 422, store=None, form=form, error=_reason_text(result))
    return _done(t(STORE_CREATED, name=result.name), "admin.stores")


@bp.route(f"/stores/<{ID}:store_id>", methods=["GET", "POST"])
@staff_page("admin")
def store_edit(uow: UnitOfWork, staff: Staff, store_id: int) -> ResponseReturnValue:
    store = uow.session.get(Store, store_id)
    if store is None:
        return message_page(t(STORE_NOT_FOUND), 404)
    if request.method == "GET":
        return _page("staff/admin/store_form.html", store=store, form=_store_form(store))
    draft = _store_draft()
    result = attempt(uow, lambda: update_store(uow.session, store, draft, actor=staff, at=uow.now))
    if isinstance(result, Refused):
        uow.session.refresh(store)
        form = asdict(draft)
        return _page("staff/admin/store_form.html", 422, store=store, form=form, error=_reason_text(result))
    return _done(t(STORE_SAVED, name=result.name), "admin.stores")


# Staff


def _staff_draft(actor: Staff) -> StaffDraft:
    """What the form says; a manager's form has no role or store: a clerk of their store."""
    if actor.role == "admin":
        role, store_id = _field("role"), _number(request.form.get("store_id"))
    else:
        role, store_id = "clerk", actor.store_id
    return StaffDraft(code=_field("code"), name=_field("name"), role=role, store_id=store_id)


def _staff_context(uow: UnitOfWork, actor: Staff) -> dict[str, Any]:
    stores = all_stores(uow.session) if actor.role == "admin" else [actor.store]
    return {"roles": roles_assignable_by(actor), "stores": stores}


@bp.get("/staff", endpoint="staff_list")
@staff_page("manager")
def staff_list(uow: UnitOfWork, staff: Staff) -> ResponseReturnValue:
    shown = request.args.get("active", "")
    active = {"1": True, "0": False}.get(shown)
    store_filter = request.args.get("store", "")
    if staff.role != "admin":
        people = staff_directory(uow.session, store_id=staff.store_id, active=active)
    elif store_filter == "none":
        people = [s for s in staff_directory(uow.session, active=active) if s.store_id is None]
    else:
        people = staff_directory(uow.session, store_id=_number(store_filter), active=active)
    return _page(
        "staff/admin/staff_list.html",
        people=people,
        manageable={s.id for s in people if may_manage(staff, s)},
        stores=all_stores(uow.session) if staff.role == "admin" else [],
        store_filter=store_filter,
        active_filter=shown,
        tz=uow.settings.tz,
    )


@bp.route("/staff/new", methods=["GET", "POST"])
@staff_page("manager")
def staff_new(uow: UnitOfWork, staff: Staff) -> ResponseReturnValue:
    context = _staff_context(uow, staff)
    if request.method == "GET":
        form = {"code": "", "name": "", "role": "clerk", "store_id": staff.store_id}
        return _page("staff/admin/staff_new.html", form=form, **context)
    draft = _staff_draft(staff)
    password = _field("password")

    def add() -> Staff:
        ensure_may_manage(staff, draft=draft)
        return create_staff(uow.session, draft, password or None, actor=staff, at=uow.now)

    error: str | None = None
    if password != _field("repeat"):
        error = t(PASSWORDS_DIFFER)
    elif len(password) > MAX_PASSWORD_LENGTH:
        error = t(PASSWORD_TOO_LONG, length=MAX_PASSWORD_LENGTH)
    else:
        result = attempt(uow, add)
        if not isinstance(result, Refused):
            return _done(t(STAFF_CREATED, name=result.name), "admin.staff_list")
        if (page := _refused_page(result)) is not None:
            return page
        error = _reason_text(result)
    return _page("staff/admin/staff_new.html", 422, form=asdict(draft), error=error, **context)


def _edit_page(
    uow: UnitOfWork, actor: Staff, person: Staff, status: int = 200, form: dict[str, Any] | None = None, **more: Any
) -> tuple[str, int]:
    if form is None:
        form = {"code": person.code, "name": person.name, "role": person.role, "store_id": person.store_id}
    return _page("staff/admin/staff_edit.html", status, person=person, form=form, **_staff_context(uow, actor), **more)


@bp.route(f"/staff/<{ID}:staff_id>", methods=["GET", "POST"])
@staff_page("manager")
def staff_edit(uow: UnitOfWork, staff: Staff, staff_id: int) -> ResponseReturnValue:
    person = attempt(uow, lambda: managed_staff(uow.session, staff_id, staff))
    if isinstance(person, Refused):
        return _refused_page(person) or message_page(_reason_text(person), 403)
    if request.method == "GET":
        return _edit_page(uow, staff, person)
    draft = _staff_draft(staff)
    before = (person.code, person.name, person.role, person.store_id)

    def change() -> Staff:
        ensure_may_manage(staff, person, draft)
        return update_staff(uow.session, person, draft, actor=staff, at=uow.now)

    result = attempt(uow, change)
    if isinstance(result, Refused):
        if (page := _refused_page(result)) is not None:
            return page
        uow.session.refresh(person)
        return _edit_page(uow, staff, person, 422, form=asdict(draft), error=_reason_text(result))
    if (result.code, result.name, result.role, result.store_id) == before:
        return _done(t(STAFF_UNCHANGED), "admin.staff_edit", staff_id=person.id)
    return _done(t(STAFF_SAVED, name=result.name), "admin.staff_list")


@bp.post(f"/staff/<{ID}:staff_id>/active")
@staff_page("manager")
def staff_set_active(uow: UnitOfWork, staff: Staff, staff_id: int) -> ResponseReturnValue:
    active = request.form.get("active") == "1"

    def switch() -> Staff:
        person = managed_staff(uow.session, staff_id, staff)
        return set_active(uow.session, person, active, actor=staff, at=uow.now)

    result = attempt(uow, switch)
    if isinstance(result, Refused):
        if (page := _refused_page(result)) is not None:
            return page
        person = uow.session.get(Staff, staff_id)
        assert person is not None  # managed_staff found them
        return _edit_page(uow, staff, person, 422, error=_reason_text(result))
    notice = STAFF_ACTIVATED if active else STAFF_DEACTIVATED
    return _done(t(notice, name=result.name), "admin.staff_edit", staff_id=staff_id)


@bp.post(f"/staff/<{ID}:staff_id>/password")
@staff_page("manager")
def staff_password(uow: UnitOfWork, staff: Staff, staff_id: int) -> ResponseReturnValue:
    person = attempt(uow, lambda: managed_staff(uow.session, staff_id, staff))
    if isinstance(person, Refused):
        return _refused_page(person) or message_page(_reason_text(person), 403)
    password = _field("password")
    if password != _field("repeat"):
        return _edit_page(uow, staff, person, 422, password_error=t(PASSWORDS_DIFFER))
    if len(password) > MAX_PASSWORD_LENGTH:
        return _edit_page(uow, staff, person, 422, password_error=t(PASSWORD_TOO_LONG, length=MAX_PASSWORD_LENGTH))
    result = attempt(uow, lambda: set_password(uow.session, person, password, actor=staff, at=uow.now))
    if isinstance(result, Refused):
        return _edit_page(uow, staff, person, 422, password_error=_reason_text(result))
    if result.id == staff.id:
        start_session(result)  # their own password: this browser stays signed in, every other session ends
    return _done(t(PASSWORD_SET, name=result.name), "admin.staff_edit", staff_id=staff_id)


# POS API keys


def _keys_page(uow: UnitOfWork, status: int = 200, **more: Any) -> tuple[str, int]:
    store_filter = _number(request.args.get("store"))
    keys = store_keys(uow.session, store_id=store_filter)
    stores = all_stores(uow.session)
    more.setdefault("form", {"store_id": store_filter, "name": "", "scopes": DEFAULT_SCOPES})
    return _page(
        "staff/admin/api_keys.html",
        status,
        keys=keys,
        stores=stores,
        store_names={s.id: s.name for s in stores},
        store_filter=store_filter,
        scopes=SCOPES,
        scope_labels=SCOPE_LABELS,
        tz=uow.settings.tz,
        **more,
    )


@bp.get("/api-keys", endpoint="api_keys")
@staff_page("admin")
def api_keys_page(uow: UnitOfWork, staff: Staff) -> ResponseReturnValue:
    return _keys_page(uow)


@bp.post("/api-keys")
@staff_page("admin")
def api_key_create(uow: UnitOfWork, staff: Staff) -> ResponseReturnValue:
    store_id = _number(request.form.get("store_id"))
    name = _field("name")
    wanted = request.form.getlist("scopes")
    store = uow.session.get(Store, store_id) if store_id is not None else None
    form = {"store_id": store_id, "name": name, "scopes": wanted}
    if store is None:
        return _keys_page(uow, 422, form=form, error=t(STORE_NOT_FOUND))
    result = attempt(uow, lambda: create_store_key(uow.session, store, name, wanted, actor=staff, at=uow.now))
    if isinstance(result, Refused):
        return _keys_page(uow, 422, form=form, error=_reason_text(result))
    api_key, raw_key = result
    return _page("staff/admin/api_key_created.html", api_key=api_key, raw_key=raw_key, store=store)


@bp.route(f"/api-keys/<{ID}:key_id>/revoke", methods=["GET", "POST"])
@staff_page("admin")
def api_key_revoke(uow: UnitOfWork, staff: Staff, key_id: int) -> ResponseReturnValue:
    api_key = uow.session.get(ApiKey, key_id)
    if api_key is None:
        return message_page(_reason_text(Refused(Reason.API_KEY_UNKNOWN, key_id=key_id)), 404)
    if request.method == "GET":
        store = uow.session.get(Store, api_key.store_id)
        return _page("staff/admin/api_key_revoke.html", api_key=api_key, store=store, scopes=scopes_of(api_key))
    already = api_key.revoked_at is not None
    result = attempt(uow, lambda: revoke_store_key(uow.session, key_id, actor=staff, at=uow.now))
    if isinstance(result, Refused):
        return message_page(_reason_text(result), STATUS.get(result.reason, 422))
    return _done(t(KEY_ALREADY_REVOKED if already else KEY_REVOKED, name=result.name), "admin.api_keys")


# The audit log


def _who(row: StaffAudit, subjects: AuditSubjects) -> str:
    if row.actor_staff_id is None:
        return t(COMMAND_LINE)
    actor = subjects.staff.get(row.actor_staff_id)
    return f"{actor.name}（{actor.code}）" if actor else f"#{row.actor_staff_id}"


def _target(row: StaffAudit, subjects: AuditSubjects) -> str:
    target_id = row.target_id or 0
    if row.target_type == "staff" and (person := subjects.staff.get(target_id)):
        return f"{person.name}（{person.code}）"
    if row.target_type == "store" and (store := subjects.stores.get(target_id)):
        return f"{store.name}（{store.code}）"
    if row.target_type == "api_key" and (api_key := subjects.api_keys.get(target_id)):
        return api_key.name
    if row.target_type in NAMED_TARGETS:
        detail = row.detail if isinstance(row.detail, dict) else {}
        named = detail.get("code") or detail.get("sku") or detail.get("name")
        kind = t(NAMED_TARGETS[row.target_type])
        if row.target_id is None:
            return kind
        return f"{kind}「{named}」" if named else f"{kind} #{row.target_id}"
    return f"{row.target_type} #{row.target_id}"


def _value(field: str, value: Any, subjects: AuditSubjects) -> str:
    if value is None or value == "":
        return NONE
    if field == "role":
        return t(ROLE_NAMES.get(str(value), str(value)))
    if field == "store_id":
        store = subjects.stores.get(value) if isinstance(value, int) else None
        return store.name if store else f"#{value}"
    if isinstance(value, bool):
        return t(YES if value else NO)
    if field == "kind" and str(value) in COUPON_KIND_LABELS:
        return t(COUPON_KIND_LABELS[str(value)])
    if field == "scopes":
        return "、".join(t(SCOPE_LABELS.get(scope, scope)) for scope in str(value).split())
    return str(value)


def _details(row: StaffAudit, subjects: AuditSubjects) -> list[tuple[str, str]]:
    detail = row.detail if isinstance(row.detail, dict) else {}
    known = list(FIELD_LABELS)
    # in the labels' order (PostgreSQL's JSONB keeps its own), fields no label names last
    fields = sorted(detail, key=lambda field: (known.index(field) if field in known else len(known), field))
    return [(t(FIELD_LABELS.get(field, field)), _value(field, detail[field], subjects)) for field in fields]


def _local(at: datetime, uow: UnitOfWork) -> str:
    return at.astimezone(uow.settings.tz).strftime("%Y-%m-%d %H:%M:%S")


@bp.get("/audit", endpoint="audit")
@staff_page("manager")
def audit_page(uow: UnitOfWork, staff: Staff) -> ResponseReturnValue:
    store_filter = staff.store_id if staff.role != "admin" else _number(request.args.get("store"))
    before = _number(request.args.get("before"))
    rows = recent_changes(uow.session, limit=AUDIT_PAGE, store_id=store_filter, before_id=before)
    subjects = subjects_of(uow.session, rows)
    entries = [
        {
            "at": _local(row.at, uow),
            "who": _who(row, subjects),
            "what": t(ACTION_LABELS[row.action]) if row.action in ACTION_LABELS else row.action,
            "target": _target(row, subjects),
            "details": _details(row, subjects),
        }
        for row in rows
    ]
    return _page(
        "staff/admin/audit.html",
        entries=entries,
        older=rows[-1].id if len(rows) == AUDIT_PAGE else None,
        stores=all_stores(uow.session) if staff.role == "admin" else [],
        store_filter=store_filter,
        timezone=uow.settings.timezone,
    )
