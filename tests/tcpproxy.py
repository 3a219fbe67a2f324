"""A TCP proxy whose connections a test can cut: a network outage between a service and a server.

It forwards every connection on its port to ``target`` and runs its own event loop in a
thread, so tests (synchronous, like msgen's) drive it with plain calls:

- :meth:`TcpProxy.cut` aborts every forwarded connection (both sides see them drop) and
  stops listening, so new connections are refused until :meth:`TcpProxy.restore`, which
  listens on the same port again.
- :meth:`TcpProxy.blackhole` keeps every connection open and accepts new ones, but
  forwards nothing either way (a partition: packets dropped, no reset) until
  :meth:`TcpProxy.restore`, which lets the held data through.

Use it as a context manager; leaving closes everything and stops the thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, TypeVar

T = TypeVar("T")
_CHUNK = 65536


class TcpProxy:
    """Forwards ``127.0.0.1:<port>`` to ``target_host:target_port``."""

    def __init__(self, target_host: str, target_port: int, *, port: int = 0) -> None:
        """``port``: where to listen (default: a free port, kept across cuts)."""
        self.target = (target_host, target_port)
        self.port = port
        self.accepted = 0  # connections accepted since start, forwarded or not
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._pairs: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._flowing = asyncio.Event()

    # -- the test's side: blocking calls -------------------------------------------------

    def start(self) -> TcpProxy:
        self._thread.start()
        self._call(self._listen())
        return self

    def cut(self) -> int:
        """Drop every forwarded connection and refuse new ones; how many were dropped."""
        return self._call(self._cut())

    def blackhole(self) -> None:
        """Forward nothing, either way, on any connection, until :meth:`restore`."""
        self._call(self._hold())

    def restore(self) -> None:
        """Accept connections again, on the same port, and forward again."""
        self._call(self._listen())

    @property
    def connections(self) -> int:
        """Connections being forwarded now."""
        return self._call(self._count())

    def close(self) -> None:
        if not self._thread.is_alive():
            return
        self._call(self._cut())
        self._call(self._drain())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def __enter__(self) -> TcpProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=30)

    # -- the loop's side -----------------------------------------------------------------

    async def _hold(self) -> None:
        self._flowing.clear()

    async def _listen(self) -> None:
        self._flowing.set()
        if self._server is not None:
            return
        self._server = await asyncio.start_server(
            self._forward, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def _cut(self) -> int:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        dropped = len(self._pairs)
        for client, upstream in list(self._pairs):
            client.transport.abort()
            upstream.transport.abort()
        self._pairs.clear()
        return dropped

    async def _count(self) -> int:
        return len(self._pairs)

    async def _drain(self) -> None:
        """Wait for the handlers of aborted connections to finish."""
        current = asyncio.current_task()
        tasks = {task for task in self._tasks if task is not current}
        if tasks:
            await asyncio.wait(tasks, timeout=5)

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        handler = asyncio.current_task()
        if handler is not None:
            self._tasks.add(handler)
            handler.add_done_callback(self._tasks.discard)
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        if self._server is None:  # cut while connecting upstream
            writer.transport.abort()
            up_writer.transport.abort()
            return
        pair = (writer, up_writer)
        self._pairs.add(pair)
        pumps = [
            asyncio.ensure_future(self._pump(reader, up_writer, self._flowing)),
            asyncio.ensure_future(self._pump(up_reader, writer, self._flowing)),
        ]
        for task in pumps:
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        # One side closed: close the other, as a real connection would be.
        self._pairs.discard(pair)
        writer.transport.abort()
        up_writer.transport.abort()
        await asyncio.wait(pumps)

    @staticmethod
    async def _pump(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, flowing: asyncio.Event
    ) -> None:
        try:
            while data := await reader.read(_CHUNK):
                await flowing.wait()
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
