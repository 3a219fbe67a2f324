"""Logging: one JSON object per line (or readable console lines), with request and trace ids.

Every record, uvicorn's access and error logs included, goes through the root logger's
handler. A JSON line carries ``timestamp``, ``level``, ``service``, ``logger``, ``message``,
``request_id`` (from ``RequestIdMiddleware``) and, when a span is active, ``trace_id`` and
``span_id`` (from the ``context`` callable the tracing module passes in). ``LOG_FORMAT=console``
writes the same records as plain text for a terminal.
"""

import contextvars
import json
import logging
import sys
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

from starlette.types import ASGIApp, Message, Receive, Scope, Send

LogFormat = Literal["json", "console"]
ContextFields = Callable[[], Mapping[str, str]]
CONSOLE_FORMAT = "%(asctime)s %(levelname)s [%(name)s] %(message)s"
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")
REQUEST_ID_HEADER = b"x-request-id"

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


class JsonFormatter(logging.Formatter):
    """A record as one line of JSON."""

    def __init__(self, service: str, context: ContextFields | None = None) -> None:
        super().__init__()
        self.service = service
        self.context = context

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = request_id.get()
        if rid is not None:
            entry["request_id"] = rid
        if self.context is not None:
            entry.update(self.context())
        args = record.args
        if record.name == "uvicorn.access" and isinstance(args, tuple) and len(args) == 5:
            client, method, path, version, status = args
            entry["http"] = {
                "client": client,
                "method": method,
                "path": path,
                "version": version,
                "status": status,
            }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class ConsoleFormatter(logging.Formatter):
    """Plain text, with the trace id appended while a span is active."""

    def __init__(self, context: ContextFields | None = None) -> None:
        super().__init__(CONSOLE_FORMAT)
        self.context = context

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = dict(self.context()) if self.context is not None else {}
        rid = request_id.get()
        if rid is not None:
            fields["request_id"] = rid
        if fields:
            line += " " + " ".join(f"{key}={value}" for key, value in fields.items())
        return line


class _Handler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler ``configure_logging`` installs (and replaces when called again)."""

    def emit(self, record: logging.LogRecord) -> None:
        _without_unknown_port(record)
        super().emit(record)


def _without_unknown_port(record: logging.LogRecord) -> None:
    """``127.0.0.1`` where uvicorn's access log would say ``127.0.0.1:0``.

    Behind a proxy (the gateway, an ingress) uvicorn takes the client's address from
    X-Forwarded-For, which has no port, and logs the port as 0: a port nobody used.
    """
    args = record.args
    if record.name == "uvicorn.access" and isinstance(args, tuple) and args:
        client = args[0]
        if isinstance(client, str) and client.endswith(":0"):
            record.args = (client.removesuffix(":0"), *args[1:])


def configure_logging(
    level: str,
    *,
    service: str = "",
    log_format: LogFormat = "json",
    context: ContextFields | None = None,
    stream: TextIO | None = None,
) -> None:
    """Send every log record, uvicorn's included, to ``stream`` (stderr) at ``level``.

    Handlers others installed on the root logger (pytest's, ...) are left alone.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, _Handler):
            root.removeHandler(handler)
    handler = _Handler(stream if stream is not None else sys.stderr)
    if log_format == "console":
        handler.setFormatter(ConsoleFormatter(context))
    else:
        handler.setFormatter(JsonFormatter(service, context))
    root.addHandler(handler)
    root.setLevel(level)
    for name in UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        # uvicorn's own handlers give way to the root one; a logger uvicorn switched off
        # (--no-access-log: no handlers, no propagation) stays off.
        if logger.handlers:
            logger.handlers.clear()
            logger.propagate = True


class RequestIdMiddleware:
    """Keeps the request's X-Request-ID (or makes one) for the logs and the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == REQUEST_ID_HEADER:
                rid = value.decode("latin-1")
                break
        else:
            rid = uuid.uuid4().hex
            # Handlers further in (the gateway's proxy) see the id this one logs.
            scope["headers"] = [*scope["headers"], (REQUEST_ID_HEADER, rid.encode("latin-1"))]

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                if all(name.lower() != REQUEST_ID_HEADER for name, _ in headers):
                    headers.append((REQUEST_ID_HEADER, rid.encode("latin-1")))
                    message = {**message, "headers": headers}
            await send(message)

        token = request_id.set(rid[:200])
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id.reset(token)
