"""Inbound rate limiting per client: a token bucket per client address, 429 + Retry-After.

Each client may make ``burst`` requests at once and ``rate`` per second on average. The
client is the peer address, or the first X-Forwarded-For hop when the service sits behind
a proxy it trusts (RATE_LIMIT_TRUST_FORWARDED). Health probes are never limited. The
buckets live in this process: with several replicas, each limits on its own.
"""

import json
import math
import time
from collections import OrderedDict
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send


class TokenBuckets:
    """Buckets keyed by client; the least recently seen are dropped beyond ``max_clients``."""

    def __init__(
        self,
        *,
        rate: float,
        burst: int,
        max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self.rate = rate
        self.burst = burst
        self.max_clients = max_clients
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, key: str) -> float:
        """Take one token: 0.0 when allowed, else the seconds until a token is free."""
        now = self._clock()
        tokens, last = self._buckets.pop(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        wait = 0.0
        if tokens >= 1:
            tokens -= 1
        else:
            wait = (1 - tokens) / self.rate
        self._buckets[key] = (tokens, now)
        while len(self._buckets) > self.max_clients:
            self._buckets.popitem(last=False)
        return wait


class RateLimitMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        rate: float,
        burst: int,
        trust_forwarded: bool = False,
        exempt_prefixes: tuple[str, ...] = ("/health/",),
    ) -> None:
        self.app = app
        self.buckets = TokenBuckets(rate=rate, burst=burst)
        self.trust_forwarded = trust_forwarded
        self.exempt_prefixes = exempt_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.exempt_prefixes):
            await self.app(scope, receive, send)
            return
        wait = self.buckets.take(self._client(scope))
        if not wait:
            await self.app(scope, receive, send)
            return
        retry_after = max(1, math.ceil(wait))
        body = json.dumps(
            {
                "type": "about:blank",
                "title": "Too Many Requests",
                "status": 429,
                "detail": f"rate limit exceeded; retry in {retry_after}s",
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 429,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", str(retry_after).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def _client(self, scope: Scope) -> str:
        if self.trust_forwarded:
            for name, value in scope["headers"]:
                if name == b"x-forwarded-for":
                    return value.decode("latin-1").split(",")[0].strip()
        client = scope.get("client")
        return client[0] if client else "unknown"
