"""Importing members from a POS export: dry runs change nothing, real runs apply once, bad rows are named by line."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from bot.cli import main
from bot.db import transaction
from bot.services.membership.member_import import ImportReport, import_members
from bot.services.membership.members import points_balance
from bot.services.membership.pos_export import ImportFileError
from models import Member, PointEntry
from tests.factories import make_member
from tests.helpers import count

HEADER = "member_number,name,phone,birthday,points,tier\n"
ZH_HEADER = "會員編號,姓名,手機,生日,點數,等級\n"


def run_import(runtime, text: str, *, dry_run: bool = False, bom: bool = False) -> ImportReport:
    data = ("\ufeff" if bom else "").encode() + text.encode("utf-8")
    with transaction(runtime.sessions) as tx:
        return import_members(tx, data, filename="pos.csv", dry_run=dry_run, now=datetime.now(UTC))


def member(session, number: str) -> Member:
    return session.scalars(select(Member).where(Member.member_number == number)).one()


def ledger_total(session) -> int:
    return int(session.scalar(select(func.coalesce(func.sum(PointEntry.points), 0))) or 0)


EXPORT = (
    HEADER
    + "M000001,林怡君,0912-345-678,1990/03/14,150,gold\n"  # existing: tier and points change
    + "M000100,陳小春,0933 222 111,2001-02-03,80,\n"  # new
)


def test_a_dry_run_reports_what_would_change_and_changes_nothing(runtime, session):
    make_member(runtime.sessions, points=100)

    report = run_import(runtime, EXPORT, dry_run=True)

    assert [(c.line, c.member_number) for c in report.new_members] == [(3, "M000100")]
    assert [(c.line, c.member_number) for c in report.updated_members] == [(2, "M000001")]
    assert report.updated_members[0].fields == ["tier regular -> gold", "points 100 -> 150 (+50)"]
    text = "\n".join(report.lines())
    assert "DRY RUN" in text and "line 3  M000100" in text
    assert count(session, Member) == 1 and count(session, PointEntry) == 1
    assert member(session, "M000001").tier == "regular"


def test_a_real_run_creates_new_members_and_brings_existing_ones_to_the_files_values(runtime, session):
    make_member(runtime.sessions, points=100)

    report = run_import(runtime, EXPORT)

    assert (len(report.new_members), len(report.updated_members), report.conflicts, report.invalid) == (1, 1, [], [])
    existing, new = member(session, "M000001"), member(session, "M000100")
    assert (existing.tier, existing.phone_e164, existing.source) == ("gold", "+886912345678", "line")
    assert (new.name, new.phone_e164, new.birthday, new.tier) == (
        "陳小春",
        "+886933222111",
        date(2001, 2, 3),
        "regular",
    )
    assert new.source == "pos_import"
    assert points_balance(session, existing.id) == 150 and points_balance(session, new.id) == 80
    sha = hashlib.sha256(EXPORT.encode()).hexdigest()
    adjustment = session.scalars(select(PointEntry).where(PointEntry.member_id == existing.id, PointEntry.points == 50))
    entry = adjustment.one()
    assert (entry.kind, entry.channel, entry.reason) == ("adjust", "import", "POS 匯入")
    assert entry.idempotency_key == f"import:M000001:{sha}"


def test_importing_the_same_file_again_adds_nothing(runtime, session):
    make_member(runtime.sessions, points=100)
    run_import(runtime, EXPORT)
    members, entries, total = count(session, Member), count(session, PointEntry), ledger_total(session)

    again = run_import(runtime, EXPORT)

    assert again.already_imported and not again.new_members and not again.updated_members
    assert "imported before" in "\n".join(again.lines())
    assert (count(session, Member), count(session, PointEntry), ledger_total(session)) == (members, entries, total)


def test_a_later_export_moves_the_balance_by_one_entry_for_the_difference(runtime, session):
    run_import(runtime, HEADER + "M000100,陳小春,0933222111,,80,\n")

    run_import(runtime, HEADER + "M000100,陳小春,0933222111,,65,\n")

    new = member(session, "M000100")
    assert sorted(session.scalars(select(PointEntry.points).where(PointEntry.member_id == new.id))) == [-15, 80]


def test_a_phone_written_two_ways_is_the_same_person(runtime, session):
    make_member(runtime.sessions)  # +886912345678

    report = run_import(runtime, HEADER + "M000001,林怡君,0912-345-678,1990-03-14,,\nM000002,林怡君,+886912345678,,,\n")

    assert report.unchanged == 1 and not report.updated_members
    assert [(p.line, p.member_number, p.reason) for p in report.conflicts] == [
        (3, "M000002", "手機號碼已屬於會員 M000001")
    ]
    assert count(session, Member) == 1


def test_two_rows_with_one_phone_in_a_file_are_a_conflict(runtime, session):
    report = run_import(runtime, HEADER + "M1,甲,0912-345-678,,,\nM2,乙,+886 912 345 678,,,\n")

    assert [c.member_number for c in report.new_members] == ["M1"]
    assert [(p.line, p.reason) for p in report.conflicts] == [(3, "手機號碼與第 2 行（會員 M1）相同")]
    assert count(session, Member) == 1


def test_bad_rows_are_reported_with_their_line_numbers_and_the_rest_is_applied(runtime, session):
    export = (
        HEADER
        + "M1,甲,0912345678,1990-02-30,10,\n"
        + ",乙,0922333444,,,\n"
        + "M3,丙,12345,,,\n"
        + "\n"
        + "M5,丁,,1990/1/5,-3,\n"
        + "M6,戊,,,,gold,extra\n"
        + "M1,甲,,,,\n"
        + "M8,己,0955666777,1988-08-08,1,200,\n"
    )

    report = run_import(runtime, export)

    assert [(p.line, p.member_number, p.reason) for p in report.invalid] == [
        (2, "M1", "生日格式應為 YYYY-MM-DD 或 YYYY/MM/DD"),
        (3, None, "缺少會員編號"),
        (4, "M3", "手機號碼無效：手機號碼格式不正確"),
        (6, "M5", "點數必須是 0 以上的整數"),
        (7, "M6", "欄位數量不符（應有 6 欄，實有 7 欄）"),
        (9, "M8", "欄位數量不符（應有 6 欄，實有 7 欄）"),
    ]
    assert [c.member_number for c in report.new_members] == ["M1"]  # line 8, once its first row was refused
    assert count(session, Member) == 1


def test_zh_tw_headers_and_a_byte_order_mark_are_read(runtime, session):
    report = run_import(runtime, ZH_HEADER + "M000100,陳小春,0933222111,2001/02/03,80,silver\n", bom=True)

    assert [c.member_number for c in report.new_members] == ["M000100"]
    assert member(session, "M000100").tier == "silver"


def test_a_file_missing_a_column_is_refused_whole(runtime, session):
    with pytest.raises(ImportFileError, match="missing column"):
        run_import(runtime, "member_number,name,phone\nM1,甲,0912345678\n")
    assert count(session, Member) == 0


def test_an_erased_member_is_not_brought_back(runtime, session):
    erased = make_member(runtime.sessions, name=None, phone=None, birthday=None)
    with transaction(runtime.sessions) as tx:
        tx.get(Member, erased.id).erased_at = datetime.now(UTC)

    report = run_import(runtime, HEADER + "M000001,林怡君,0912345678,1990-03-14,10,\n")

    assert [p.reason for p in report.conflicts] == ["此會員已刪除個人資料，不匯入"]
    assert member(session, "M000001").name is None


def test_no_phone_number_appears_in_the_report(runtime):
    make_member(runtime.sessions, member_number="M000009", phone="+886922333444")

    report = run_import(runtime, EXPORT + "M000002,張家豪,0922-333-444,,,\nM000003,X,0955111222,,,\n", dry_run=True)

    text = "\n".join(report.lines())
    for digits in ("912345678", "933222111", "922333444", "955111222"):
        assert digits not in text
    assert "+886*****2111" in text


def test_the_cli_dry_run_prints_the_report_and_the_real_run_applies_it(runtime, session, database_url, tmp_path):
    export = tmp_path / "members.csv"
    export.write_bytes(("\ufeff" + ZH_HEADER + "M000100,陳小春,0933222111,2001/02/03,80,\n").encode())
    env = {"APP_ENV": "test", "DATABASE_URL": database_url}

    dry = CliRunner().invoke(main, ["members", "import", str(export), "--dry-run"], env=env)

    assert dry.exit_code == 0, dry.output
    assert "DRY RUN" in dry.output and "line 2  M000100  new member" in dry.output
    assert count(session, Member) == 0

    real = CliRunner().invoke(main, ["members", "import", str(export)], env=env)

    assert real.exit_code == 0, real.output
    assert count(session, Member) == 1


def test_the_cli_names_a_file_it_cannot_read(runtime, database_url, tmp_path):
    export = tmp_path / "members.csv"
    export.write_bytes("會員編號,姓名\n".encode("big5"))

    result = CliRunner().invoke(
        main, ["members", "import", str(export)], env={"APP_ENV": "test", "DATABASE_URL": database_url}
    )

    assert result.exit_code != 0
    assert "not UTF-8" in result.output
