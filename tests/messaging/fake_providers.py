"""Local fake SMS providers for the tests: a real HTTP server on 127.0.0.1 answering as SMS Aero
or SMS.ru do, recording every request, and replaying canned failures when a test asks."""

import base64
import itertools
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class FakeProvider:
    kind: str  # "smsaero" or "smsru"
    url: str = ""
    seen: list[Seen] = field(default_factory=list)
    # canned answers for the next requests, (status, body); then the normal answer
    next_answers: list[tuple[int, Any]] = field(default_factory=list)
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(1001))

    def answer(self, body: dict[str, Any]) -> tuple[int, Any]:
        if self.next_answers:
            return self.next_answers.pop(0)
        provider_id = next(self.ids)
        if self.kind == "smsaero":
            data = {"id": provider_id, "number": body["number"], "text": body["text"], "status": 8}
            return 200, {"success": True, "data": data, "message": None}
        sms = {body["to"]: {"status": "OK", "status_code": 100, "sms_id": f"0000-{provider_id}"}}
        return 200, {"status": "OK", "status_code": 100, "sms": sms, "balance": 100.5}


class _JsonHandler(BaseHTTPRequestHandler):
    """Answers JSON (or raw bytes a test asked for), quietly."""

    def reply(self, status: int, answer: Any) -> None:
        payload = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def _serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """A real HTTP server on a free local port for the block; yields its URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _handler(provider: FakeProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(_JsonHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
            if self.headers.get("Content-Type", "").startswith("application/json"):
                body = json.loads(raw)
            else:
                body = {k: v[0] for k, v in parse_qs(raw).items()}
            provider.seen.append(Seen(self.path, dict(self.headers), body))
            self.reply(*provider.answer(body))

    return Handler


@contextmanager
def fake_provider(kind: str) -> Iterator[FakeProvider]:
    provider = FakeProvider(kind)
    with _serving(_handler(provider)) as provider.url:
        yield provider


def basic_auth(seen: Seen) -> tuple[str, str]:
    user, _, password = (
        base64.b64decode(seen.headers["Authorization"].split()[1]).decode().partition(":")
    )
    return user, password


@dataclass
class FakeTelegram:
    """A local Bot API: `getUpdates` hands out the updates a test pushes (confirmed by the
    offset, as Telegram does), `sendMessage` records what the bot sent, canned failures first."""

    token: str = "123456:TEST-token"
    url: str = ""
    updates: list[dict[str, Any]] = field(default_factory=list)
    sent: list[dict[str, Any]] = field(default_factory=list)
    next_answers: list[tuple[int, Any]] = field(default_factory=list)
    update_ids: Iterator[int] = field(default_factory=lambda: itertools.count(500))
    message_ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    offset: int = 0  # the test's bot confirms updates up to here, as the bot command does

    def say(self, chat_id: int, text: str, *, language: str = "ru", username: str = "anna") -> None:
        """A member writes `text` to the bot in a private chat."""
        self.updates.append(
            {
                "update_id": next(self.update_ids),
                "message": {
                    "message_id": next(self.message_ids),
                    "from": {"id": chat_id, "is_bot": False, "username": username,
                             "language_code": language},
                    "chat": {"id": chat_id, "type": "private"},
                    "date": 1764547200,
                    "text": text,
                },
            }
        )  # fmt: skip

    def answer(self, method: str, body: dict[str, Any]) -> tuple[int, Any]:
        if method == "getUpdates":
            offset = int(body.get("offset") or 0)
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
            return 200, {"ok": True, "result": list(self.updates)}
        if method != "sendMessage":
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        if self.next_answers:
            return self.next_answers.pop(0)
        self.sent.append(body)
        result = {"message_id": next(self.message_ids), "chat": {"id": body["chat_id"]}}
        return 200, {"ok": True, "result": {**result, "text": body["text"]}}


def _telegram_handler(bot: FakeTelegram) -> type[BaseHTTPRequestHandler]:
    class Handler(_JsonHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
            prefix = f"/bot{bot.token}/"
            if not self.path.startswith(prefix):
                status, answer = (
                    401,
                    {"ok": False, "error_code": 401, "description": "Unauthorized"},
                )
            else:
                status, answer = bot.answer(self.path[len(prefix) :], json.loads(raw or "{}"))
            self.reply(status, answer)

    return Handler


@contextmanager
def fake_telegram() -> Iterator[FakeTelegram]:
    bot = FakeTelegram()
    with _serving(_telegram_handler(bot)) as bot.url:
        yield bot
