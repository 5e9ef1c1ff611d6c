"""The marketer's reports: a campaign's report (reach, delivery, coupons, purchases in a window of N days by cohort,
store and channel, and the uplift over the holdout) and the programme dashboard; each table as CSV.

Tables are described once (`Table`): the page renders them and the CSV export writes the same rows, so the two never
disagree. Marketers and admins only."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, Response, request
from flask.typing import ResponseReturnValue

from bot.services.marketing import reports
from bot.services.marketing.dashboard import ACTIVE_DAYS, WEEKS, Dashboard, programme_dashboard
from bot.services.marketing.reports import CampaignReport, CohortRow, Estimate, Sales
from bot.uow import UnitOfWork
from bot.web.backoffice import message_page, render_page, staff_page, t
from bot.web.referrals import csv_cell
from models import Campaign, Staff

bp = Blueprint("reports", __name__)

NOT_FOUND = "找不到這個推播活動"
BAD_WINDOW = "觀察天數請填 1 到 90 的整數"
BAD_TABLE = "找不到這個表格"
COHORT_NAMES = {
    "A": "A 版",
    "B": "B 版",
    "holdout": "保留組",
    "capped": "超過每週上限",
    "sent": "發送組（A＋B）",
    "total": "合計",
}
CHANNEL_NAMES = {"pos": "門市", "online": "網路商店"}
UPLIFT_REASONS = {
    reports.NO_HOLDOUT: "無保留組，無法計算成效提升",
    reports.SMALL_HOLDOUT: "保留組只有 {n} 人（至少需 {min} 人），人數太少，無法計算成效提升",
    reports.SMALL_SENT: "發送組只有 {n} 人（至少需 {min} 人），人數太少，無法計算成效提升",
}


@dataclass(frozen=True)
class Column:
    """A column's label and how its values read: int, money (NT$, whole), average (NT$, one decimal), percent (a
    share 0..1), signed (a difference of NT$ averages), points (a difference of shares, in percentage points),
    text."""

    label: str
    kind: str = "int"


@dataclass
class Table:
    """A table of the page and its CSV: `kinds` overrides the columns' kinds for some rows (by index)."""

    key: str
    title: str
    columns: list[Column]
    rows: list[list[Any]] = field(default_factory=list)
    footer: list[list[Any]] = field(default_factory=list)
    note: str | None = None
    kinds: dict[int, list[str]] = field(default_factory=dict)

    def kinds_of(self, index: int) -> list[str]:
        return self.kinds.get(index) or [column.kind for column in self.columns]

    @property
    def shown_rows(self) -> list[list[str]]:
        return [
            [_shown(value, kind) for value, kind in zip(row, self.kinds_of(i), strict=True)]
            for i, row in enumerate(self.rows)
        ]

    @property
    def shown_footer(self) -> list[list[str]]:
        kinds = [column.kind for column in self.columns]
        return [[_shown(value, kind) for value, kind in zip(row, kinds, strict=True)] for row in self.footer]

    def csv_rows(self) -> list[list[object]]:
        kinds = [column.kind for column in self.columns]
        rows = [(row, self.kinds_of(i)) for i, row in enumerate(self.rows)] + [(row, kinds) for row in self.footer]
        return [
            [_csv_value(value, kind) for value, kind in zip(row, row_kinds, strict=True)] for row, row_kinds in rows
        ]


def _shown(value: Any, kind: str) -> str:
    """A value as the page shows it."""
    if value is None:
        return "—"
    if kind == "text":
        return str(value)
    if kind == "percent":
        return f"{value * 100:.1f}%"
    if kind == "points":
        return f"{value * 100:+.1f} pp"
    if kind == "average":
        return f"{value:,.1f}"
    if kind == "signed":
        return f"{value:+,.1f}"
    return f"{int(value):,}"


def _csv_value(value: Any, kind: str) -> object:
    """A value as the CSV holds it: numbers plain (a share as a percentage with one decimal), text quoted against
    formulas."""
    if value is None:
        return ""
    if kind in ("percent", "points"):
        return f"{value * 100:.1f}%"
    if kind in ("average", "signed"):
        return round(float(value), 1)
    return csv_cell(value) if kind == "text" else value


