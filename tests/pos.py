"""Helpers for the POS API tests: two stores, clerks and a key, LINE users, the OpenAPI check (members: factories)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from sqlalchemy.orm import Session, sessionmaker

from bot.db import transaction
from bot.services.barcode import codes as barcode
from bot.services.staff.api_keys import SCOPES, create_api_key
from models import LineUser, Member, Staff, Store

SPEC_PATH = Path(__file__).resolve().parents[1] / "openapi" / "pos-api.yaml"
SPEC_URI = "urn:omo:pos-api"


@dataclass(frozen=True)
class Shop:
    """Two stores: TPE01 (clerks C001 and C002, the latter gone) with a key, and KHH01 (clerk K001).

    The key has every scope unless `open_shop(..., scopes=…)` said otherwise."""

    store_id: int
    other_store_id: int
    clerk_id: int
    key: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


def open_shop(sessions: sessionmaker[Session], scopes: tuple[str, ...] = SCOPES) -> Shop:
    with transaction(sessions) as session:
        store = Store(code="TPE01", name="台北信義店")
        other = Store(code="KHH01", name="高雄巨蛋店")
        session.add_all([store, other])
        session.flush()
        clerk = Staff(code="C001", name="王小美", store_id=store.id)
        session.add_all(
            [
                clerk,
                Staff(code="C002", name="陳大文", store_id=store.id, is_active=False),
                Staff(code="K001", name="李小龍", store_id=other.id),
            ]
        )
        session.flush()
        _, key = create_api_key(session, store_code="TPE01", name="POS 1", now=datetime.now(UTC), scopes=scopes)
        return Shop(store_id=store.id, other_store_id=other.id, clerk_id=clerk.id, key=key)


def make_key(sessions: sessionmaker[Session], scopes: tuple[str, ...], store_code: str = "TPE01") -> dict[str, str]:
    """Another key for a store, with these scopes: the Authorization header that sends it."""
    with transaction(sessions) as session:
        _, key = create_api_key(session, store_code=store_code, name="POS x", now=datetime.now(UTC), scopes=scopes)
    return {"Authorization": f"Bearer {key}"}


def member_code(sessions: sessionmaker[Session], member_id: int, at: datetime | None = None) -> str:
    """The member's rotating barcode as the till scans it now (or at `at`)."""
    with transaction(sessions) as session:
        return barcode.current_code(session, session.get_one(Member, member_id), at or datetime.now(UTC)).code


def make_line_user(sessions: sessionmaker[Session], name: str = "阿明") -> LineUser:
    with transaction(sessions) as session:
        user = LineUser(line_user_id="U" + uuid.uuid4().hex, display_name=name)
        session.add(user)
        session.flush()
        return user


@cache
def openapi_spec() -> dict[str, Any]:
    spec: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    return spec


def _pointer(*parts: str) -> str:
    return "#/" + "/".join(part.replace("~", "~0").replace("/", "~1") for part in parts)


def assert_matches_openapi(response: Any, path: str, method: str) -> None:
    """The response's status is documented for this operation and its JSON body validates against the schema."""
    spec = openapi_spec()
    responses = spec["paths"][path][method]["responses"]
    status = str(response.status_code)
    assert status in responses, f"{method.upper()} {path} answered {status}, which pos-api.yaml does not document"
    documented = responses[status]
    pointer = ("paths", path, method, "responses", status)
    if "$ref" in documented:
        name = documented["$ref"].rsplit("/", 1)[1]
        documented = spec["components"]["responses"][name]
        pointer = ("components", "responses", name)
    assert response.mimetype == "application/json"
    assert "application/json" in documented["content"]
    registry: Registry[Any] = Registry().with_resource(
        SPEC_URI, Resource.from_contents(spec, default_specification=DRAFT202012)
    )
    schema = {"$ref": SPEC_URI + _pointer(*pointer, "content", "application/json", "schema")}
    Draft202012Validator(schema, registry=registry).validate(response.get_json())
