"""The marketer's console, what segments select on besides members and purchases: the product catalogue (one by one
or by CSV import), member tags (manual and rule tags, a member's tags by member number, a segment tagged at once)
and the RFM groups. Marketers and admins only."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from bot.services.marketing.definition import DefinitionError
from bot.services.marketing.products import (
    MAX_CSV_BYTES,
    ProductError,
    catalogue_imports,
    categories,
    import_csv,
    list_products,
    product_changes,
    save_product,
)
from bot.services.marketing.rfm import RFM_GROUPS, compute_rfm, distribution
from bot.services.marketing.segments import list_segments
from bot.services.marketing.tags import (
    TagError,
    add_tag,
    create_tag,
    delete_tag,
    evaluate_rule_tag,
    find_member,
    history_of,
    list_tags,
    live,
    remove_tag,
    rename_tag,
    tag_segment,
    tags_of,
)
from bot.uow import UnitOfWork
from bot.web.backoffice import message_page, render_page, staff_page, t
from models import Member, Product, Segment, Staff, StaffAudit, Tag

bp = Blueprint("audiences", __name__, url_prefix="/staff/console")

NOTICE_KEY = "console_notice"
PRODUCT_SAVED = "已儲存商品 {sku}"
PRODUCT_NOT_FOUND = "找不到這個商品"
# A product's history on its page: what each audit row did and the fields it changed.
PRODUCT_ACTIONS = {"product.create": "新增商品", "product.update": "修改商品"}
PRODUCT_FIELDS = {"sku_from": "原 SKU", "name": "商品名稱", "category": "商品類別"}
IMPORTED = "已匯入：新增 {added} 個、更新 {updated} 個商品"
NO_FILE = "請選擇要匯入的 CSV 檔案"
TAG_CREATED = "已新增標籤「{name}」"
TAG_NOT_FOUND = "找不到這個標籤"
TAG_RENAMED = "已將標籤「{old}」改名為「{name}」"
TAG_UNCHANGED = "標籤名稱沒有變更"
TAG_DELETED = "已刪除標籤「{name}」，{members} 位會員的這個標籤已移除（紀錄仍保留）"
DELETED_SUFFIX = "{name}（已刪除）"
TAG_ADDED = "已為會員 {number} 加上標籤「{name}」"
TAG_REMOVED = "已移除會員 {number} 的標籤「{name}」"
TAG_SEGMENT = "分群「{segment}」有 {added} 位會員新加上標籤「{name}」"
EVALUATED = "標籤「{name}」已重新計算：符合 {matched} 人，新增 {gained} 人，移除 {lost} 人"
RFM_COMPUTED = "已重新計算 RFM 分群：{members} 位會員"
CHOOSE_SEGMENT = "請選擇分群"
SEGMENT_BROKEN = "分群「{name}」的條件已無法使用，請先修改分群"


def _notice() -> Any:
    return session.pop(NOTICE_KEY, None)


def _id(value: str | None) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isascii() and value.isdigit() and 0 < len(value) < 10 else None


# The product catalogue.


def _products_page(
    uow: UnitOfWork,
    form: dict[str, str] | None = None,
    error: str | None = None,
    rows: list[tuple[int, str]] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    category = request.args.get("category", "")[:64]
    return render_page(
        "staff/console/products.html",
        status,
        products=list_products(uow.session, category or None),
        categories=categories(uow.session),
        category=category,
        form=form or {"sku": "", "name": "", "category": ""},
        error=error,
        rows=rows or [],
        imports=_who_did(uow, catalogue_imports(uow.session)),
        tz=uow.settings.tz,
        notice=_notice(),
    )


def _who_did(uow: UnitOfWork, rows: list[StaffAudit]) -> list[dict[str, Any]]:
    """Audit rows with who made each change named (staff name and number; the `omo` command: 系統)."""
    ids = {row.actor_staff_id for row in rows if row.actor_staff_id}
    names = {s.id: f"{s.name}（{s.code}）" for s in uow.session.scalars(select(Staff).where(Staff.id.in_(ids)))}
    return [
        {
            "at": row.at,
            "who": names.get(row.actor_staff_id, "—") if row.actor_staff_id else t("系統"),
            "action": row.action,
            "detail": row.detail if isinstance(row.detail, dict) else {},
        }
        for row in rows
    ]


def _product_error(error: ProductError) -> str:
    return t(error.message, **error.params)


@bp.route("/products", methods=["GET", "POST"], endpoint="products")
@staff_page("marketer")
def products(uow: UnitOfWork, staff: Staff) -> ResponseReturnValue:
    """The catalogue (by category), a form to add a product and the CSV import."""
    if request.method == "GET":
        return _products_page(uow)
    form = {key: request.form.get(key, "")[:500] for key in ("sku", "name", "category")}
    try:
        with uow.session.begin_nested():
            product = save_product(uow.session, staff, None, form["sku"], form["name"], form["category"], uow.now)
    except ProductError as error:
        return _products_page(uow, form, _product_error(error), status=400)
    session[NOTICE_KEY] = t(PRODUCT_SAVED, sku=product.sku)
    return redirect(url_for("audiences.products"))


@bp.route("/products/<int:product_id>", methods=["GET", "POST"], endpoint="product")
@staff_page("marketer")
def product(uow: UnitOfWork, staff: Staff, product_id: int) -> ResponseReturnValue:
    """Change a product's SKU, name or category."""
    found = uow.session.get(Product, product_id) if 0 < product_id < 2**31 else None  # beyond the id column: none
    if found is None:
        return message_page(t(PRODUCT_NOT_FOUND), 404)
    form = {"sku": found.sku, "name": found.name, "category": found.category}
    error = None
    if request.method == "POST":
        form = {key: request.form.get(key, "")[:500] for key in ("sku", "name", "category")}
        try:
            with uow.session.begin_nested():
                save_product(uow.session, staff, found, form["sku"], form["name"], form["category"], uow.now)
        except ProductError as refused:
            uow.session.refresh(found)
            error = _product_error(refused)
        else:
            session[NOTICE_KEY] = t(PRODUCT_SAVED, sku=found.sku)
            return redirect(url_for("audiences.products"))
    return render_page(
        "staff/console/product.html",
        400 if error else 200,
        product=found,
        form=form,
        error=error,
        history=_product_history(uow, found),
        tz=uow.settings.tz,
    )