def csv_response(table: Table, filename: str) -> Response:
    """The table as a CSV download: UTF-8 with a byte order mark (Excel in Taiwan reads it as UTF-8), CRLF lines,
    formula-like text escaped by the referral report's `csv_cell`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([csv_cell(column.label) for column in table.columns])
    writer.writerows(table.csv_rows())
    if table.note:
        writer.writerow([csv_cell(table.note)])
    return Response(
        ("\ufeff" + buffer.getvalue()).encode("utf-8"),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


def _sales_cells(sales: Sales, with_buyers: bool = True) -> list[Any]:
    cells: list[Any] = [sales.orders, sales.revenue]
    return [*cells, sales.buyers, sales.basket] if with_buyers else cells


def _cohort_cells(row: CohortRow) -> list[Any]:
    return [
        t(COHORT_NAMES.get(row.cohort, row.cohort)),
        row.recipients,
        row.delivered,
        row.failed,
        row.blocked,
        row.coupons_issued,
        row.coupons_redeemed,
        *_sales_cells(row.sales),
        row.conversion,
        row.revenue_per_member,
    ]


def _report_tables(report: CampaignReport, now: datetime) -> dict[str, Table]:
    sales_columns = [
        Column(t("訂單數")),
        Column(t("營收（NT$）"), "money"),
        Column(t("購買人數")),
        Column(t("客單價（NT$）"), "average"),
    ]
    cohorts = Table(
        "cohorts",
        t("各組成效"),
        [
            Column(t("組別"), "text"),
            Column(t("對象")),
            Column(t("已送達")),
            Column(t("失敗")),
            Column(t("之後封鎖")),
            Column(t("優惠券發出")),
            Column(t("優惠券已使用")),
            *sales_columns,
            Column(t("轉換率"), "percent"),
            Column(t("每人營收（NT$）"), "average"),
        ],
        rows=[_cohort_cells(row) for row in report.cohorts],
        footer=[_cohort_cells(report.sent), _cohort_cells(report.total)],
    )
    breakdown_columns = [
        Column(t("發送組訂單數")),
        Column(t("發送組營收（NT$）"), "money"),
        Column(t("保留組訂單數")),
        Column(t("保留組營收（NT$）"), "money"),
        Column(t("全部訂單數")),
        Column(t("全部營收（NT$）"), "money"),
        Column(t("全部購買人數")),
        Column(t("全部客單價（NT$）"), "average"),
    ]

    def breakdown_cells(label: str, row: reports.Breakdown) -> list[Any]:
        return [label, *_sales_cells(row.sent, False), *_sales_cells(row.holdout, False), *_sales_cells(row.total)]

    stores = Table(
        "stores",
        t("各門市"),
        [Column(t("門市"), "text"), *breakdown_columns],
        rows=[breakdown_cells(row.label, row) for row in report.stores],
    )
    channels = Table(
        "channels",
        t("各通路"),
        [Column(t("通路"), "text"), *breakdown_columns],
        rows=[breakdown_cells(t(CHANNEL_NAMES.get(row.key, row.key)), row) for row in report.channels],
    )
    return {
        "cohorts": cohorts,
        "uplift": _uplift_table(report),
        "daily": _daily_table(report, now),
        "stores": stores,
        "channels": channels,
    }


def _daily_table(report: CampaignReport, now: datetime) -> Table:
    """Each day's revenue of the sent group and the holdout, and the revenue per member so far (what the chart
    draws); days that have not begun yet are left out."""
    n_sent, n_hold = report.sent.recipients, report.cohort("holdout").recipients
    rows: list[list[Any]] = []
    sent_total = hold_total = 0
    for day in report.days:
        if report.started_at + timedelta(days=day.day - 1) > now:
            break
        sent_total += day.sent_revenue
        hold_total += day.holdout_revenue
        rows.append(
            [
                day.day,
                day.sent_revenue,
                day.holdout_revenue,
                sent_total / n_sent if n_sent else None,
                hold_total / n_hold if n_hold else None,
            ]
        )
    return Table(
        "daily",
        t("每日營收"),
        [
            Column(t("發送後第幾天")),
            Column(t("發送組營收（NT$）"), "money"),
            Column(t("保留組營收（NT$）"), "money"),
            Column(t("發送組累計每人營收（NT$）"), "average"),
            Column(t("保留組累計每人營收（NT$）"), "average"),
        ],
        rows=rows,
    )


def _report_chart(table: Table) -> dict[str, Any]:
    """The daily table's revenue per member so far, sent group against holdout, as a line chart."""
    return {
        "id": "daily-chart",
        "title": t("累計每人營收：發送組與保留組"),
        "type": "line",
        "labels": [str(row[0]) for row in table.rows],
        "series": [
            {"label": t("發送組"), "values": [row[3] for row in table.rows]},
            {"label": t("保留組"), "values": [row[4] for row in table.rows]},
        ],
    }


