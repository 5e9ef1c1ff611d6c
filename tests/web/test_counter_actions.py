"""The counter page's JSON endpoints: a clerk scans a member, records a purchase (preview, then confirm), stamps,
redeems and undoes coupons and purchases; refusals come from the reason codes and change nothing."""

from __future__ import annotations

import base64
import io

import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import func, select

from bot.db import transaction
from bot.services.membership.phones import mask_phone_local
from bot.services.staff.accounts import set_active
from models import BarcodeUse, Coupon, CouponRedemption, Member, MemberBalance, Purchase, ScanLog, Staff
from tests.binding_helpers import field
from tests.counter_helpers import Counter, new_id
from tests.coupon_helpers import give, make_template
from tests.factories import STAFF_PASSWORD, make_member, make_staff, make_store
from tests.pos import member_code
from tests.stamp_helpers import make_stamp_template


@pytest.fixture
def clerk(runtime):
    return make_staff(runtime.sessions)


@pytest.fixture
def counter(client, clerk, clock):
    return Counter(client)


def _count(session, model, *where) -> int:
    return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _points(session, member_id: int) -> int:
    return int(session.scalar(select(MemberBalance.points).where(MemberBalance.member_id == member_id)) or 0)


def test_the_local_mask_shows_the_first_four_and_last_three_digits():
    assert mask_phone_local("+886912345678") == "0912-***-678"
    assert mask_phone_local("+85291234567") == "+852****4567"  # not Taiwanese: the international mask


def test_a_scan_shows_the_member_with_points_cards_coupons_and_a_masked_phone(counter, runtime, clock, session):
    member = make_member(runtime.sessions, points=120, tier="silver")
    make_stamp_template(runtime.sessions)
    coupon, _ = give(runtime.sessions, member, make_template(runtime.sessions), "k1", at=clock.now())

    answer = counter.ok("/counter/scan", code=member_code(runtime.sessions, member.id, clock.now()))

    card = answer["member"]
    assert card["member_number"] == "M000001"
    assert card["name"] == "林怡君"
    assert card["tier_label"] == "銀卡會員"
    assert card["points"] == 120
    assert card["phone"] == "0912-***-678"
    assert card["spendable"] is True
    assert [c["code"] for c in card["coupons"]] == [coupon.code]
    assert card["stamp_cards"] == []  # no card opened yet
    assert "+886912345678" not in str(answer) and "912345678" not in str(answer)
    assert _count(session, BarcodeUse) == 0  # a scan alone spends nothing


def test_a_purchase_is_previewed_then_recorded_with_what_the_preview_said(counter, runtime, clock, session):
    member = make_member(runtime.sessions)
    make_stamp_template(runtime.sessions)
    code = member_code(runtime.sessions, member.id, clock.now())
    counter.ok("/counter/scan", code=code)

    preview = counter.ok("/counter/purchase/preview", member_number="M000001", amount=1250)

    assert preview["points"] == 12
    assert preview["stamps"] == [
        {"name": "麵包集點卡", "stamps": 0, "stamps_to_fill": 10, "adding": 12, "limited": False}
    ]
    assert _count(session, Purchase) == 0  # the preview records nothing

    recorded = counter.ok("/counter/purchase", code=code, amount=1250, transaction_id=new_id())

    assert recorded["points_earned"] == preview["points"] == 12
    assert recorded["stamps"][0]["stamps_added"] == preview["stamps"][0]["adding"]
    assert recorded["member"]["points"] == 12
    assert recorded["code_spent"] is True
    assert recorded["message"] == "已登錄消費 NT$1,250，獲得 12 點"
    stored = session.scalars(select(Purchase)).one()
    assert (stored.amount, stored.member_id, stored.staff_id) == (1250, member.id, counter_staff_id(session))


def counter_staff_id(session) -> int:
    return session.scalars(select(Staff.id).where(Staff.code == "C001")).one()


