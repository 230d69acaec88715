"""A small fake Telegram Bot API on loopback, for driving the real bot over real HTTP.

It speaks just enough of the Bot API for python-telegram-bot: getMe, getUpdates (long polling),
sendMessage, editMessageText, answerCallbackQuery and friends. Tests push updates as a learner
would, read what the bot sent, and can inject faults (429, 502, a dropped connection, a slow
answer) for the next call of a method.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

from telegram.request import BaseRequest, RequestData

BOT_USER = {
    "id": 4242,
    "is_bot": True,
    "first_name": "Career Guide",
    "username": "careerguide_test_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)

    @property
    def text(self) -> str:
        return str(self.params.get("text", ""))

    @property
    def buttons(self) -> list[dict[str, Any]]:
        markup = self.params.get("reply_markup") or {}
        return [b for row in markup.get("inline_keyboard", []) for b in row]

    def button(self, label_part: str) -> str:
        """Callback data of the button with this label (exact first, then containing it)."""
        for candidate in self.buttons:
            if candidate["text"].lower() == label_part.lower():
                return str(candidate["callback_data"])
        for candidate in self.buttons:
            if label_part.lower() in candidate["text"].lower():
                return str(candidate["callback_data"])
        labels = [b["text"] for b in self.buttons]
        raise AssertionError(f"no button with {label_part!r} in {labels}")


BLOCKED = {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}


class FakeBotAPI:
    def __init__(self, token: str) -> None:
        self.token = token
        self.calls: list[Call] = []
        self.faults: dict[str, list[str]] = {}
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1000)
        self._message_ids = itertools.count(1)
        self._lock = threading.Condition()
        self._server: ThreadingHTTPServer | None = None
        # Called with (method, params) as a request arrives, before it is recorded and answered:
        # a test can act at an exact point, e.g. kill the bot while a message is in flight.
        self.on_request: Callable[[str, dict[str, Any]], None] | None = None

    # ------------------------------------------------------------------ lifecycle
    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() the fake first"
        return f"http://127.0.0.1:{self._server.server_address[1]}/bot"

    def start(self) -> FakeBotAPI:
        """Listen on a free loopback port (only needed when the bot talks real HTTP)."""
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # ------------------------------------------------------------------ the learner's side
    def _user(self, user_id: int) -> dict[str, Any]:
        return {"id": user_id, "is_bot": False, "first_name": f"Learner{user_id}"}

    def push_update(self, update: dict[str, Any]) -> int:
        with self._lock:
            update.setdefault("update_id", next(self._update_ids))
            self._updates.append(update)
            self._lock.notify_all()
        return int(update["update_id"])

    def send_text(self, user_id: int, text: str, *, chat_type: str = "private") -> int:
        chat_id = user_id if chat_type == "private" else -user_id
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": chat_type, "first_name": "Learner"},
            "from": self._user(user_id),
            "text": text,
        }
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return self.push_update({"message": message})

    def press(self, user_id: int, data: str, *, on: Call | None = None) -> int:
        message_id = int((on.params.get("_message_id") if on else None) or next(self._message_ids))
        return self.push_update(
            {
                "callback_query": {
                    "id": str(next(self._update_ids)),
                    "from": self._user(user_id),
                    "chat_instance": f"ci-{user_id}",
                    "data": data,
                    "message": {
                        "message_id": message_id,
                        "date": int(time.time()),
                        "chat": {"id": user_id, "type": "private"},
                        "from": BOT_USER,
                        "text": on.text if on else "…",
                    },
                }
            }
        )

    def fail_next(self, method: str, fault: str) -> None:
        """fault: '429', '502', '403' (the learner blocked the bot), 'drop' (close without
        answer) or 'slow' (answer after 4 s)."""
        with self._lock:
            self.faults.setdefault(method, []).append(fault)

    # ------------------------------------------------------------------ reading what the bot did
    def replies(self, chat_id: int) -> list[Call]:
        with self._lock:
            return [
                c
                for c in self.calls
                if c.method in ("sendMessage", "editMessageText")
                and str(c.params.get("chat_id")) == str(chat_id)
            ]

    def wait_for(
        self,
        predicate: Callable[[Call], bool],
        *,
        after: int = 0,
        timeout: float = 90.0,
    ) -> Call:
        """The first call at position >= after that matches."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                for call in self.calls[after:]:
                    if predicate(call):
                        return call
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [(c.method, c.text[:80]) for c in self.calls[after:]]
                    raise AssertionError(f"timed out; calls since {after}: {seen}")
                self._lock.wait(remaining)

    def reply_to(
        self, chat_id: int, *, after: int, contains: str = "", timeout: float = 90
    ) -> Call:
        return self.wait_for(
            lambda c: (
                c.method in ("sendMessage", "editMessageText")
                and str(c.params.get("chat_id")) == str(chat_id)
                and contains.lower() in c.text.lower()
            ),
            after=after,
            timeout=timeout,
        )

    def mark(self) -> int:
        with self._lock:
            return len(self.calls)

    def replies_per_chat(self) -> dict[int, int]:
        """How many messages each chat was sent (edits not counted)."""
        with self._lock:
            counts: dict[int, int] = {}
            for call in self.calls:
                if call.method == "sendMessage":
                    chat = int(call.params["chat_id"])
                    counts[chat] = counts.get(chat, 0) + 1
            return counts

    def count(self, method: str) -> int:
        with self._lock:
            return sum(1 for c in self.calls if c.method == method)

    # ------------------------------------------------------------------ the server's side
    def _answer(self, method: str, params: dict[str, Any]) -> tuple[int, Any]:
        with self._lock:
            self.calls.append(Call(method, params))
            self._lock.notify_all()
        if method == "getMe":
            return 200, BOT_USER
        if method == "getUpdates":
            return 200, self._get_updates(params)
        if method in ("sendMessage", "editMessageText"):
            message_id = params.get("message_id") or next(self._message_ids)
            with self._lock:
                self.calls[-1].params["_message_id"] = message_id
            return 200, {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": {"id": int(params["chat_id"]), "type": "private"},
                "from": BOT_USER,
                "text": params.get("text", ""),
            }
        if method == "getWebhookInfo":
            return 200, {"url": "", "has_custom_certificate": False, "pending_update_count": 0}
        return 200, True  # setMyCommands, deleteWebhook, answerCallbackQuery, sendChatAction...

    def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        wait = min(float(params.get("timeout") or 0), 1.0)
        deadline = time.monotonic() + wait
        with self._lock:
            if offset:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            while not self._updates and time.monotonic() < deadline:
                self._lock.wait(deadline - time.monotonic())
            return list(self._updates[:100])

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def do_POST(self) -> None:
                self._serve()

            def do_GET(self) -> None:
                self._serve()

            def _serve(self) -> None:
                prefix = f"/bot{api.token}/"
                if not self.path.startswith(prefix):
                    self._send(404, {"ok": False, "error_code": 404, "description": "Not Found"})
                    return
                method = self.path[len(prefix) :].split("?")[0]
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                params = _parse_params(body, self.headers.get("Content-Type", ""))
                with api._lock:
                    faults = api.faults.get(method) or []
                    fault = faults.pop(0) if faults else None
                if api.on_request is not None:
                    api.on_request(method, params)
                if fault is not None:
                    with api._lock:
                        api.calls.append(Call(f"{method}!{fault}", params))
                        api._lock.notify_all()
                    if fault == "429":
                        self._send(
                            429,
                            {
                                "ok": False,
                                "error_code": 429,
                                "description": "Too Many Requests: retry after 1",
                                "parameters": {"retry_after": 1},
                            },
                        )
                        return
                    if fault == "502":
                        self._send_raw(502, b"<html><body>502 Bad Gateway</body></html>")
                        return
                    if fault == "403":
                        self._send(403, BLOCKED)
                        return
                    if fault == "drop":
                        self.close_connection = True
                        self.connection.close()
                        return
                    if fault == "slow":
                        time.sleep(4)
                status, result = api._answer(method, params)
                self._send(status, {"ok": True, "result": result})

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                self._send_raw(status, json.dumps(payload).encode(), "application/json")

            def _send_raw(self, status: int, body: bytes, kind: str = "text/html") -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", kind)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        return Handler


def _parse_params(body: bytes, content_type: str) -> dict[str, Any]:
    if not body:
        return {}
    if "json" in content_type:
        parsed: dict[str, Any] = json.loads(body)
        return parsed
    params: dict[str, Any] = {}
    for key, value in parse_qsl(body.decode(), keep_blank_values=True):
        try:
            params[key] = json.loads(value)
        except json.JSONDecodeError:
            params[key] = value
    return params


class OfflineRequest(BaseRequest):
    """PTB's transport replaced in-process: no socket at all, same answers as the fake server."""

    def __init__(self, api: FakeBotAPI) -> None:
        self.api = api

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    @property
    def read_timeout(self) -> float | None:
        return 1.0

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        endpoint = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data else {}
        for key, value in list(params.items()):
            if hasattr(value, "to_dict"):
                params[key] = value.to_dict()
        if endpoint == "getUpdates":
            return 200, json.dumps({"ok": True, "result": []}).encode()
        with self.api._lock:
            faults = self.api.faults.get(endpoint) or []
            fault = faults.pop(0) if faults else None
        if fault == "403":
            return 403, json.dumps(BLOCKED).encode()
        status, result = self.api._answer(endpoint, params)
        return status, json.dumps({"ok": True, "result": result}).encode()