def _uplift_table(report: CampaignReport) -> Table:
    uplift = report.uplift
    table = Table(
        "uplift",
        t("成效提升（發送組對保留組）"),
        [
            Column(t("指標"), "text"),
            Column(t("發送組"), "average"),
            Column(t("保留組"), "average"),
            Column(t("差異"), "signed"),
            Column(t("95% 信賴區間下限"), "signed"),
            Column(t("95% 信賴區間上限"), "signed"),
            Column(t("相對提升"), "percent"),
        ],
    )
    if uplift.reason is not None:
        n = uplift.holdout_members if uplift.reason != reports.SMALL_SENT else uplift.sent_members
        table.note = t(UPLIFT_REASONS[uplift.reason], n=n, min=reports.MIN_GROUP)
        return table

    def cells(label: str, estimate: Estimate) -> list[Any]:
        return [t(label), estimate.sent, estimate.holdout, estimate.difference, estimate.low, estimate.high]

    assert uplift.revenue_per_member is not None and uplift.conversion is not None
    revenue, conversion = uplift.revenue_per_member, uplift.conversion
    table.rows = [
        [*cells("每人營收（NT$）", revenue), revenue.relative],
        [*cells("轉換率", conversion), conversion.relative],
    ]
    # The conversion row's figures are shares: they read as percentages and its differences in percentage points.
    table.kinds[1] = ["text", "percent", "percent", "points", "points", "points", "percent"]
    return table


def _window(text: str | None) -> int | None:
    text = (text or str(reports.WINDOW_DEFAULT)).strip()[:10]
    if not text.isascii() or not text.isdigit():
        return None
    days = int(text)
    return days if reports.WINDOW_MIN <= days <= reports.WINDOW_MAX else None


def _campaign(uow: UnitOfWork, campaign_id: int) -> Campaign | None:
    if not 0 < campaign_id < 2**31:  # beyond the id column's range: no such campaign (not a database error)
        return None
    return uow.session.get(Campaign, campaign_id)


def _people(uow: UnitOfWork, campaign: Campaign) -> dict[str, Staff | None]:
    def staff(staff_id: int | None) -> Staff | None:
        return uow.session.get(Staff, staff_id) if staff_id else None

    return {
        "creator": staff(campaign.created_by_staff_id),
        "approver": staff(campaign.approved_by_staff_id),
        "canceller": staff(campaign.cancelled_by_staff_id),
    }


@bp.get("/staff/console/campaigns/<int:campaign_id>/report", endpoint="campaign")
@staff_page("marketer")
def campaign_page(uow: UnitOfWork, staff: Staff, campaign_id: int) -> ResponseReturnValue:
    campaign = _campaign(uow, campaign_id)
    if campaign is None:
        return message_page(t(NOT_FOUND), 404)
    window_text = (request.args.get("window") or str(reports.WINDOW_DEFAULT))[:10]
    window = _window(window_text)
    context: dict[str, Any] = {
        "campaign": campaign,
        "window_text": window_text,
        "tz": uow.settings.tz,
        "now": uow.now,
        "window_min": reports.WINDOW_MIN,
        "window_max": reports.WINDOW_MAX,
        **_people(uow, campaign),
    }
    if window is None:
        return render_page("staff/reports/campaign.html", 400, error=t(BAD_WINDOW), report=None, **context)
    report = reports.campaign_report(uow.session, campaign, window)
    tables = _report_tables(report, uow.now) if report is not None else {}
    chart = _report_chart(tables["daily"]) if tables else None
    return render_page(
        "staff/reports/campaign.html", report=report, window=window, tables=tables, chart=chart, **context
    )


@bp.get("/staff/console/campaigns/<int:campaign_id>/report.csv", endpoint="campaign_csv")
@staff_page("marketer")
def campaign_csv(uow: UnitOfWork, staff: Staff, campaign_id: int) -> ResponseReturnValue:
    campaign = _campaign(uow, campaign_id)
    if campaign is None:
        return message_page(t(NOT_FOUND), 404)
    window = _window(request.args.get("window"))
    if window is None:
        return message_page(t(BAD_WINDOW), 400)
    report = reports.campaign_report(uow.session, campaign, window)
    table = _report_tables(report, uow.now).get(request.args.get("table", "")) if report is not None else None
    if table is None:
        return message_page(t(BAD_TABLE), 404)
    return csv_response(table, f"campaign-{campaign.id}-{table.key}-{window}d.csv")