def test_a_double_submit_of_one_purchase_form_is_recorded_once(counter, runtime, clock, session):
    member = make_member(runtime.sessions)
    code = member_code(runtime.sessions, member.id, clock.now())
    form = new_id()

    first = counter.ok("/counter/purchase", code=code, amount=500, transaction_id=form)
    second = counter.ok("/counter/purchase", code=code, amount=500, transaction_id=form)

    assert first["replayed"] is False and second["replayed"] is True
    assert second["points_earned"] == first["points_earned"] == 5
    assert second["message"] == "這筆消費先前已登錄，沒有重複記錄"
    assert _count(session, Purchase) == 1
    assert _points(session, member.id) == 5


def test_a_spent_code_is_refused_for_the_next_spend_and_an_old_code_as_expired(counter, runtime, clock, session):
    member = make_member(runtime.sessions)
    code = member_code(runtime.sessions, member.id, clock.now())
    counter.ok("/counter/purchase", code=code, amount=300, transaction_id=new_id())

    again = counter.post("/counter/purchase", code=code, amount=300, transaction_id=new_id())

    assert again.status_code == 409
    assert again.get_json() == {
        "ok": False,
        "error": "code_used",
        "message": "此條碼已使用，請會員在 LINE 會員卡畫面出示新的條碼（會自動更新）",
    }
    stamp = counter.post("/counter/stamp", code=code, idempotency_key=new_id())
    assert stamp.status_code == 409 and stamp.get_json()["error"] == "code_used"
    assert _count(session, Purchase) == 1

    old = member_code(runtime.sessions, member.id, clock.now())
    clock.advance(minutes=3)
    expired = counter.post("/counter/purchase", code=old, amount=300, transaction_id=new_id())
    assert expired.status_code == 422
    assert "條碼已過期" in expired.get_json()["message"]
    assert _count(session, Purchase) == 1
    assert _count(session, ScanLog, ScanLog.result == "expired") == 1  # the refused scan is logged all the same


def test_a_look_up_by_number_or_phone_shows_the_member_but_cannot_spend(counter, runtime, clock, session):
    member = make_member(runtime.sessions)
    coupon, _ = give(runtime.sessions, member, make_template(runtime.sessions), "k1", at=clock.now())

    by_number = counter.ok("/counter/lookup", query="m000001")
    by_phone = counter.ok("/counter/lookup", query="0912-345-678")
    typed_in_scan_field = counter.ok("/counter/scan", code="M000001")

    for answer in (by_number, by_phone, typed_in_scan_field):
        assert answer["member"]["member_number"] == "M000001"
        assert answer["member"]["spendable"] is False
    refusals = [
        counter.post("/counter/purchase", amount=300, transaction_id=new_id()),
        counter.post("/counter/purchase", code="M000001", amount=300, transaction_id=new_id()),
        counter.post("/counter/stamp", code="M000001", idempotency_key=new_id()),
        counter.post("/counter/coupons/redeem", coupon_code=coupon.code, member_number="M000001"),
        counter.post("/counter/coupons/redeem", coupon_code=coupon.code, code="M000001"),
    ]
    for refused in refusals:
        assert refused.status_code == 422
        assert refused.get_json()["message"] == "會員編號僅供查詢，集點或折抵請掃描會員條碼"
    assert _count(session, Purchase) == 0
    assert _count(session, CouponRedemption) == 0


def test_an_unknown_number_or_phone_is_not_found(counter):
    for query in ("M999999", "0987654321"):
        answer = counter.post("/counter/lookup", query=query)
        assert answer.status_code == 404
        assert answer.get_json()["message"] == "查無此會員編號"


def test_a_coupon_is_used_once_then_said_to_be_used_and_undone_within_the_window(counter, runtime, clock, session):
    member = make_member(runtime.sessions)
    coupon, _ = give(runtime.sessions, member, make_template(runtime.sessions), "k1", at=clock.now())
    code = member_code(runtime.sessions, member.id, clock.now())

    used = counter.ok("/counter/coupons/redeem", coupon_code=coupon.code, code=code)
    again = counter.post("/counter/coupons/redeem", coupon_code=coupon.code, code=code)

    assert used["message"] == "已使用優惠券「滿 300 折 50」"
    assert used["member"]["coupons"] == []
    assert again.status_code == 409
    assert again.get_json()["message"] == "此優惠券已使用"
    assert _count(session, CouponRedemption) == 1

    undone = counter.ok("/counter/coupons/undo", coupon_code=coupon.code)
    assert undone["message"] == "已取消使用優惠券「滿 300 折 50」"
    assert session.get(Coupon, coupon.id).redeemed_at is None

    counter.ok("/counter/coupons/redeem", coupon_code=coupon.code, code=code)
    clock.advance(minutes=16)
    late = counter.post("/counter/coupons/undo", coupon_code=coupon.code)
    assert late.status_code == 409
    assert late.get_json()["message"] == "已超過可取消使用的時間（15 分鐘）"


