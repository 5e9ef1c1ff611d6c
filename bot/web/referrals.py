"""Staff referral pages: a clerk's own code as a printable QR code, the public landing page the code opens
(`/r/<code>`), and the managers' report with its chart and CSV export."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from functools import lru_cache
from typing import Any
from urllib.parse import quote

import qrcode
import qrcode.image.svg
from flask import Blueprint, Response, render_template, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from bot.services.staff.referral_report import MAX_PERIOD_DAYS, Report, referral_report
from bot.services.staff.referrals import (
    can_refer,
    display_code,
    normalise_code,
    referral_code_for,
    referrer_of,
    typed_message,
)
from bot.settings import Settings
from bot.uow import UnitOfWork, unit_of_work
from bot.web import runtime
from bot.web.backoffice import message_page, render_page, staff_page, t
from models import Staff, Store

bp = Blueprint("referrals", __name__)

NO_CODE = "只有門市的店員與店長有個人推薦碼"
BAD_DATE = "請輸入正確的日期（例如 2026-01-31）"
END_BEFORE_START = "結束日期不能早於開始日期"
PERIOD_TOO_LONG = "查詢期間最長一年，請縮短日期範圍"
BAD_STORE = "找不到這間門市"
OTHER_STORE = "您只能查看自己門市的推薦成效"
# The days a report may cover: the calendar's own ends (0001-01-01, 9999-12-31) overflow once turned into instants.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(9998, 12, 31)
# Cells a spreadsheet would read as a formula (and the characters that can start one after a quote or a tab).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def referral_url(settings: Settings, code: str) -> str:
    """The link a clerk's QR code carries."""
    return f"{settings.public_base_url}/r/{code}"


def open_chat_url(settings: Settings, code: str) -> str | None:
    """Where the landing page's button goes: LINE's oaMessage link, which opens the official account's chat with
    the referral message typed in (the shopper still taps send). In development, the local LINE platform's chat
    with the same message typed in. None when the account's basic id is not configured."""
    typed = typed_message(code)
    if settings.dev_line_enabled:
        return f"{settings.public_base_url}/dev/line/?text={quote(typed, safe='')}"
    if not settings.line_basic_id:
        return None
    return f"https://line.me/R/oaMessage/{quote(settings.line_basic_id, safe='')}/?{quote(typed, safe='')}"


@lru_cache(maxsize=256)
def qr_svg(text: str) -> str:
    """A QR code of `text` as inline SVG (sharp at any print size)."""
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2)
    svg: str = image.to_string(encoding="unicode")
    return svg


@bp.get("/r/<path:code>")
def landing(code: str) -> ResponseReturnValue:
    """The page a clerk's QR code opens, for the shopper: no sign-in, records nothing."""
    settings = runtime().settings
    brand = settings.brand_name
    found = None
    normalised = normalise_code(code)
    if normalised is not None:
        with unit_of_work(runtime()) as uow:
            referrer = referrer_of(uow.session, normalised)
            if referrer is not None:
                staff, store = referrer
                found = {"staff_name": staff.name, "store_name": store.name}
    if found is None or normalised is None:
        return render_template("referrals/unknown.html", brand=brand), 404
    return render_template(
        "referrals/landing.html",
        brand=brand,
        code=display_code(normalised),
        typed=typed_message(normalised),
        chat_url=open_chat_url(settings, normalised),
        basic_id=settings.line_basic_id,
        **found,
    )


@bp.get("/staff/referrals/mine", endpoint="my_link")
@staff_page("clerk", "manager")
def my_link(uow: UnitOfWork, staff: Staff) -> ResponseReturnValue:
    if not can_refer(staff) or staff.store is None:
        return message_page(t(NO_CODE), 403)
    row = referral_code_for(uow.session, staff, uow.now)
    link = referral_url(uow.settings, row.code)
    return render_page(
        "staff/referral_link.html",
        link=link,
        code=display_code(row.code),
        qr=qr_svg(link),
        store_name=staff.store.name,
    )


