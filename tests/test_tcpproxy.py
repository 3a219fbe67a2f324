"""The fault-injection proxy of the end-to-end tests: forwards, cuts, refuses, restores."""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Iterator

import pytest

from tests.tcpproxy import TcpProxy


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(4096):
            self.request.sendall(data)


@pytest.fixture
def echo_port() -> Iterator[int]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def roundtrip(sock: socket.socket, data: bytes) -> bytes:
    sock.sendall(data)
    received = b""
    while len(received) < len(data):
        chunk = sock.recv(4096)
        if not chunk:
            break
        received += chunk
    return received


def dropped(sock: socket.socket) -> bool:
    """The connection ends (end-of-file or a reset) rather than hangs or answers."""
    try:
        sock.sendall(b"anyone?")
        return sock.recv(4096) == b""
    except ConnectionError:
        return True


def test_forwards_both_ways(echo_port: int) -> None:
    with TcpProxy("127.0.0.1", echo_port) as proxy:
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as sock:
            assert roundtrip(sock, b"hello") == b"hello"
            big = bytes(range(256)) * 1000
            assert roundtrip(sock, big) == big
            assert proxy.connections == 1
        assert proxy.accepted == 1


def test_cut_drops_connections_and_refuses_new_ones_until_restored(echo_port: int) -> None:
    with TcpProxy("127.0.0.1", echo_port) as proxy:
        port = proxy.port
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        try:
            assert roundtrip(sock, b"before") == b"before"
            assert proxy.cut() == 1
            assert dropped(sock)
        finally:
            sock.close()
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=5).close()

        proxy.restore()
        assert proxy.port == port
        with socket.create_connection(("127.0.0.1", port), timeout=5) as again:
            assert roundtrip(again, b"after") == b"after"


def test_an_unreachable_target_closes_the_client_connection() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        dead_port = int(unused.getsockname()[1])
    with (
        TcpProxy("127.0.0.1", dead_port) as proxy,
        socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as sock,
    ):
        assert dropped(sock)
        assert proxy.connections == 0


def test_blackhole_holds_data_both_ways_until_restored(echo_port: int) -> None:
    with (
        TcpProxy("127.0.0.1", echo_port) as proxy,
        socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as sock,
    ):
        assert roundtrip(sock, b"before") == b"before"
        proxy.blackhole()
        sock.sendall(b"held")
        sock.settimeout(0.5)
        with pytest.raises(TimeoutError):  # no answer, and no reset either
            sock.recv(4096)
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as new:
            new.sendall(b"new")  # accepted, but nothing comes back
            new.settimeout(0.5)
            with pytest.raises(TimeoutError):
                new.recv(4096)
            proxy.restore()
            new.settimeout(5)
            assert new.recv(4096) == b"new"
        sock.settimeout(5)
        assert sock.recv(4096) == b"held"
        assert roundtrip(sock, b"after") == b"after"