def _product_history(uow: UnitOfWork, product: Product) -> list[dict[str, Any]]:
    """The product's audit rows as its page lists them: when, who, what and the fields changed (new values)."""
    return [
        {
            **row,
            "what": t(PRODUCT_ACTIONS.get(row["action"], row["action"])),
            "changed": [
                f"{t(label)}：{row['detail'][key]}" for key, label in PRODUCT_FIELDS.items() if key in row["detail"]
            ],
        }
        for row in _who_did(uow, product_changes(uow.session, product))
    ]


@bp.post("/products/import", endpoint="products_import")
@staff_page("marketer")
def products_import(uow: UnitOfWork, staff: Staff) -> ResponseReturnValue:
    """Add or update products from an uploaded CSV (sku,name,category): all rows, or none with every bad row named."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _products_page(uow, error=t(NO_FILE), status=400)
    raw = upload.read(MAX_CSV_BYTES + 1)
    try:
        try:
            content = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ProductError("無法讀取檔案，請存成 UTF-8 編碼的 CSV") from None
        if len(raw) > MAX_CSV_BYTES:
            raise ProductError("檔案太大：最多 5000 列、1 MB")
        with uow.session.begin_nested():
            result = import_csv(uow.session, staff, content, uow.now)
    except ProductError as error:
        rows = [(number, t(problem)) for number, problem in error.rows]
        message = t("檔案有 {n} 列有問題，沒有匯入任何商品", n=len(rows)) if rows else _product_error(error)
        return _products_page(uow, error=message, rows=rows, status=400)
    session[NOTICE_KEY] = t(IMPORTED, added=result.added, updated=result.updated)
    return redirect(url_for("audiences.products"))


# Tags.


def _tags_page(uow: UnitOfWork, error: str | None = None, status: int = 200) -> tuple[str, int]:
    number = request.values.get("member", "")[:40].strip()
    member: Member | None = None
    member_error = None
    if number:
        try:
            member = find_member(uow.session, number)
        except TagError as refused:
            member_error = t(refused.message, **refused.params)
    staff_names = {s.id: f"{s.name}（{s.code}）" for s in uow.session.scalars(select(Staff))}
    return render_page(
        "staff/console/tags.html",
        status,
        rows=list_tags(uow.session),
        segments=list_segments(uow.session),
        manual=list(uow.session.scalars(select(Tag).where(Tag.kind == "manual", live()).order_by(Tag.name))),
        number=number,
        member=member,
        member_tags=tags_of(uow.session, member) if member else [],
        history=history_of(uow.session, member) if member else [],
        tag_names={
            tag.id: tag.name if tag.deleted_at is None else t(DELETED_SUFFIX, name=tag.name)
            for tag in uow.session.scalars(select(Tag))
        },
        staff_names=staff_names,
        member_error=member_error,
        error=error,
        tz=uow.settings.tz,
        notice=_notice(),
    )


def _tag_error(error: TagError) -> str:
    return t(error.message, **error.params)


@bp.route("/tags", methods=["GET", "POST"], endpoint="tags")
@staff_page("marketer")
def tags(uow: UnitOfWork, staff: Staff) -> ResponseReturnValue:
    """Every tag with its members and last evaluation; a new tag (manual, or following a saved segment); a
    member's tags by member number."""
    if request.method == "GET":
        return _tags_page(uow)
    segment: Segment | None = None
    if request.form.get("kind") == "rule":
        segment_id = _id(request.form.get("segment_id"))
        segment = uow.session.get(Segment, segment_id) if segment_id else None
        if segment is None:
            return _tags_page(uow, t(CHOOSE_SEGMENT), 400)
    try:
        with uow.session.begin_nested():
            tag = create_tag(uow.session, staff, request.form.get("name", "")[:200], segment, uow.now)
            if segment is not None:
                evaluate_rule_tag(uow.session, tag, uow.now, uow.settings.tz, staff)
    except TagError as error:
        return _tags_page(uow, _tag_error(error), 400)
    except DefinitionError:
        return _tags_page(uow, t(SEGMENT_BROKEN, name=segment.name if segment else ""), 400)
    session[NOTICE_KEY] = t(TAG_CREATED, name=tag.name)
    return redirect(url_for("audiences.tags"))


