"""RabbitMQ as msgen's operator commands reach it: the URL, a connection, errors, headers.

aio-pika (over aiormq) is imported inside the functions that use it, so ``msgen --help``
stays fast, and its errors become :class:`~msgen.errors.BrokerError` right here: an
unreachable broker, a refused login or a missing queue is one line, never a traceback.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
from collections.abc import AsyncIterator, Coroutine, Mapping
from contextlib import asynccontextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from msgen.errors import BrokerError, UsageError
from msgen.inputs import shorten

if TYPE_CHECKING:
    from aio_pika.abc import AbstractConnection

__all__ = [
    "CONNECT_TIMEOUT",
    "DEFAULT_BROKER_URL",
    "OPERATION_TIMEOUT",
    "broker_url",
    "close_quietly",
    "connection",
    "exchange_exists",
    "json_value",
    "message_count",
    "publishable",
    "redacted",
    "run",
]

DEFAULT_BROKER_URL = "amqp://guest:guest@127.0.0.1:5672/"
"""What the generated services and ``msgen dev up`` use when no broker URL is given."""

CONNECT_TIMEOUT = 10.0
OPERATION_TIMEOUT = 30.0
"""Seconds for one broker round trip (a get, a publisher confirm) before giving up."""

T = TypeVar("T")


def broker_url(given: str | None) -> str:
    """``--broker`` (or BROKER_URL), else the local default; an amqp(s) URL or a usage error."""
    url = (given or "").strip() or DEFAULT_BROKER_URL
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError as exc:
        raise UsageError(f"bad broker URL {shorten(repr(redacted(url)))}: {exc}") from None
    if parts.scheme not in {"amqp", "amqps"} or not parts.hostname:
        raise UsageError(
            f"bad broker URL {shorten(repr(redacted(url)))}: not amqp://HOST[:PORT][/VHOST]",
            hint="pass --broker (or set BROKER_URL) as amqp://USER:PASSWORD@HOST:5672/",
        )
    return url


def redacted(url: str) -> str:
    """``url`` without its password, for messages."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        user = f"{parts.username}@" if parts.username else ""
        port = f":{parts.port}" if parts.port else ""
        return urlunsplit(parts._replace(netloc=f"{user}{parts.hostname}{port}"))
    except ValueError:
        return "(unparsable URL)"


def run(work: Coroutine[Any, Any, T], *, url: str) -> T:
    """Run ``work`` to completion; every broker failure on the way is one BrokerError.

    Ctrl-C cancels it like any failure: each channel closes on the way out, so the
    messages it held but had not acknowledged go back to their queue.
    """
    from aiormq.exceptions import AMQPConnectionError, AMQPError, ChannelInvalidStateError

    where = redacted(url)
    try:
        return asyncio.run(work)
    except BrokerError:
        raise
    except TimeoutError as exc:
        raise BrokerError(
            f"RabbitMQ at {where} did not answer in time",
            hint="check that the broker is healthy; what was not confirmed stays in the queue",
        ) from exc
    except (AMQPConnectionError, ConnectionError, ChannelInvalidStateError) as exc:
        raise BrokerError(
            f"lost the connection to RabbitMQ at {where}: {_reason(exc)}",
            hint="unfinished messages stay in the queue; run the command again",
        ) from exc
    except AMQPError as exc:
        raise BrokerError(f"RabbitMQ at {where} refused a request: {_reason(exc)}") from exc


@asynccontextmanager
async def connection(url: str) -> AsyncIterator[AbstractConnection]:
    """A plain (not robust) connection: a lost one fails the command rather than retrying."""
    import aio_pika
    from aiormq.exceptions import AMQPError, ProbableAuthenticationError

    where = redacted(url)
    # aiormq logs each failed connection attempt; the error raised here is already one line.
    for name in ("aiormq", "aio_pika"):
        logger = logging.getLogger(name)
        if not logger.handlers:
            logger.addHandler(logging.NullHandler())
    try:
        conn = await aio_pika.connect(url, timeout=CONNECT_TIMEOUT)
    except ProbableAuthenticationError as exc:
        raise BrokerError(
            f"RabbitMQ at {where} refused the login",
            hint="check the user and password in --broker (or BROKER_URL)",
        ) from exc
    except (AMQPError, OSError, TimeoutError) as exc:
        raise BrokerError(
            f"cannot reach RabbitMQ at {where}: {_reason(exc)}",
            hint="start it (msgen doctor checks it), or pass --broker URL (or set BROKER_URL)",
        ) from exc
    try:
        yield conn
    finally:
        await close_quietly(conn)


async def message_count(conn: AbstractConnection, queue: str) -> int | None:
    """The ready messages of ``queue``; None when there is no such queue."""
    from aiormq.exceptions import ChannelNotFoundEntity

    channel = await conn.channel()
    try:
        declared = await channel.declare_queue(queue, passive=True, timeout=OPERATION_TIMEOUT)
    except ChannelNotFoundEntity:
        return None
    finally:
        await close_quietly(channel)
    return int(declared.declaration_result.message_count or 0)


async def exchange_exists(conn: AbstractConnection, name: str) -> bool:
    """Whether ``name`` exists (a passive declare on a channel of its own: a miss closes it)."""
    from aiormq.exceptions import ChannelNotFoundEntity

    if name == "":
        return True  # the default exchange
    channel = await conn.channel()
    try:
        await channel.declare_exchange(name, passive=True, timeout=OPERATION_TIMEOUT)
    except ChannelNotFoundEntity:
        return False
    finally:
        await close_quietly(channel)
    return True


async def close_quietly(closable: Any) -> None:
    """Close a channel or connection that RabbitMQ may have closed already."""
    with contextlib.suppress(Exception):
        await closable.close()


def _reason(exc: BaseException) -> str:
    args = [str(arg) for arg in getattr(exc, "args", ()) if str(arg)]
    return shorten(" ".join(args) or type(exc).__name__, 200)


def json_value(value: Any) -> Any:
    """A header value as JSON: texts stay, timestamps become ISO 8601, bytes base64."""
    if isinstance(value, str | bool | int | float) or value is None:
        return value
    if isinstance(value, Mapping):
        return {str(key): json_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(item) for item in value]
    return _scalar(value)


def _scalar(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return "base64:" + base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)  # Decimal and anything newer


def publishable(value: Any) -> Any:
    """A header value as received, ready to publish again.

    pamqp hands back a long string that is not UTF-8 as ``bytes`` but only encodes
    ``bytearray``: everything else goes back as it came.
    """
    if isinstance(value, bytes):
        return bytearray(value)
    if isinstance(value, Mapping):
        return {key: publishable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [publishable(item) for item in value]
    return value
