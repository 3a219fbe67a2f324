"""Failpoints: a testing hook that makes msgen fail at its N-th write step.

Every step that changes the disk (an atomic write, a rename, a journal step, a save of
``msgen.yaml``) calls :func:`checkpoint` first. Normally that is one dictionary lookup and
nothing happens. With ``MSGEN_FAULT`` set, the checkpoints are counted and:

- ``MSGEN_FAULT=count`` only counts (read them with :func:`passed`);
- ``MSGEN_FAULT=<n>:raise`` raises :class:`InjectedFault` (an ``OSError``, as a full disk
  would) at the n-th checkpoint (1-based);
- ``MSGEN_FAULT=<n>:kill`` sends the process SIGKILL there: nothing runs after it, as after
  a power cut or the OOM killer.

The crash-consistency test (``tests/test_crash_consistency.py``) uses it to interrupt each
command at each of its write steps in turn. It is not an interface for users.
"""

from __future__ import annotations

import errno
import os
import signal
from dataclasses import dataclass, field

__all__ = ["FAULT_ENV", "InjectedFault", "checkpoint", "passed", "reset"]

FAULT_ENV = "MSGEN_FAULT"


class InjectedFault(OSError):
    """The failure ``MSGEN_FAULT=<n>:raise`` injects."""


@dataclass(slots=True)
class _Plan:
    at: int | None
    action: str
    names: list[str] = field(default_factory=list)


_UNSET = object()
_plan: object = _UNSET


def _load() -> _Plan | None:
    spec = os.environ.get(FAULT_ENV, "").strip()
    if not spec:
        return None
    if spec == "count":
        return _Plan(at=None, action="count")
    number, _, action = spec.partition(":")
    if not number.isdigit() or action not in {"raise", "kill"}:
        raise ValueError(f"{FAULT_ENV}={spec!r}: expected count, <n>:raise or <n>:kill")
    return _Plan(at=int(number), action=action)


def reset() -> None:
    """Forget the count and read ``MSGEN_FAULT`` again at the next checkpoint (for tests)."""
    global _plan  # noqa: PLW0603
    _plan = _UNSET


def passed() -> list[str]:
    """The checkpoints passed since the last :func:`reset` (empty without ``MSGEN_FAULT``)."""
    return list(_plan.names) if isinstance(_plan, _Plan) else []


def checkpoint(name: str) -> None:
    """Mark a write step; fail here if ``MSGEN_FAULT`` says so."""
    global _plan  # noqa: PLW0603
    if _plan is None:
        return
    if _plan is _UNSET:
        _plan = _load()
        if _plan is None:
            return
    assert isinstance(_plan, _Plan)
    _plan.names.append(name)
    if _plan.at != len(_plan.names):
        return
    if _plan.action == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    raise InjectedFault(errno.EIO, f"injected fault at write step {_plan.at} ({name})")