def _tag(uow: UnitOfWork, tag_id: int) -> Tag | None:
    """A tag not deleted (beyond the id column: no such tag)."""
    tag = uow.session.get(Tag, tag_id) if 0 < tag_id < 2**31 else None
    return tag if tag is not None and tag.deleted_at is None else None


@bp.post("/tags/<int:tag_id>/rename", endpoint="tag_rename")
@staff_page("marketer")
def tag_rename(uow: UnitOfWork, staff: Staff, tag_id: int) -> ResponseReturnValue:
    """Rename a tag (refused in words, nothing saved, for a name that is empty, too long, has a control character
    or is another tag's); audited."""
    tag = _tag(uow, tag_id)
    if tag is None:
        return message_page(t(TAG_NOT_FOUND), 404)
    old = tag.name
    try:
        with uow.session.begin_nested():
            renamed = rename_tag(uow.session, staff, tag, request.form.get("name", "")[:200], uow.now)
    except TagError as error:
        uow.session.refresh(tag)
        return _tags_page(uow, _tag_error(error), 400)
    session[NOTICE_KEY] = t(TAG_RENAMED, old=old, name=tag.name) if renamed else t(TAG_UNCHANGED)
    return redirect(url_for("audiences.tags"))


@bp.post("/tags/<int:tag_id>/delete", endpoint="tag_delete")
@staff_page("marketer")
def tag_delete(uow: UnitOfWork, staff: Staff, tag_id: int) -> ResponseReturnValue:
    """Delete a tag (the list page asks first): its members lose it, its history stays; refused while a saved
    segment's conditions name it; audited."""
    tag = _tag(uow, tag_id)
    if tag is None:
        return message_page(t(TAG_NOT_FOUND), 404)
    try:
        with uow.session.begin_nested():
            members = delete_tag(uow.session, staff, tag, uow.now)
    except TagError as error:
        return _tags_page(uow, _tag_error(error), 409)
    session[NOTICE_KEY] = t(TAG_DELETED, name=tag.name, members=f"{members:,}")
    return redirect(url_for("audiences.tags"))


