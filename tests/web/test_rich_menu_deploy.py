"""`omo richmenu deploy` and `relink` against the local LINE platform."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.line_client import LineDeliveryError
from models import LineUser, RichMenuDeployment
from rich_menus.definitions import MEMBER_MAIN_ALIAS, MEMBER_MORE_ALIAS
from rich_menus.deploy import Pacer, deploy, relink

CHANGING = ("POST", "DELETE")


def run_deploy(runtime, settings=None):
    with runtime.sessions.begin() as session:
        return deploy(runtime.line, session, settings or runtime.settings, runtime.clock.now())


def records(session):
    return {r.state: (r.line_rich_menu_id, r.content_hash) for r in session.scalars(select(RichMenuDeployment))}


def changing_calls(platform, since):
    return [(r["method"], r["path"]) for r in platform.requests[since:] if r["method"] in CHANGING]


def test_deploy_creates_menus_aliases_and_default_and_a_second_run_changes_nothing(app, runtime, platform, session):
    report = run_deploy(runtime)
    saved = records(session)
    assert set(saved) == {"guest", "member", "member-more"}
    assert set(platform.rich_menus) == {menu_id for menu_id, _ in saved.values()}
    assert all(menu["image"] for menu in platform.rich_menus.values())
    assert platform.default_rich_menu_id == saved["guest"][0]
    assert platform.aliases == {MEMBER_MAIN_ALIAS: saved["member"][0], MEMBER_MORE_ALIAS: saved["member-more"][0]}
    assert len(report.created) == 3

    before = len(platform.requests)
    again = run_deploy(runtime)
    assert again.created == {} and again.lines() == ["rich menus are up to date; nothing changed"]
    assert changing_calls(platform, before) == []
    assert records(session) == saved


def test_a_failed_upload_removes_this_runs_menus_and_leaves_the_record(app, runtime, platform, session):
    run_deploy(runtime)
    saved, menus_before = records(session), set(platform.rich_menus)
    aliases, default = dict(platform.aliases), platform.default_rich_menu_id
    changed = runtime.settings.__class__(**{**runtime.settings.__dict__, "brand_color": "#123456"})
    platform.fail_next("/content", 400)
    with pytest.raises(LineDeliveryError):
        run_deploy(runtime, changed)
    assert records(session) == saved
    assert set(platform.rich_menus) == menus_before  # no orphan
    assert platform.aliases == aliases and platform.default_rich_menu_id == default


def test_a_failure_after_moving_aliases_moves_them_back(app, runtime, platform, session, monkeypatch):
    run_deploy(runtime)
    saved, menus_before, aliases = records(session), set(platform.rich_menus), dict(platform.aliases)
    changed = runtime.settings.__class__(**{**runtime.settings.__dict__, "brand_color": "#123456"})

    def refuse(menu_id):  # setting the default fails, after the aliases moved
        raise LineDeliveryError(500, "Internal server error")

    monkeypatch.setattr(runtime.line, "set_default_rich_menu", refuse)
    with pytest.raises(LineDeliveryError):
        run_deploy(runtime, changed)
    assert records(session) == saved and set(platform.rich_menus) == menus_before and platform.aliases == aliases


def test_redeploy_deletes_old_menus_only_after_the_new_ones_are_live(app, runtime, platform, session):
    run_deploy(runtime)
    old = records(session)
    changed = runtime.settings.__class__(**{**runtime.settings.__dict__, "brand_name": "新品牌"})
    before = len(platform.requests)
    report = run_deploy(runtime, changed)
    new = records(session)
    assert set(report.created) == {"guest"}  # only the guest menu shows the brand name
    assert new["member"] == old["member"] and new["guest"] != old["guest"]
    calls = changing_calls(platform, before)
    delete = ("DELETE", f"/v2/bot/richmenu/{old['guest'][0]}")
    assert calls[-1] == delete
    assert calls.index(("POST", f"/v2/bot/user/all/richmenu/{new['guest'][0]}")) < calls.index(delete)
    assert set(platform.rich_menus) == {menu_id for menu_id, _ in new.values()}


def add_members(runtime, platform, count):
    ids = [platform.create_user(f"user {n}", friend=True) for n in range(count)]
    with runtime.sessions.begin() as session:
        session.add_all(LineUser(line_user_id=uid, rich_menu_state="member") for uid in ids)
        session.add(LineUser(line_user_id=platform.create_user("guest", friend=True)))
        session.add(LineUser(line_user_id=platform.create_user("blocked"), rich_menu_state="member", is_blocked=True))
    return ids


def test_relink_links_members_500_at_a_time_paced_and_then_deletes_the_replaced_member_menu(
    app, runtime, platform, session
):
    run_deploy(runtime)
    member_ids = add_members(runtime, platform, 1001)
    old_member = records(session)["member"][0]
    with runtime.sessions.begin() as s:
        for user in s.scalars(select(LineUser).where(LineUser.rich_menu_state == "member")):
            user.applied_rich_menu_id = old_member
    changed = runtime.settings.__class__(**{**runtime.settings.__dict__, "brand_color": "#123456"})
    report = run_deploy(runtime, changed)
    assert old_member in platform.rich_menus and report.kept == {old_member: 1001}  # members still on it

    sleeps: list[float] = []
    now = [0.0]
    pacer = Pacer(2.0, clock=lambda: now[0], sleep=lambda s: sleeps.append(s))
    before = len(platform.requests)
    with runtime.sessions.begin() as s:
        result = relink(runtime.line, s, pacer=pacer)
    new_member = records(session)["member"][0]
    bulk = [r["body"] for r in platform.requests[before:] if r["path"] == "/v2/bot/richmenu/bulk/link"]
    assert [len(body["userIds"]) for body in bulk] == [500, 500, 1]
    assert {body["richMenuId"] for body in bulk} == {new_member}
    assert sleeps == [0.5, 0.5]  # two requests a second
    assert result.linked == 1001 and result.requests == 3 and result.deleted == [old_member]
    assert all(platform.user_rich_menus[uid] == new_member for uid in member_ids)
    applied = set(session.scalars(select(LineUser.applied_rich_menu_id).where(~LineUser.is_blocked)))
    assert applied == {new_member, None}  # members on the new menu, the guest on the default
    assert old_member not in platform.rich_menus

    before = len(platform.requests)
    with runtime.sessions.begin() as s:
        assert relink(runtime.line, s, pacer=pacer).linked == 0
    assert changing_calls(platform, before) == []
