"""The audit log: every back-office change, newest first, who did what to whom and when (brand-local time), its
detail readable; a manager sees their own store's."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from bot.i18n import gettext
from bot.web.admin import ACTION_LABELS, FIELD_LABELS, SCOPE_LABELS
from tests.admin_helpers import crew, send, sign_in

AT = datetime(2026, 3, 14, 1, 30, tzinfo=UTC)  # 09:30 in Taipei


@pytest.fixture
def people(runtime, clock):
    clock.set(AT)
    return crew(runtime.sessions)


def _rows(page: str) -> list[str]:
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip() for row in body.split("</tr>")[:-1]]


def test_the_log_shows_who_did_what_to_whom_newest_first_in_taipei_time(client, people, clock):
    sign_in(client, "ADMIN")
    send(
        client,
        f"/staff/admin/staff/{people['clerk'].id}",
        {"code": "C001", "name": "王小美", "role": "clerk", "store_id": people["khh"].id},
    )
    clock.set(AT.replace(minute=45))
    send(client, "/staff/admin/api-keys", {"store_id": people["tpe"].id, "name": "1 號收銀機", "scopes": ["scan"]})

    rows = _rows(client.get("/staff/admin/audit").get_data(as_text=True))

    assert len(rows) == 2
    key_row = "2026-03-14 09:45:00 系統管理員（ADMIN） 建立 POS 金鑰 1 號收銀機 "
    assert rows[0] == key_row + "名稱：1 號收銀機 門市：台北信義店 權限：掃碼、消費、退款、集點"
    assert rows[1] == "2026-03-14 09:30:00 系統管理員（ADMIN） 修改員工資料 王小美（C001） 門市：高雄巨蛋店"


def test_a_manager_sees_only_their_stores_changes(client, app, people):
    admin = app.test_client()
    sign_in(admin, "ADMIN")
    send(admin, f"/staff/admin/staff/{people['other_clerk'].id}/active", {"active": "0"})
    send(admin, f"/staff/admin/staff/{people['clerk'].id}/password", {"password": "p" * 12, "repeat": "p" * 12})
    sign_in(client, "M001")

    rows = _rows(client.get("/staff/admin/audit").get_data(as_text=True))

    assert len(rows) == 1 and "設定密碼 王小美（C001）" in rows[0]


def test_a_change_made_at_the_command_line_is_named_so(client, people, runtime, clock):
    from bot.db import transaction
    from bot.services.staff.accounts import set_active
    from models import Staff

    with transaction(runtime.sessions) as db:
        set_active(db, db.get(Staff, people["clerk"].id), False, actor=None, at=clock.now())
    sign_in(client, "ADMIN")

    (row,) = _rows(client.get("/staff/admin/audit").get_data(as_text=True))

    assert row.endswith("系統指令（omo） 停用員工 王小美（C001） —")


def test_the_log_reads_in_english_too(client, people):
    sign_in(client, "ADMIN")
    send(client, f"/staff/admin/staff/{people['clerk'].id}/active", {"active": "0"})
    client.get("/staff/language/en")

    page = client.get("/staff/admin/audit").get_data(as_text=True)

    assert "Deactivated a staff member" in page and "Audit log" in page


def test_every_label_of_the_log_has_english():
    labels = [*ACTION_LABELS.values(), *FIELD_LABELS.values(), *SCOPE_LABELS.values()]

    assert [label for label in labels if gettext(label, "en") == label] == []


def test_older_changes_are_a_page_further(client, people, monkeypatch):
    import bot.web.admin as admin

    monkeypatch.setattr(admin, "AUDIT_PAGE", 2)
    sign_in(client, "ADMIN")
    for name in ("一", "二", "三"):
        send(
            client,
            f"/staff/admin/staff/{people['clerk'].id}",
            {"code": "C001", "name": name, "role": "clerk", "store_id": people["tpe"].id},
        )

    first = client.get("/staff/admin/audit").get_data(as_text=True)
    older = re.search(r'href="(/staff/admin/audit\?before=\d+)"', first)

    assert [row.split("名稱：")[1] for row in _rows(first)] == ["三", "二"]
    assert older, "a link to older changes"
    assert [row.split("名稱：")[1] for row in _rows(client.get(older.group(1)).get_data(as_text=True))] == ["一"]
