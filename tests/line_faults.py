"""A LINE stand-in that misbehaves on purpose, for the delivery fault tests: it can answer 500, answer after the
client's timeout (having carried the request out, as LINE would) or drop the connection after reading the request.
It refuses a reply token used twice (400) and answers 409 to a push retry key seen before, as LINE does."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FaultyLine:
    def __init__(self) -> None:
        self.mode = "ok"  # ok | 500 | slow | drop
        self.delay = 1.0
        self.lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []
        self.replies: Counter[str] = Counter()  # reply token -> requests carried out
        self.push_keys: Counter[str] = Counter()
        self.delivered: Counter[str] = Counter()  # user (or reply token's user) -> messages that reached them
        faulty = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                return

            def _answer(self, status: int, body: object) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._answer(200, {"userId": "U", "displayName": "x"})

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                body = json.loads(raw or b"{}")
                faulty.handle(self, body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def handle(self, handler: Any, body: dict[str, Any]) -> None:
        path, key = handler.path, handler.headers.get("X-Line-Retry-Key")
        with self.lock:
            mode = self.mode
            self.requests.append({"path": path, "retry_key": key, "mode": mode, "body": body})
        if mode == "500":
            handler._answer(500, {"message": "An error occurred in the server"})
            return
        status, answer = 200, {"sentMessages": [{"id": "1", "quoteToken": "q"}]}
        with self.lock:
            if path.endswith("/reply"):
                token = body["replyToken"]
                self.replies[token] += 1
                if self.replies[token] > 1:
                    status, answer = 400, {"message": "Invalid reply token"}
                else:
                    self.delivered["reply:" + token] += 1
            elif key is not None and self.push_keys[key] > 0:
                status, answer = 409, {"message": "The retry key is already accepted"}
            else:
                if key is not None:
                    self.push_keys[key] += 1
                for user in body.get("to") if isinstance(body.get("to"), list) else [body.get("to")]:
                    self.delivered[str(user)] += 1
        if mode == "slow":
            time.sleep(self.delay)
        elif mode == "drop":
            handler.close_connection = True
            handler.wfile.flush()
            handler.connection.close()
            return
        handler._answer(status, answer)

    def sent(self, suffix: str) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.requests if r["path"].endswith(suffix)]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