def test_one_scan_serves_a_coupon_and_the_purchase_it_goes_with(counter, runtime, clock, session):
    member = make_member(runtime.sessions)
    coupon, _ = give(runtime.sessions, member, make_template(runtime.sessions), "k1", at=clock.now())
    code = member_code(runtime.sessions, member.id, clock.now())
    counter.ok("/counter/scan", code=code)

    counter.ok("/counter/coupons/redeem", coupon_code=coupon.code, code=code)  # looked up, not spent
    counter.ok("/counter/purchase", code=code, amount=800, transaction_id=new_id())
    after = counter.post("/counter/coupons/redeem", coupon_code="CP000000000000", code=code)

    assert _count(session, Purchase) == 1
    assert _count(session, CouponRedemption) == 1
    assert after.status_code == 404 and after.get_json()["message"] == "查無此優惠券"


def test_someone_elses_coupon_is_refused(counter, runtime, clock):
    owner = make_member(runtime.sessions)
    shopper = make_member(runtime.sessions, phone="+886911111111")
    coupon, _ = give(runtime.sessions, owner, make_template(runtime.sessions), "k1", at=clock.now())

    refused = counter.post(
        "/counter/coupons/redeem", coupon_code=coupon.code, code=member_code(runtime.sessions, shopper.id)
    )

    assert refused.status_code == 422
    assert refused.get_json()["message"] == "此優惠券不屬於這位會員"


def test_a_smart_stamp_spends_the_code_and_stamps_the_visit_card(counter, runtime, clock, session):
    member = make_member(runtime.sessions)
    make_stamp_template(
        runtime.sessions, "VISIT5", name="來店集點", rule="per_visit", amount_per_stamp=None, stamps_to_fill=5
    )
    code = member_code(runtime.sessions, member.id, clock.now())

    stamped = counter.ok("/counter/stamp", code=code, idempotency_key=new_id())

    assert stamped["message"] == "已蓋章"
    assert stamped["member"]["stamp_cards"] == [{"name": "來店集點", "stamps": 1, "stamps_to_fill": 5}]
    assert _count(session, BarcodeUse) == 1


def test_a_purchase_is_undone_within_fifteen_minutes_and_not_after(counter, runtime, clock, session):
    member = make_member(runtime.sessions)
    form = new_id()
    counter.ok("/counter/purchase", code=member_code(runtime.sessions, member.id), amount=2000, transaction_id=form)
    assert _points(session, member.id) == 20

    undone = counter.ok("/counter/purchase/undo", transaction_id=form)
    again = counter.ok("/counter/purchase/undo", transaction_id=form)

    assert undone["message"] == "已取消消費，扣回 20 點"
    assert again["message"] == "這筆消費先前已取消，沒有重複扣點"  # not "扣回 20 點" again: nothing was taken twice
    assert again["member"]["points"] == 0
    assert _points(session, member.id) == 0

    late_form = new_id()
    counter.ok(
        "/counter/purchase", code=member_code(runtime.sessions, member.id), amount=1000, transaction_id=late_form
    )
    clock.advance(minutes=16)
    late = counter.post("/counter/purchase/undo", transaction_id=late_form)
    assert late.status_code == 409
    assert late.get_json()["message"] == "已超過可取消消費的時間（15 分鐘），請改辦退貨"
    assert _points(session, member.id) == 10


def test_a_clerk_of_another_store_cannot_act_on_this_stores_purchase_or_coupon(client, runtime, clock, session):
    make_staff(runtime.sessions)
    other_store = make_store(runtime.sessions, code="KHH01", name="高雄店")
    make_staff(runtime.sessions, code="K001", name="陳大文", store=other_store)
    member = make_member(runtime.sessions)
    coupon, _ = give(runtime.sessions, member, make_template(runtime.sessions), "k1", at=clock.now())
    here = Counter(client)
    form = new_id()
    here.ok("/counter/purchase", code=member_code(runtime.sessions, member.id), amount=500, transaction_id=form)
    here.ok("/counter/coupons/redeem", coupon_code=coupon.code, code=member_code(runtime.sessions, member.id))

    there = Counter(client.application.test_client(), "K001")  # another browser
    store_id_here = session.scalars(select(Purchase.store_id)).one()

    purchase_undo = there.post("/counter/purchase/undo", transaction_id=form, store_id=store_id_here)
    coupon_undo = there.post("/counter/coupons/undo", coupon_code=coupon.code, store_id=store_id_here)

    assert purchase_undo.status_code == 404
    assert purchase_undo.get_json()["message"] == "查無此交易編號"
    assert coupon_undo.status_code == 403
    assert coupon_undo.get_json()["message"] == "只有使用此優惠券的門市可以取消"
    assert session.scalars(select(Purchase.refunded_amount)).one() == 0
    assert session.get(Coupon, coupon.id).redeemed_at is not None


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/counter/scan", {"code": "1" * 65}),
        ("/counter/scan", {"code": "1234\x00567"}),
        ("/counter/scan", {"code": "  "}),
        ("/counter/scan", {"code": 123456}),
        ("/counter/lookup", {"query": "M" * 33}),
        ("/counter/lookup", {"query": "M00\u200b0001"}),
        ("/counter/purchase/preview", {"member_number": "M000001", "amount": 0}),
        ("/counter/purchase", {"code": "1" * 18, "amount": 10_000_001, "transaction_id": "x" * 36}),
        ("/counter/purchase", {"code": "1" * 18, "amount": "12.5", "transaction_id": "0" * 36}),
        ("/counter/purchase", {"code": "1" * 18, "amount": 100, "transaction_id": "not an id\n"}),
        ("/counter/purchase", {"code": "1" * 18, "amount": 100, "transaction_id": "0" * 36 + "\n"}),
        ("/counter/coupons/redeem", {"coupon_code": "CP" + "0" * 40}),
        ("/counter/coupons/undo", {"coupon_code": "\t"}),
    ],
)
def test_over_long_or_non_printable_input_is_refused_and_changes_nothing(counter, session, path, body):
    answer = counter.post(path, **body)

    assert answer.status_code == 400
    data = answer.get_json()
    assert data["ok"] is False and data["error"] == "invalid_input" and data["message"]
    assert _count(session, ScanLog) == 0
    assert _count(session, Purchase) == 0


@pytest.mark.parametrize("path", ["/counter/scan", "/counter/purchase", "/counter/coupons/redeem"])
def test_a_body_nested_too_deep_to_parse_is_refused_not_a_500(counter, session, path):
    deep = '{"code": ' + "[" * 100_000 + "]" * 100_000 + "}"  # json.loads raises RecursionError, not ValueError

    answer = counter.client.post(
        path, data=deep, content_type="application/json", headers={"X-CSRFToken": counter.csrf}
    )

    assert answer.status_code == 400
    assert answer.get_json()["error"] == "invalid_input"
    assert _count(session, ScanLog) == 0


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(counter, runtime, clock, session):
    member = make_member(runtime.sessions)
    code = member_code(runtime.sessions, member.id, clock.now())

    answer = counter.post("/counter/purchase", csrf=False, code=code, amount=500, transaction_id=new_id())

    assert answer.status_code == 400
    assert "頁面已逾時" in answer.get_data(as_text=True)
    assert _count(session, Purchase) == 0
    assert _count(session, BarcodeUse) == 0


def test_a_deactivated_clerk_is_signed_out_and_changes_nothing(counter, runtime, clock, session, clerk):
    member = make_member(runtime.sessions)
    with transaction(runtime.sessions) as tx:
        set_active(tx, tx.get_one(Staff, clerk.id), False, actor=None, at=clock.now())

    answer = counter.post(
        "/counter/purchase", code=member_code(runtime.sessions, member.id), amount=500, transaction_id=new_id()
    )

    assert answer.status_code == 302
    assert "/staff/login" in answer.headers["Location"]
    assert _count(session, Purchase) == 0
    assert session.get(Member, member.id) is not None