class _Query:
    """The report's period and store as asked, or the message that says what is wrong and its status."""

    def __init__(self, uow: UnitOfWork, staff: Staff) -> None:
        today = uow.now.astimezone(uow.settings.tz).date()
        self.start_text = (request.args.get("start") or today.replace(day=1).isoformat())[:20]
        self.end_text = (request.args.get("end") or today.isoformat())[:20]
        self.store_text = (request.args.get("store") or "")[:20]
        self.error: str | None = None
        self.status = 200
        self.start = self.end = today
        self.store_id: int | None = staff.store_id if staff.role != "admin" else None
        try:
            self.start = date.fromisoformat(self.start_text)
            self.end = date.fromisoformat(self.end_text)
        except ValueError:
            self._fail(BAD_DATE, 400)
            return
        if not FIRST_DAY <= self.start <= LAST_DAY or not FIRST_DAY <= self.end <= LAST_DAY:
            self._fail(BAD_DATE, 400)
            return
        if self.end < self.start:
            self._fail(END_BEFORE_START, 400)
        elif (self.end - self.start) >= timedelta(days=MAX_PERIOD_DAYS):
            self._fail(PERIOD_TOO_LONG, 400)
        elif self.store_text:
            self._store(uow, staff)

    def _fail(self, message: str, status: int) -> None:
        self.error, self.status = t(message), status

    def _store(self, uow: UnitOfWork, staff: Staff) -> None:
        if not self.store_text.isascii() or not self.store_text.isdigit():
            self._fail(BAD_STORE, 400)
            return
        wanted = int(self.store_text)
        if staff.role != "admin":
            if wanted != staff.store_id:
                self._fail(OTHER_STORE, 403)
            return
        if uow.session.get(Store, wanted) is None:
            self._fail(BAD_STORE, 404)
            return
        self.store_id = wanted


def _report(uow: UnitOfWork, query: _Query) -> Report:
    return referral_report(
        uow.session,
        start=query.start,
        end=query.end,
        tz=uow.settings.tz,
        credit_days=uow.settings.referral_credit_days,
        store_id=query.store_id,
    )


def _chart(report: Report, show_store: bool) -> dict[str, Any]:
    """What the chart draws (read by the page's script from a JSON block)."""
    labels = [f"{row.staff_name}（{row.store_name}）" if show_store else row.staff_name for row in report.rows]
    return {
        "labels": labels,
        "series": [
            {"label": t("新好友"), "key": "count", "values": [row.new_friends for row in report.rows]},
            {"label": t("入會"), "key": "count", "values": [row.joins for row in report.rows]},
            {"label": t("綁定"), "key": "count", "values": [row.binds for row in report.rows]},
            {"label": t("營收（NT$）"), "key": "revenue", "values": [row.revenue for row in report.rows]},
        ],
        "axes": {"count": t("人數"), "revenue": t("營收（NT$）")},
    }


@bp.get("/staff/referrals/report", endpoint="report")
@staff_page("manager")
def report_page(uow: UnitOfWork, staff: Staff) -> ResponseReturnValue:
    query = _Query(uow, staff)
    stores = list(uow.session.scalars(select(Store).order_by(Store.code))) if staff.role == "admin" else []
    context: dict[str, Any] = {"query": query, "stores": stores, "credit_days": uow.settings.referral_credit_days}
    if query.error is not None:
        return render_page("staff/referral_report.html", query.status, error=query.error, report=None, **context)
    report = _report(uow, query)
    show_store = query.store_id is None
    return render_page(
        "staff/referral_report.html",
        report=report,
        show_store=show_store,
        chart=_chart(report, show_store),
        **context,
    )


def csv_cell(value: object) -> object:
    """A cell as a spreadsheet should show it: text that Excel would run as a formula is quoted with a leading
    apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


@bp.get("/staff/referrals/report.csv", endpoint="report_csv")
@staff_page("manager")
def report_csv(uow: UnitOfWork, staff: Staff) -> ResponseReturnValue:
    query = _Query(uow, staff)
    if query.error is not None:
        return message_page(query.error, query.status)
    report = _report(uow, query)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(
        [
            t("門市"),
            t("員工編號"),
            t("員工"),
            t("推薦碼使用次數"),
            t("新好友"),
            t("入會"),
            t("綁定"),
            t("消費筆數"),
            t("營收（NT$，扣除退款）"),
        ]
    )
    for row in report.rows:
        cells = [row.store_name, row.staff_code, row.staff_name, row.touches, row.new_friends, row.joins]
        cells += [row.binds, row.purchases, row.revenue]
        writer.writerow([csv_cell(cell) for cell in cells])
    total = report.totals
    writer.writerow(
        [t("合計"), "", "", total.touches, total.new_friends, total.joins, total.binds, total.purchases, total.revenue]
    )
    # UTF-8 with a byte order mark: Excel in Taiwan opens it as UTF-8 instead of Big5.
    body = "\ufeff" + buffer.getvalue()
    filename = f"referrals-{report.start.isoformat()}-{report.end.isoformat()}.csv"
    return Response(
        body.encode("utf-8"),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )
