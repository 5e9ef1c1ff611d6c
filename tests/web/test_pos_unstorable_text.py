"""NUL and unpaired surrogates anywhere a POS request carries text (body fields, the member number in the path,
the key): a clear 4xx, never a 500, and nothing changed (on SQLite and PostgreSQL)."""

from __future__ import annotations

import json

import pytest

from models import Purchase, ScanLog
from tests.factories import make_member
from tests.helpers import count
from tests.pos import open_shop

BAD = ["\ud800", "M0\x00"]

ENDPOINTS = [
    ("post", "/api/v1/scan", {"code": "{bad}", "intent": "lookup", "staff_code": "C001"}),
    ("post", "/api/v1/scan", {"code": "123", "intent": "{bad}"}),
    ("post", "/api/v1/purchases", {"transaction_id": "{bad}", "amount": 100, "member_code": "1" * 18}),
    ("post", "/api/v1/purchases", {"transaction_id": "T1", "amount": 100, "member_code": "{bad}"}),
    ("post", "/api/v1/purchases", {"transaction_id": "T1", "amount": 100, "member_code": "1", "staff_code": "{bad}"}),
    ("post", "/api/v1/refunds", {"transaction_id": "{bad}", "refund_id": "R1", "amount": 1}),
    ("post", "/api/v1/stamps", {"member_code": "{bad}", "staff_code": "C001"}),
    ("post", "/api/v1/coupons/redeem", {"code": "{bad}", "staff_code": "C001"}),
    ("post", "/api/v1/coupons/undo", {"code": "{bad}", "staff_code": "C001"}),
    ("post", "/api/v1/members/{bad}/bind-codes", {"staff_code": "C001"}),
    ("post", "/api/v1/members/{bad}/unbind", {"staff_code": "C001"}),
    ("post", "/api/v1/members/{bad}/erase", {"staff_code": "C001"}),
    ("get", "/api/v1/members/{bad}", None),
    ("get", "/api/v1/members/{bad}/coupons", None),
]


@pytest.mark.parametrize("bad", BAD, ids=["surrogate", "nul"])
@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
def test_unstorable_text_is_refused_without_a_500_and_changes_nothing(
    client, runtime, session, method, path, body, bad
):
    shop = open_shop(runtime.sessions, scopes=("scan", "coupons", "members"))
    make_member(runtime.sessions)
    url = path.replace("{bad}", bad.encode("utf-8", "surrogatepass").decode("latin-1"))
    data = json.dumps(body).replace("{bad}", json.dumps(bad)[1:-1]) if body is not None else None

    response = getattr(client, method)(url, data=data, content_type="application/json", headers=shop.auth)

    assert 400 <= response.status_code < 500, response.get_data(as_text=True)
    assert (count(session, Purchase), count(session, ScanLog)) == (0, 0)


@pytest.mark.parametrize("bad", BAD)
def test_an_unstorable_key_is_refused_as_unauthorized(client, runtime, bad):
    open_shop(runtime.sessions)
    header = "Bearer " + bad.encode("utf-8", "surrogatepass").decode("latin-1")

    response = client.get("/api/v1/members/M000001", headers={"Authorization": header})

    assert response.status_code == 401
