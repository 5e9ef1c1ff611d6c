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

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from bot.services.refusals import Reason, Refused
from bot.services.staff.audit import record_change
from models import ApiKey, Staff, Store

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
    return _scope_set(api_key.scopes)


def _scope_set(scopes: str) -> frozenset[str]:
    return frozenset(scopes.split())


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


def store_keys(session: Session, *, store_id: int | None = None) -> list[ApiKey]:
    """The keys (live and revoked), newest first; only one store's with `store_id`."""
    query = select(ApiKey).order_by(ApiKey.created_at.desc(), ApiKey.id.desc())
    if store_id is not None:
        query = query.where(ApiKey.store_id == store_id)
    return list(session.scalars(query))


def create_store_key(
    session: Session, store: Store, name: str, scopes: Iterable[str], *, actor: Staff, at: datetime
) -> tuple[ApiKey, str]:
    """A key made in the back office: as `create_api_key`, but a store's live keys have different names (so a form
    sent twice makes one key, and a name says which key to revoke), and the change is audited (never the key)."""
    name = name.strip()
    if not name.isprintable():
        raise ApiKeyError(Reason.API_KEY_NAME_INVALID)
    # Two requests for one store queue here (PostgreSQL; SQLite's writers queue anyway), so the name check holds.
    session.scalars(select(Store.id).where(Store.id == store.id).with_for_update()).one()
    same_name = select(ApiKey.id).where(ApiKey.store_id == store.id, ApiKey.name == name, ApiKey.revoked_at.is_(None))
    if name and session.scalars(same_name).first() is not None:
        raise ApiKeyError(Reason.API_KEY_NAME_TAKEN)
    api_key, raw_key = create_api_key(session, store_code=store.code, name=name, now=at, scopes=scopes)
    record_change(session, actor, "api_key.create", api_key, at, store_id=store.id, name=name, scopes=api_key.scopes)
    return api_key, raw_key


def revoke_store_key(session: Session, key_id: int, *, actor: Staff, at: datetime) -> ApiKey:
    """Revoke a key from the back office; audited the first time (revoking again changes and records nothing)."""
    api_key = session.get(ApiKey, key_id)
    if api_key is None:
        raise ApiKeyError(Reason.API_KEY_UNKNOWN, key_id=key_id)
    if api_key.revoked_at is None:
        revoke_api_key(session, key_id, now=at)
        record_change(session, actor, "api_key.revoke", api_key, at, store_id=api_key.store_id, name=api_key.name)
    return api_key


# Built once: every POS request checks its key. Only the store is loaded as a row; the key's scopes are enough.
_LIVE_KEY = (
    select(ApiKey.scopes, Store)
    .join(Store, Store.id == ApiKey.store_id)
    .where(ApiKey.key_hash == bindparam("key_hash"), ApiKey.revoked_at.is_(None))
)


def live_key(session: Session, raw_key: str | None) -> LiveKey | None:
    """The store and scopes of the live key this is; None for a missing, unknown or revoked key.

    The key is looked up by its SHA-256, so no stored secret is ever compared byte by byte with what was sent.
    """
    if not raw_key:
        return None
    found = session.execute(_LIVE_KEY, {"key_hash": hash_key(raw_key)}).one_or_none()
    if found is None:
        return None
    scopes, store = found
    return LiveKey(store=store, scopes=_scope_set(scopes))
