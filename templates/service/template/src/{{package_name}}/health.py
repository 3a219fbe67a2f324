"""Liveness and readiness endpoints.

Readiness runs every check in ``app.state.health_checks`` (a name -> async callable that
raises when its dependency is unusable) concurrently, each bounded by HEALTH_CHECK_TIMEOUT.
A check's name becomes its key under ``checks`` in the response.

The response is public (a load balancer, a client behind the gateway may read it): a
failure says which dependency failed and how (``OSError: unreachable``), never an address
or a driver's message; those go to the log. A check that raises :class:`DependencyFailed`
chooses its public message itself.
"""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

logger = logging.getLogger(__name__)

HealthCheck = Callable[[], Awaitable[object]]
Status = Literal["pass", "fail"]

router = APIRouter(prefix="/health", tags=["health"])


class DependencyFailed(RuntimeError):
    """A failed check whose message is fit for the public readiness body (no address)."""


def public_error(exc: BaseException) -> str:
    """What the readiness body says of a failure: its kind and cause, never an address."""
    name = type(exc).__name__
    if isinstance(exc, DependencyFailed):
        return f"{name}: {exc}"
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, TimeoutError):
            return f"{name}: timed out"
        if isinstance(cause, OSError) or "connect" in type(cause).__name__.lower():
            return f"{name}: unreachable"
        cause = cause.__cause__ or cause.__context__
    return f"{name}: failed (the service's log has the details)"


class Liveness(BaseModel):
    status: Status = "pass"


class CheckResult(BaseModel):
    status: Status
    latency_ms: float | None = None
    error: str | None = None


class Readiness(BaseModel):
    status: Status
    checks: dict[str, CheckResult]


async def run_check(name: str, check: HealthCheck, seconds: float) -> CheckResult:
    """Run one check, bounded by ``seconds``; never raises. A failure is logged in full."""
    started = time.perf_counter()
    try:
        async with asyncio.timeout(seconds):
            await check()
    except TimeoutError:
        logger.warning("Readiness check %r failed: no answer within %gs", name, seconds)
        return CheckResult(status="fail", error=f"TimeoutError: no answer within {seconds:g}s")
    except Exception as exc:
        logger.warning("Readiness check %r failed: %s: %s", name, type(exc).__name__, exc)
        return CheckResult(status="fail", error=public_error(exc))
    latency_ms = round((time.perf_counter() - started) * 1000, 1)
    return CheckResult(status="pass", latency_ms=latency_ms)


async def check_readiness(checks: Mapping[str, HealthCheck], seconds: float) -> Readiness:
    """Run all ``checks`` concurrently, each bounded by ``seconds``."""
    names = list(checks)
    results = await asyncio.gather(*(run_check(name, checks[name], seconds) for name in names))
    report = dict(zip(names, results, strict=True))
    passed = all(result.status == "pass" for result in results)
    return Readiness(status="pass" if passed else "fail", checks=report)


@router.get("/live")
async def live() -> Liveness:
    """The process is up and serving; no I/O."""
    return Liveness()


@router.get("/ready", response_model=Readiness, responses={503: {"model": Readiness}})
async def ready(request: Request) -> JSONResponse:
    """Every dependency answers: 200 when all checks pass, 503 otherwise."""
    state = request.app.state
    report = await check_readiness(state.health_checks, state.settings.health_check_timeout)
    return JSONResponse(
        report.model_dump(exclude_none=True),
        status_code=200 if report.status == "pass" else 503,
    )