def test_the_page_needs_a_clerk_or_manager_with_a_store(client, runtime):
    make_staff(runtime.sessions, code="MK01", role="marketer")
    make_staff(runtime.sessions, code="AD01", role="admin")

    assert client.get("/counter").status_code == 302  # signed out: to the sign-in page
    _sign_in(client, "MK01")
    assert client.get("/counter").status_code == 403
    fresh = client.application.test_client()
    _sign_in(fresh, "AD01")
    no_store = fresh.get("/counter")
    assert no_store.status_code == 403
    assert "沒有所屬門市" in no_store.get_data(as_text=True)


def _sign_in(client, code: str) -> None:
    login = client.get("/staff/login").get_data(as_text=True)
    client.post(
        "/staff/login", data={"code": code, "password": STAFF_PASSWORD, "csrf_token": field(login, "csrf_token")}
    )


def test_the_members_e_invoice_carrier_is_shown_as_a_code_39_barcode(counter, runtime, clock, session):
    member = make_member(runtime.sessions)
    with transaction(runtime.sessions) as tx:
        tx.get_one(Member, member.id).einvoice_carrier = "/ABC+1.2"

    card = counter.ok("/counter/lookup", query="M000001")["member"]

    assert card["carrier"]["code"] == "/ABC+1.2"
    prefix = "data:image/png;base64,"
    assert card["carrier"]["image"].startswith(prefix)
    png = base64.b64decode(card["carrier"]["image"].removeprefix(prefix))
    read = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)), formats=zxingcpp.BarcodeFormat.Code39)
    assert [result.text for result in read] == ["/ABC+1.2"]


def test_after_a_spend_the_shoppers_next_code_serves_the_next_spend(counter, runtime, clock, session):
    member = make_member(runtime.sessions)
    make_stamp_template(
        runtime.sessions, "VISIT5", name="來店集點", rule="per_visit", amount_per_stamp=None, stamps_to_fill=5
    )
    first = member_code(runtime.sessions, member.id, clock.now())
    counter.ok("/counter/purchase", code=first, amount=300, transaction_id=new_id())

    rolled_over = member_code(runtime.sessions, member.id, clock.now())  # what the live card shows now
    assert rolled_over != first
    assert counter.ok("/counter/scan", code=rolled_over)["member"]["spendable"] is True
    counter.ok("/counter/stamp", code=rolled_over, idempotency_key=new_id())

    assert _count(session, BarcodeUse) == 2


def test_a_manager_serves_at_their_store_too(client, runtime, clock, session):
    make_staff(runtime.sessions, code="M001", name="張店長", role="manager")
    member = make_member(runtime.sessions)
    manager = Counter(client, "M001")

    manager.ok("/counter/purchase", code=member_code(runtime.sessions, member.id), amount=300, transaction_id=new_id())

    assert (
        session.scalars(select(Purchase.staff_id)).one()
        == session.scalars(select(Staff.id).where(Staff.code == "M001")).one()
    )


def test_answers_come_in_english_after_the_switch(counter, client, runtime, clock):
    member = make_member(runtime.sessions)
    coupon, _ = give(runtime.sessions, member, make_template(runtime.sessions), "k1", at=clock.now())
    code = member_code(runtime.sessions, member.id, clock.now())
    counter.ok("/counter/coupons/redeem", coupon_code=coupon.code, code=code)
    client.get("/staff/language/en")

    again = counter.post("/counter/coupons/redeem", coupon_code=coupon.code, code=code)
    scanned = counter.ok("/counter/scan", code=code)
    page = client.get("/counter").get_data(as_text=True)

    assert again.get_json()["message"] == "This coupon has already been used."
    assert scanned["member"]["tier_label"] == "Regular"
    assert "Scan a member barcode or a coupon" in page
    assert '"needs_scan": "Scan the member\\u0027s barcode"' in page  # the script's texts, translated here
