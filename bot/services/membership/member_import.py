"""Importing members from a POS export: match by member number, bring fields and points to the file's values.

A dry run reports what would change and changes nothing. A real run applies every valid, non-conflicting row in the
caller's transaction and records the file (by SHA-256), so importing the same file again changes nothing. Points
move by ONE ledger entry per member and file (the difference), keyed `import:<member number>:<file sha256>`.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import QueryableAttribute, Session

from bot.services.membership.phones import mask_phone
from bot.services.membership.pos_export import PosRow, RowProblem, read_pos_export
from bot.services.rewards.ledger import post_points
from models import Member, PointEntry
from models.membership import MemberImport

log = logging.getLogger(__name__)

IMPORT_REASON = "POS 匯入"
_CHUNK = 500


@dataclass
class MemberChange:
    """What a row does to one member; `fields` describe the changes with phone numbers masked."""

    line: int
    member_number: str
    is_new: bool
    fields: list[str]
    points_delta: int
    row: PosRow
    member: Member | None


@dataclass
class ImportReport:
    filename: str
    file_sha256: str
    dry_run: bool
    already_imported: bool = False
    rows: int = 0
    new_members: list[MemberChange] = field(default_factory=list)
    updated_members: list[MemberChange] = field(default_factory=list)
    unchanged: int = 0
    conflicts: list[RowProblem] = field(default_factory=list)
    invalid: list[RowProblem] = field(default_factory=list)

    def lines(self) -> list[str]:
        """The report as text for the operator (no phone number appears unmasked)."""
        mode = "DRY RUN, nothing was changed" if self.dry_run else "applied in one transaction"
        if self.already_imported:
            mode = "nothing was changed"
        out = [f"POS import of {self.filename} (sha256 {self.file_sha256[:12]}): {mode}"]
        if self.already_imported:
            return [*out, "  this file was imported before: nothing to change"]
        out.append(
            f"  rows: {self.rows}, new members: {len(self.new_members)}, updated: {len(self.updated_members)}, "
            f"unchanged: {self.unchanged}, conflicts: {len(self.conflicts)}, invalid: {len(self.invalid)}"
        )
        for title, changes in (("New members", self.new_members), ("Updated members", self.updated_members)):
            if changes:
                out.append(f"{title}:")
                out += [f"  line {c.line}  {c.member_number}  {', '.join(c.fields)}" for c in changes]
        for title, problems in (("Conflicts (not applied)", self.conflicts), ("Invalid rows", self.invalid)):
            if problems:
                out.append(f"{title}:")
                out += [f"  line {p.line}  {p.member_number or '-'}  {p.reason}" for p in problems]
        return out


def file_sha256(data: bytes) -> str:
    """The SHA-256 (hex) that identifies an export file."""
    return hashlib.sha256(data).hexdigest()


def import_members(session: Session, data: bytes, *, filename: str, dry_run: bool, now: datetime) -> ImportReport:
    """Import a POS export (the file's bytes); returns the report. Raises ImportFileError for an unreadable file.

    With `dry_run` nothing is written. Otherwise the changes are made in `session`; the caller commits them together.
    """
    sha = file_sha256(data)
    report = ImportReport(filename=filename, file_sha256=sha, dry_run=dry_run)
    rows, report.invalid = read_pos_export(data)
    report.rows = len(rows) + len(report.invalid)
    if session.scalar(select(MemberImport.id).where(MemberImport.file_sha256 == sha)) is not None:
        report.already_imported = True
        report.invalid = []
        return report
    _plan(session, rows, report)
    if not dry_run:
        for change in report.new_members + report.updated_members:
            _apply(session, change, sha, now)
        session.add(MemberImport(file_sha256=sha, filename=filename[:255], rows=report.rows, created_at=now))
        session.flush()
    log.info(
        "member import %s (%s): %d new, %d updated, %d conflicts, %d invalid%s",
        filename,
        sha[:12],
        len(report.new_members),
        len(report.updated_members),
        len(report.conflicts),
        len(report.invalid),
        " (dry run)" if dry_run else "",
    )
    return report


def _plan(session: Session, rows: list[PosRow], report: ImportReport) -> None:
    by_number = {m.member_number: m for m in _members(session, Member.member_number, [r.member_number for r in rows])}
    by_phone = {m.phone_e164: m for m in _members(session, Member.phone_e164, [r.phone_e164 for r in rows])}
    balances = _balances(session, [m.id for m in by_number.values()])
    claimed: dict[str, PosRow] = {}
    for row in rows:
        member = by_number.get(row.member_number)
        reason = _conflict(row, member, by_phone, claimed)
        if reason:
            report.conflicts.append(RowProblem(row.line, row.member_number, reason))
            continue
        if row.phone_e164:
            claimed[row.phone_e164] = row
        change = _change(row, member, balances.get(member.id, 0) if member else 0)
        if change.is_new:
            report.new_members.append(change)
        elif change.fields:
            report.updated_members.append(change)
        else:
            report.unchanged += 1


def _conflict(
    row: PosRow, member: Member | None, by_phone: dict[str | None, Member], claimed: dict[str, PosRow]
) -> str:
    if member is not None and member.erased_at is not None:
        return "此會員已刪除個人資料，不匯入"
    if row.phone_e164 is None:
        return ""
    owner = by_phone.get(row.phone_e164)
    if owner is not None and owner.member_number != row.member_number:
        return f"手機號碼已屬於會員 {owner.member_number}"
    earlier = claimed.get(row.phone_e164)
    if earlier is not None:
        return f"手機號碼與第 {earlier.line} 行（會員 {earlier.member_number}）相同"
    return ""


def _change(row: PosRow, member: Member | None, balance: int) -> MemberChange:
    delta = 0 if row.points is None else row.points - balance
    fields: list[str] = []
    if member is None:
        fields.append("new member" + (f", phone {mask_phone(row.phone_e164)}" if row.phone_e164 else ""))
    else:
        if row.name is not None and row.name != member.name:
            fields.append("name")
        if row.phone_e164 is not None and row.phone_e164 != member.phone_e164:
            old = mask_phone(member.phone_e164) if member.phone_e164 else "none"
            fields.append(f"phone {old} -> {mask_phone(row.phone_e164)}")
        if row.birthday is not None and row.birthday != member.birthday:
            fields.append("birthday")
        if row.tier is not None and row.tier != member.tier:
            fields.append(f"tier {member.tier} -> {row.tier}")
    if delta:
        fields.append(f"points {balance} -> {balance + delta} ({delta:+d})")
    return MemberChange(row.line, row.member_number, member is None, fields, delta, row, member)


def _apply(session: Session, change: MemberChange, sha: str, now: datetime) -> None:
    row = change.row
    member = change.member
    if member is None:
        member = Member(
            member_number=row.member_number, tier=row.tier or "regular", source="pos_import", created_at=now
        )
        session.add(member)
    member.name = row.name if row.name is not None else member.name
    member.phone_e164 = row.phone_e164 or member.phone_e164
    member.birthday = row.birthday or member.birthday
    member.tier = row.tier or member.tier
    session.flush()
    if change.points_delta:
        post_points(
            session,
            member.id,
            change.points_delta,
            kind="adjust",
            reason=IMPORT_REASON,
            channel="import",
            idempotency_key=f"import:{row.member_number}:{sha}",
            at=now,
        )


def _members(session: Session, column: QueryableAttribute[Any], values: Iterable[str | None]) -> list[Member]:
    wanted = sorted({v for v in values if v})
    found: list[Member] = []
    for start in range(0, len(wanted), _CHUNK):
        found += session.scalars(select(Member).where(column.in_(wanted[start : start + _CHUNK]))).all()
    return found


def _balances(session: Session, member_ids: list[int]) -> dict[int, int]:
    balances: dict[int, int] = {}
    for start in range(0, len(member_ids), _CHUNK):
        chunk = member_ids[start : start + _CHUNK]
        query = select(PointEntry.member_id, func.sum(PointEntry.points)).where(PointEntry.member_id.in_(chunk))
        balances.update({mid: int(total or 0) for mid, total in session.execute(query.group_by(PointEntry.member_id))})
    return balances
