"""Helpers for the counter page tests: a clerk signed in with the test client, and JSON posts with the CSRF header."""

from __future__ import annotations

import re
import uuid
from typing import Any

from tests.binding_helpers import field
from tests.factories import STAFF_PASSWORD

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


class Counter:
    """The counter page as one clerk's browser uses it: `post("/counter/scan", code=…)` sends JSON with the
    page's CSRF token in the X-CSRFToken header."""

    def __init__(self, client: Any, staff_code: str = "C001") -> None:
        self.client = client
        login = client.get("/staff/login").get_data(as_text=True)
        signed = client.post(
            "/staff/login",
            data={"code": staff_code, "password": STAFF_PASSWORD, "csrf_token": field(login, "csrf_token")},
        )
        assert signed.status_code == 302, signed.get_data(as_text=True)
        page = client.get("/counter")
        assert page.status_code == 200, page.get_data(as_text=True)
        match = CSRF_META.search(page.get_data(as_text=True))
        assert match
        self.csrf = match.group(1)

    def post(self, path: str, *, csrf: bool = True, **body: Any) -> Any:
        headers = {"X-CSRFToken": self.csrf} if csrf else {}
        return self.client.post(path, json=body, headers=headers)

    def ok(self, path: str, **body: Any) -> dict[str, Any]:
        answer = self.post(path, **body)
        assert answer.status_code == 200, answer.get_data(as_text=True)
        data = answer.get_json()
        assert data["ok"] is True
        return dict(data)


def new_id() -> str:
    return str(uuid.uuid4())
