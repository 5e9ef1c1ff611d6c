"""Store API keys: random secrets shown once, kept only as SHA-256, one store per key, each with its scopes.

A key's scopes say what it may do: `scan` (scan member codes, record purchases and refunds, smart stamps), `coupons`
(list a member's coupons, redeem, undo) and `members` (bind codes, unbind, erase). A new key has `scan` and
`coupons` unless told otherwise; `members` is given only when asked for.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.services.refusals import Reason, Refused
from models import ApiKey, Store

SCOPE_SCAN = "scan"
SCOPE_COUPONS = "coupons"
SCOPE_MEMBERS = "members"
SCOPES = (SCOPE_SCAN, SCOPE_COUPONS, SCOPE_MEMBERS)
DEFAULT_SCOPES = (SCOPE_SCAN, SCOPE_COUPONS)


@dataclass(frozen=True)
class LiveKey:
    """A live key's store and what it may do."""

    store: Store
    scopes: frozenset[str]


class ApiKeyError(Refused):
    """The key cannot be created or revoked."""


def hash_key(raw_key: str) -> str:
    """The SHA-256 (hex) under which a key is stored and looked up."""
    return hashlib.sha256(raw_key.encode("utf-8")).hexdigest()


def scopes_of(api_key: ApiKey) -> frozenset[str]:
    """The scopes a key has."""
    return frozenset(api_key.scopes.split())


def create_api_key(
    session: Session, *, store_code: str, name: str, now: datetime, scopes: Iterable[str] = DEFAULT_SCOPES
) -> tuple[ApiKey, str]:
    """Create a key for the store with this code, with these scopes; returns the row and the key itself, which is
    never stored."""
    wanted = set(scopes)
    if not wanted or not wanted <= set(SCOPES):
        raise ApiKeyError(Reason.API_KEY_SCOPES_INVALID, scopes=", ".join(SCOPES))
    store = session.scalars(select(Store).where(Store.code == store_code.strip())).one_or_none()
    if store is None:
        raise ApiKeyError(Reason.STORE_UNKNOWN, store_code=store_code)
    name = name.strip()
    if not name or len(name) > 100:
        raise ApiKeyError(Reason.API_KEY_NAME_INVALID)
    raw_key = secrets.token_urlsafe(32)
    scope_text = " ".join(scope for scope in SCOPES if scope in wanted)
    api_key = ApiKey(store_id=store.id, name=name, key_hash=hash_key(raw_key), scopes=scope_text, created_at=now)
    session.add(api_key)
    session.flush()
    return api_key, raw_key


def revoke_api_key(session: Session, key_id: int, *, now: datetime) -> ApiKey:
    """Revoke a key: requests made with it are refused from now on. Revoking twice keeps the first time."""
    api_key = session.get(ApiKey, key_id)
    if api_key is None:
        raise ApiKeyError(Reason.API_KEY_UNKNOWN, key_id=key_id)
    if api_key.revoked_at is None:
        api_key.revoked_at = now
        session.flush()
    return api_key


def live_key(session: Session, raw_key: str | None) -> LiveKey | None:
    """The store and scopes of the live key this is; None for a missing, unknown or revoked key.

    The key is looked up by its SHA-256, so no stored secret is ever compared byte by byte with what was sent.
    """
    if not raw_key:
        return None
    api_key = session.scalars(select(ApiKey).where(ApiKey.key_hash == hash_key(raw_key))).one_or_none()
    if api_key is None or api_key.revoked_at is not None:
        return None
    store = session.get(Store, api_key.store_id)
    assert store is not None
    return LiveKey(store=store, scopes=scopes_of(api_key))
