"""Circuit breakers, one per upstream.

closed -> open after ``failure_threshold`` consecutive failures; open rejects at once with
:class:`CircuitOpenError`; after ``reset_timeout`` seconds the circuit is half-open and lets
exactly one probe through at a time (admission is synchronous, so under asyncio no other
task can slip in between the check and the claim); the probe's success closes the circuit,
its failure opens it again. A cancelled probe gives its slot back without a verdict.

``BreakerRegistry.states()`` reads every breaker's state (for metrics and diagnostics).
"""

import asyncio
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Literal

State = Literal["closed", "open", "half_open"]


class CircuitOpenError(Exception):
    """The circuit is open (or half-open with its probe in flight): the call was not made."""

    def __init__(self, name: str, retry_after: float) -> None:
        super().__init__(f"circuit {name!r} is open; retry in {retry_after:.1f}s")
        self.name = name
        self.retry_after = retry_after


class Attempt:
    """One admitted call; ``fail()`` marks it failed without raising (e.g. a 5xx answer)."""

    __slots__ = ("failed",)

    def __init__(self) -> None:
        self.failed = False

    def fail(self) -> None:
        self.failed = True


class CircuitBreaker:
    def __init__(
        self,
        name: str,
        *,
        failure_threshold: int = 5,
        reset_timeout: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        if reset_timeout <= 0:
            raise ValueError("reset_timeout must be positive")
        self.name = name
        self.failure_threshold = failure_threshold
        self.reset_timeout = reset_timeout
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False

    @property
    def state(self) -> State:
        if self._opened_at is None:
            return "closed"
        if self._clock() - self._opened_at >= self.reset_timeout:
            return "half_open"
        return "open"

    @property
    def retry_after(self) -> float:
        """Seconds until the circuit half-opens (0 when it is not open)."""
        if self._opened_at is None:
            return 0.0
        return max(0.0, self._opened_at + self.reset_timeout - self._clock())

    @contextmanager
    def attempt(self) -> Iterator[Attempt]:
        """Admit one call or raise CircuitOpenError; record its outcome when it ends.

        An exception leaving the block is a failure, ``Attempt.fail()`` marks one without
        raising, and cancellation records nothing.
        """
        probe = self._admit()
        outcome = Attempt()
        try:
            yield outcome
        except asyncio.CancelledError:
            if probe:
                self._probing = False
            raise
        except BaseException:
            self._record(success=False, probe=probe)
            raise
        self._record(success=not outcome.failed, probe=probe)

    def _admit(self) -> bool:
        state = self.state
        if state == "closed":
            return False
        if state == "half_open" and not self._probing:
            self._probing = True
            return True
        raise CircuitOpenError(self.name, self.retry_after or self.reset_timeout)

    def _record(self, *, success: bool, probe: bool) -> None:
        if probe:
            self._probing = False
        elif self._opened_at is not None:
            # A call admitted while closed that ends after the circuit opened: no verdict.
            return
        if success:
            self._failures = 0
            self._opened_at = None
            return
        self._failures += 1
        if probe or self._failures >= self.failure_threshold:
            self._opened_at = self._clock()


class BreakerRegistry:
    """The breakers of a process, created on first use with the same settings."""

    def __init__(
        self,
        *,
        failure_threshold: int,
        reset_timeout: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._failure_threshold = failure_threshold
        self._reset_timeout = reset_timeout
        self._clock = clock
        self._breakers: dict[str, CircuitBreaker] = {}

    def get(self, name: str) -> CircuitBreaker:
        breaker = self._breakers.get(name)
        if breaker is None:
            breaker = CircuitBreaker(
                name,
                failure_threshold=self._failure_threshold,
                reset_timeout=self._reset_timeout,
                clock=self._clock,
            )
            self._breakers[name] = breaker
        return breaker

    def states(self) -> dict[str, State]:
        return {name: breaker.state for name, breaker in sorted(self._breakers.items())}
