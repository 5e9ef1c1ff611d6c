"""The POS API's door: `Authorization: Bearer <store key>`, and the JSON errors every /api/v1 view answers with."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Concatenate, ParamSpec

from flask import current_app, g, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response

from bot.runtime import Runtime
from bot.services.refusals import Reason, Refused
from bot.services.staff.api_keys import SCOPES, LiveKey, live_key
from bot.uow import UnitOfWork, unit_of_work
from models import Store

log = logging.getLogger(__name__)

P = ParamSpec("P")

UNAUTHORIZED_MESSAGE = "未提供有效的 API 金鑰（缺少、錯誤或已停用）"
UNAUTHORIZED_MESSAGE_EN = "The API key is missing, unknown or revoked."
RATE_LIMITED_MESSAGE = "此 API 金鑰的請求次數過多，請稍後再試"
RATE_LIMITED_MESSAGE_EN = "Too many requests with this API key; try again after the Retry-After seconds."


def api_error(status: int, error: str, message: str, message_en: str | None = None) -> tuple[Response, int]:
    """A JSON error: a machine-readable `error`, a zh-TW `message` for the clerk, and English when we have it."""
    body = {"error": error, "message": message}
    if message_en:
        body["message_en"] = message_en
    return jsonify(body), status


def _has_nul(value: object) -> bool:
    """Whether a JSON value holds a NUL character anywhere (PostgreSQL text cannot store or compare one)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(key) or _has_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


def _unreadable_body() -> bool:
    """A JSON body no view should see: nested too deep to parse (a RecursionError, not a ValueError), or holding
    NUL characters."""
    if not request.get_data(cache=True):
        return False
    try:
        return _has_nul(request.get_json(silent=True))
    except RecursionError:
        return True


def _bearer_token(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def require_store_key(
    *, scope: str
) -> Callable[[Callable[Concatenate[UnitOfWork, P], ResponseReturnValue]], Callable[P, ResponseReturnValue]]:
    """Let the view run only with a live store key that has `scope`, inside the request's one unit of work (the key
    is checked in it too): `view(uow, ...)`; the key's store is then `current_store()`.

    A missing, unknown or revoked key gets 401 and the view never runs, so nothing is changed. So does a key over
    its rate (Settings.pos_rate_limit, counted per key): 429 with Retry-After. A key without `scope` is refused
    (`Refused(Reason.SCOPE_MISSING)`, 403 `scope_missing` through the blueprint's api_errors) before the view runs.
    What the view returns is answered after the commit; what it raises rolls everything back.
    """
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {SCOPES}")

    def decorator(
        view: Callable[Concatenate[UnitOfWork, P], ResponseReturnValue],
    ) -> Callable[P, ResponseReturnValue]:
        @functools.wraps(view)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> ResponseReturnValue:
            runtime: Runtime = current_app.extensions["runtime"]
            raw_key = _bearer_token(request.headers.get("Authorization"))
            with unit_of_work(runtime) as uow:
                key = live_key(uow.session, raw_key)
                if key is None:
                    return _unauthorized(raw_key)
                return _checked(key, raw_key, scope, lambda: view(uow, *args, **kwargs))

        return wrapper

    return decorator


def _unauthorized(raw_key: str | None) -> ResponseReturnValue:
    log.warning("POS API request refused: %s key (%s)", "no" if raw_key is None else "bad", request.path)
    response, status = api_error(401, "unauthorized", UNAUTHORIZED_MESSAGE, UNAUTHORIZED_MESSAGE_EN)
    response.headers["WWW-Authenticate"] = 'Bearer realm="omo-pos"'
    return response, status


def _checked(
    key: LiveKey, raw_key: str | None, scope: str, view: Callable[[], ResponseReturnValue]
) -> ResponseReturnValue:
    """The view's answer, once the key's rate, scope and the body's readability are checked."""
    runtime: Runtime = current_app.extensions["runtime"]
    store = key.store
    rule = runtime.settings.pos_rate_limit
    assert raw_key is not None  # a store was found by it
    if not runtime.limiter.hit(rule, raw_key):
        log.warning("POS API request refused: store %s key over %d/%ds", store.id, rule.amount, rule.per)
        response, status = api_error(429, "rate_limited", RATE_LIMITED_MESSAGE, RATE_LIMITED_MESSAGE_EN)
        response.headers["Retry-After"] = str(max(1, runtime.limiter.retry_after(rule, raw_key)))
        return response, status
    if scope not in key.scopes:
        log.warning("POS API request refused: store %s key without scope %s (%s)", store.id, scope, request.path)
        raise Refused(Reason.SCOPE_MISSING, scope=scope)
    g.api_store = store
    if _unreadable_body():
        return api_error(400, "invalid_request", "資料格式不正確", "The JSON is nested too deep or holds NUL.")
    return view()


def current_store() -> Store:
    """The store whose key authorised this request (inside a view under `require_store_key(scope=…)`)."""
    store: Store = g.api_store
    return store
