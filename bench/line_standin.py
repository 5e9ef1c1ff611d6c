"""A recording LINE stand-in for benchmarks: answers the Messaging API calls the bot and the echo reference make,
and records when each reply token (and each push's retry key) arrived.

    python bench/line_standin.py --port 9100

`GET /_stats` answers the counts; `GET /_arrivals` every reply token with its arrival time (time.time()),
`POST /_reset` forgets everything between rounds. It never calls the real LINE platform.

Multicasts (bench/campaign_delivery.py) are refused as LINE refuses them: more than 500 ids or a malformed id (400),
a repeated retry key (409, not carried out again), and over the rate limit (`--multicast-rate`, 200 calls in any
second by default, as LINE allows a channel; 429, not carried out). `GET /_multicast` answers the accepted calls, the
ids they carried, the ids received more than once, the 429s, and the first and last accepted call's time.
Narrowcasts: audiences uploaded by JSON (at most 10,000 IDs a call, added to with PUT), reported READY, a narrowcast to
one (202 with X-Line-Request-Id; a repeated retry key 409 with X-Line-Accepted-Request-Id), its progress `succeeded`;
`GET /_narrowcast` answers the upload calls and every narrowcast with the size of its audience.

For the fault runs (bench/faults.py): `POST /_mode {"mode": "ok" | "500" | "slow" | "drop", "delay": seconds}` makes
the message calls answer 500 (carrying nothing out), answer after `delay` seconds (having carried the call out, as
LINE does), or close the connection without an answer (having carried it out); `GET /_answers` tells which reply
tokens were used and how many pushes each user was sent (a repeated retry key, answered 409, is not counted).
"""

from __future__ import annotations

import argparse
import json
import re
import threading
import time
import uuid
from collections import Counter, deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_lock = threading.Lock()
_replies: Counter[str] = Counter()
_reply_arrivals: dict[str, float] = {}
_push_keys: Counter[str] = Counter()
_push_arrivals: list[tuple[str, float]] = []
_other_calls: Counter[str] = Counter()
_accepted_pushes_to: Counter[str] = Counter()
_mode = {"mode": "ok", "delay": 0.0}
_multicast_ids: Counter[str] = Counter()
_multicast_keys: set[str] = set()
_multicast_arrivals: list[float] = []
_multicast_window: deque[float] = deque()
_multicast_refused: Counter[int] = Counter()
_multicast_rate = {"calls": 200, "seconds": 1.0}
_audiences: dict[int, set[str]] = {}
_audience_uploads: list[tuple[int, float]] = []
_narrowcasts: dict[str, dict] = {}
_narrowcast_keys: dict[str, str] = {}
USER_ID = re.compile(r"^U[0-9a-f]{32}$")


def _reset() -> None:
    with _lock:
        _replies.clear()
        _reply_arrivals.clear()
        _push_keys.clear()
        _push_arrivals.clear()
        _other_calls.clear()
        _accepted_pushes_to.clear()
        _multicast_ids.clear()
        _multicast_keys.clear()
        _multicast_arrivals.clear()
        _multicast_window.clear()
        _multicast_refused.clear()
        _audiences.clear()
        _audience_uploads.clear()
        _narrowcasts.clear()
        _narrowcast_keys.clear()