@bp.post("/tags/<int:tag_id>/evaluate", endpoint="tag_evaluate")
@staff_page("marketer")
def tag_evaluate(uow: UnitOfWork, staff: Staff, tag_id: int) -> ResponseReturnValue:
    """Re-evaluate a rule tag now (as the nightly job does), recording who asked."""
    tag = _tag(uow, tag_id)
    if tag is None or tag.kind != "rule":
        return message_page(t(TAG_NOT_FOUND), 404)
    try:
        with uow.session.begin_nested():
            done = evaluate_rule_tag(uow.session, tag, uow.now, uow.settings.tz, staff)
    except DefinitionError:
        segment = uow.session.get(Segment, tag.segment_id)
        return _tags_page(uow, t(SEGMENT_BROKEN, name=segment.name if segment else ""), 400)
    session[NOTICE_KEY] = t(EVALUATED, name=tag.name, matched=done.matched, gained=done.gained, lost=done.lost)
    return redirect(url_for("audiences.tags"))


@bp.post("/tags/<int:tag_id>/segment", endpoint="tag_segment")
@staff_page("marketer")
def tag_a_segment(uow: UnitOfWork, staff: Staff, tag_id: int) -> ResponseReturnValue:
    """Give a manual tag to every current member of a saved segment."""
    tag = _tag(uow, tag_id)
    if tag is None:
        return message_page(t(TAG_NOT_FOUND), 404)
    segment_id = _id(request.form.get("segment_id"))
    segment = uow.session.get(Segment, segment_id) if segment_id else None
    if segment is None:
        return _tags_page(uow, t(CHOOSE_SEGMENT), 400)
    try:
        with uow.session.begin_nested():
            added = tag_segment(uow.session, staff, tag, segment, uow.now, uow.settings.tz)
    except TagError as error:
        return _tags_page(uow, _tag_error(error), 400)
    except DefinitionError:
        return _tags_page(uow, t(SEGMENT_BROKEN, name=segment.name), 400)
    session[NOTICE_KEY] = t(TAG_SEGMENT, segment=segment.name, added=added, name=tag.name)
    return redirect(url_for("audiences.tags"))


@bp.post("/tags/member", endpoint="member_tag")
@staff_page("marketer")
def member_tag(uow: UnitOfWork, staff: Staff) -> ResponseReturnValue:
    """Add a manual tag to one member, or take it off (`action` add or remove), by member number."""
    tag_id = _id(request.form.get("tag_id"))
    tag = _tag(uow, tag_id) if tag_id else None
    if tag is None:
        return _tags_page(uow, t(TAG_NOT_FOUND), 400)
    removing = request.form.get("action") == "remove"
    try:
        with uow.session.begin_nested():
            member = find_member(uow.session, request.form.get("member", ""))
            (remove_tag if removing else add_tag)(uow.session, staff, tag, member, uow.now)
    except TagError as error:
        return _tags_page(uow, _tag_error(error), 400)
    session[NOTICE_KEY] = t(TAG_REMOVED if removing else TAG_ADDED, number=member.member_number, name=tag.name)
    return redirect(url_for("audiences.tags", member=member.member_number))


# RFM groups.


@bp.get("/rfm", endpoint="rfm")
@staff_page("marketer")
def rfm(uow: UnitOfWork, staff: Staff) -> ResponseReturnValue:
    """How many members each RFM group holds (as last computed), and how the groups are defined."""
    shown = distribution(uow.session)
    return render_page(
        "staff/console/rfm.html",
        shown=shown,
        groups=RFM_GROUPS,
        chart={"labels": [t(name) for name, _ in RFM_GROUPS.values()], "counts": list(shown.counts.values())},
        tz=uow.settings.tz,
        notice=_notice(),
    )


@bp.post("/rfm/compute", endpoint="rfm_compute")
@staff_page("marketer")
def rfm_compute(uow: UnitOfWork, staff: Staff) -> ResponseReturnValue:
    """Compute the RFM groups now (the nightly job does it every night)."""
    members = compute_rfm(uow.session, uow.now, uow.settings.tz)
    session[NOTICE_KEY] = t(RFM_COMPUTED, members=f"{members:,}")
    return redirect(url_for("audiences.rfm"))