def _dashboard_tables(board: Dashboard) -> dict[str, Table]:
    def week_cells(label: str, week: Any) -> list[Any]:
        return [
            label,
            week.members,
            week.bound,
            week.bound / week.members if week.members else None,
            week.new_members,
            week.new_binds,
            week.stamps_added,
            week.cards_filled,
            week.coupons_issued,
            week.coupons_redeemed,
            week.checkins,
            week.game_plays,
            week.missions_completed,
        ]

    weeks = Table(
        "weeks",
        t("每週概況"),
        [
            Column(t("週（週一起）"), "text"),
            Column(t("會員數")),
            Column(t("綁定 LINE 會員")),
            Column(t("綁定率"), "percent"),
            Column(t("新會員")),
            Column(t("新綁定")),
            Column(t("集點數")),
            Column(t("集滿卡數")),
            Column(t("優惠券發出")),
            Column(t("優惠券已使用")),
            Column(t("簽到")),
            Column(t("遊戲次數")),
            Column(t("任務完成")),
        ],
        rows=[week_cells(week.starts_on.isoformat(), week) for week in board.weeks],
        footer=[week_cells(t("{n} 週合計", n=len(board.weeks)), board.totals)],
        note=t("會員數與綁定會員為每週結束時（本週為目前）的人數，其餘為該週內的次數。"),
    )
    rate_columns = [Column(t("會員數")), Column(t("綁定 LINE 會員")), Column(t("綁定率"), "percent")]
    stores = Table(
        "stores",
        t("各主要門市的綁定率"),
        [Column(t("主要門市"), "text"), *rate_columns],
        rows=[[row.label or t("未設定主要門市"), row.members, row.bound, row.rate] for row in board.stores],
    )
    clerks = Table(
        "clerks",
        t("各推薦店員的綁定率"),
        [Column(t("推薦店員"), "text"), Column(t("員工編號・門市"), "text"), *rate_columns],
        rows=[[row.label, row.detail, row.members, row.bound, row.rate] for row in board.clerks],
    )
    active = Table(
        "active",
        t("活躍會員"),
        [Column(t("指標"), "text"), Column(t("人數")), Column(t("比例"), "percent")],
        rows=[
            [t("會員數"), board.members, None],
            [t("綁定 LINE 會員"), board.bound, board.bound / board.members if board.members else None],
            [t("近 {days} 天有消費的會員", days=ACTIVE_DAYS), board.active, board.active_share],
        ],
        note=t("自 {day} 起（含今天）有未全額退款的消費。", day=board.active_since.isoformat()),
    )
    return {"weeks": weeks, "active": active, "stores": stores, "clerks": clerks}


def _dashboard_charts(board: Dashboard) -> list[dict[str, Any]]:
    labels = [week.starts_on.strftime("%m/%d") for week in board.weeks]

    def series(label: str, name: str) -> dict[str, Any]:
        return {"label": t(label), "values": [getattr(week, name) for week in board.weeks]}

    return [
        {
            "id": "members-chart",
            "title": t("會員與綁定 LINE 會員"),
            "type": "line",
            "labels": labels,
            "series": [series("會員數", "members"), series("綁定 LINE 會員", "bound")],
        },
        {
            "id": "engagement-chart",
            "title": t("每週互動"),
            "type": "bar",
            "labels": labels,
            "series": [
                series("簽到", "checkins"),
                series("遊戲次數", "game_plays"),
                series("任務完成", "missions_completed"),
                series("優惠券已使用", "coupons_redeemed"),
                series("集滿卡數", "cards_filled"),
            ],
        },
    ]


@bp.get("/staff/console/dashboard", endpoint="dashboard")
@staff_page("marketer")
def dashboard_page(uow: UnitOfWork, staff: Staff) -> ResponseReturnValue:
    board = programme_dashboard(uow.session, uow.now, uow.settings.tz)
    return render_page(
        "staff/reports/dashboard.html",
        board=board,
        tables=_dashboard_tables(board),
        charts=_dashboard_charts(board),
        weeks=WEEKS,
        tz=uow.settings.tz,
    )


@bp.get("/staff/console/dashboard.csv", endpoint="dashboard_csv")
@staff_page("marketer")
def dashboard_csv(uow: UnitOfWork, staff: Staff) -> ResponseReturnValue:
    board = programme_dashboard(uow.session, uow.now, uow.settings.tz)
    table = _dashboard_tables(board).get(request.args.get("table", ""))
    if table is None:
        return message_page(t(BAD_TABLE), 404)
    day = uow.now.astimezone(uow.settings.tz).date().isoformat()
    return csv_response(table, f"dashboard-{table.key}-{day}.csv")