class StandIn(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as LINE's API hosts allow
    # Headers and body go out in two writes: without TCP_NODELAY, Nagle's algorithm holds the body back until the
    # client's delayed ACK (about 40 ms a call), which would make LINE look far slower than it is.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: object) -> None:  # quiet
        return

    def _answer(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        try:
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting (a fault run's timeout)
            self.close_connection = True

    def _body(self) -> dict:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            parsed = json.loads(raw or b"{}")
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}

    def do_GET(self) -> None:
        if self.path == "/_stats":
            with _lock:
                stats = {
                    "replies": sum(_replies.values()),
                    "reply_tokens": len(_replies),
                    "reply_tokens_used_twice": sum(1 for n in _replies.values() if n > 1),
                    "pushes": sum(_push_keys.values()),
                    "push_keys_used_twice": sum(1 for n in _push_keys.values() if n > 1),
                    "other_calls": dict(_other_calls),
                }
            self._answer(200, stats)
        elif self.path == "/_answers":
            with _lock:
                self._answer(200, {"replies": dict(_replies), "pushes_to": dict(_accepted_pushes_to)})
        elif self.path == "/_arrivals":
            with _lock:
                self._answer(200, {"replies": dict(_reply_arrivals), "pushes": list(_push_arrivals)})
        elif self.path == "/_multicast":
            with _lock:
                stats = {
                    "calls": len(_multicast_arrivals),
                    "ids": sum(_multicast_ids.values()),
                    "unique_ids": len(_multicast_ids),
                    "duplicates": sum(n - 1 for n in _multicast_ids.values() if n > 1),
                    "refused": {str(status): n for status, n in _multicast_refused.items()},
                    "first": min(_multicast_arrivals, default=None),
                    "last": max(_multicast_arrivals, default=None),
                }
            self._answer(200, stats)
        elif self.path == "/_narrowcast":
            with _lock:
                sends = list(_narrowcasts.values())
                self._answer(200, {"uploads": len(_audience_uploads), "narrowcasts": sends})
        elif self.path.startswith("/v2/bot/audienceGroup/"):
            group_id = int(self.path.rsplit("/", 1)[-1])
            with _lock:
                found = _audiences.get(group_id)
            if found is None:
                self._answer(404, {"message": "audience group not found"})
            else:
                group = {"audienceGroupId": group_id, "status": "READY", "audienceCount": len(found)}
                self._answer(200, {"audienceGroup": group})
        elif self.path.startswith("/v2/bot/message/progress/narrowcast"):
            request_id = self.path.split("requestId=", 1)[-1]
            with _lock:
                sent = _narrowcasts.get(request_id)
            if sent is None:
                self._answer(404, {"message": "Not found"})
            else:
                self._answer(200, {"phase": "succeeded", "successCount": sent["reached"], "failureCount": 0})
        elif self.path.startswith("/v2/bot/profile/"):
            user_id = self.path.rsplit("/", 1)[-1]
            self._answer(200, {"userId": user_id, "displayName": "Bench 使用者", "language": "zh-TW"})
        else:
            with _lock:
                _other_calls["GET " + self.path.split("?")[0].rsplit("/", 1)[0]] += 1
            self._answer(200, {})

    def do_POST(self) -> None:
        body = self._body()
        now = time.time()
        if self.path == "/_reset":
            _reset()
            self._answer(200, {})
        elif self.path == "/_mode":
            _mode.update(mode=str(body.get("mode", "ok")), delay=float(body.get("delay", 0)))
            self._answer(200, {})
        elif self.path.startswith("/v2/bot/message/") and _mode["mode"] == "500":
            self._answer(500, {"message": "An error occurred in the server"})
        elif self.path == "/v2/bot/message/reply":
            token = str(body.get("replyToken", ""))
            with _lock:
                _replies[token] += 1
                _reply_arrivals.setdefault(token, now)
                twice = _replies[token] > 1
            if self._misbehave():
                return
            if twice:  # LINE refuses a used reply token
                self._answer(400, {"message": "Invalid reply token"})
            else:
                self._answer(200, {"sentMessages": [{"id": "1", "quoteToken": "q"}]})
        elif self.path == "/v2/bot/message/push":
            key = self.headers.get("X-Line-Retry-Key") or f"none-{now}"
            with _lock:
                _push_keys[key] += 1
                _push_arrivals.append((str(body.get("to", "")), now))
                again = _push_keys[key] > 1
                if not again:
                    _accepted_pushes_to[str(body.get("to", ""))] += 1
            if self._misbehave():
                return
            if again:
                self._answer(409, {"message": "The retry key is already accepted"})
            else:
                self._answer(200, {"sentMessages": [{"id": "1", "quoteToken": "q"}]})
        elif self.path == "/v2/bot/message/multicast":
            status, answer = _multicast(body, self.headers.get("X-Line-Retry-Key"))
            self._answer(status, answer)
        elif self.path == "/v2/bot/audienceGroup/upload":
            status, answer = _upload(body, None)
            self._answer(200 if status == 202 else status, answer)  # a new audience: 200 with its id
        elif self.path == "/v2/bot/message/narrowcast":
            self._narrowcast(body, self.headers.get("X-Line-Retry-Key"))
        else:
            with _lock:
                _other_calls["POST " + "/".join(self.path.split("/")[:4])] += 1
            self._answer(200, {})

    def _misbehave(self) -> bool:
        """After carrying a message call out: answer late, or not at all (True: nothing more to answer)."""
        if _mode["mode"] == "slow":
            time.sleep(_mode["delay"])
        elif _mode["mode"] == "drop":
            self.close_connection = True
            self.connection.close()
            return True
        return False

    def do_PUT(self) -> None:
        body = self._body()
        if self.path == "/v2/bot/audienceGroup/upload":
            group_id = body.get("audienceGroupId")
            status, answer = _upload(body, group_id if isinstance(group_id, int) else -1)
            self._answer(status, {} if status == 202 else answer)
        else:
            self._answer(404, {"message": "Not found"})

    def _narrowcast(self, body: dict, retry_key: str | None) -> None:
        """A narrowcast to an uploaded audience: 202 and its request id; a retry key already accepted answers 409
        with the first request's id (X-Line-Accepted-Request-Id), as LINE does."""
        recipient = body.get("recipient") or {}
        group_id = recipient.get("audienceGroupId") if isinstance(recipient, dict) else None
        with _lock:
            if retry_key and retry_key in _narrowcast_keys:
                accepted = _narrowcast_keys[retry_key]
                self.send_response(409)
                self.send_header("X-Line-Accepted-Request-Id", accepted)
                data = json.dumps({"message": "The retry key is already accepted"}).encode()
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
            audience = _audiences.get(group_id) if isinstance(group_id, int) else None
            if audience is None:
                self._answer(400, {"message": "The audience group is not found"})
                return
            request_id = str(uuid.uuid4())
            if retry_key:
                _narrowcast_keys[retry_key] = request_id
            _narrowcasts[request_id] = {"audienceGroupId": group_id, "reached": len(audience), "at": time.time()}
        self.send_response(202)
        self.send_header("X-Line-Request-Id", request_id)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def do_DELETE(self) -> None:
        with _lock:
            _other_calls["DELETE " + "/".join(self.path.split("/")[:4])] += 1
        self._answer(200, {})


def _multicast(body: dict, retry_key: str | None) -> tuple[int, dict]:
    """A multicast as LINE takes it: (status, body); counted only when accepted."""
    now = time.monotonic()
    to = body.get("to")
    with _lock:
        window = _multicast_window
        while window and window[0] <= now - _multicast_rate["seconds"]:
            window.popleft()
        if len(window) >= _multicast_rate["calls"]:
            _multicast_refused[429] += 1
            return 429, {"message": "The API rate limit has been exceeded. Try again later."}
        window.append(now)
        if not isinstance(to, list) or not 1 <= len(to) <= 500:
            _multicast_refused[400] += 1
            details = [{"message": "Size must be between 1 and 500", "property": "to"}]
            return 400, {"message": "The request body has 1 error(s)", "details": details}
        bad = [i for i, user_id in enumerate(to) if not USER_ID.match(str(user_id))]
        if bad:
            _multicast_refused[400] += 1
            message = f"The property, 'to[{bad[0]}]', in the request body is invalid (line: -, column: -)"
            return 400, {"message": message}
        if retry_key and retry_key in _multicast_keys:
            _multicast_refused[409] += 1
            return 409, {"message": "The retry key is already accepted"}
        if retry_key:
            _multicast_keys.add(retry_key)
        _multicast_arrivals.append(time.time())
        _multicast_ids.update(dict.fromkeys(to, 1))
    return 200, {}


def _upload(body: dict, group_id: int | None) -> tuple[int, dict]:
    """An audience upload (group_id None: a new audience) of at most 10,000 IDs a call, as LINE takes it by JSON."""
    audiences = body.get("audiences")
    if not isinstance(audiences, list) or not 1 <= len(audiences) <= 10_000:
        return 400, {"message": "audiences: size must be between 1 and 10000"}
    ids = [str(item.get("id", "")) if isinstance(item, dict) else "" for item in audiences]
    if any(not USER_ID.match(user_id) for user_id in ids):
        return 400, {"message": "audiences: invalid user id"}
    with _lock:
        if group_id is None:
            group_id = len(_audiences) + 1
            _audiences[group_id] = set()
        elif group_id not in _audiences:
            return 400, {"message": "The audience group is not found"}
        _audiences[group_id].update(ids)
        _audience_uploads.append((group_id, time.time()))
    return 202, {"audienceGroupId": group_id, "type": "UPLOAD", "description": body.get("description", "")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--multicast-rate", type=int, default=200, help="multicast calls allowed in any second")
    args = parser.parse_args()
    _multicast_rate["calls"] = args.multicast_rate
    server = ThreadingHTTPServer(("127.0.0.1", args.port), StandIn)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
