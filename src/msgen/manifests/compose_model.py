"""The typed model of a compose file: dataclasses turned into plain data only at the edge.

Fields are declared in the order they are written, so the YAML reads like a hand-written
compose file (image and build first, healthcheck and restart policy last).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Build", "ComposeFile", "ComposeService", "Healthcheck"]


@dataclass(slots=True)
class Healthcheck:
    """A compose healthcheck; ``test`` is an exec-form command."""

    test: list[str]
    interval: str = "10s"
    timeout: str = "5s"
    retries: int = 5
    start_period: str = "20s"


@dataclass(slots=True)
class Build:
    """Where a service image is built from."""

    context: str
    dockerfile: str = "Dockerfile"
    args: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class ComposeService:
    """One container of the compose file (fields in the order they are written)."""

    image: str
    build: Build | None = None
    command: list[str] | None = None
    user: str | None = None
    environment: dict[str, str] = field(default_factory=dict)
    ports: list[str] = field(default_factory=list)
    volumes: list[str | dict[str, Any]] = field(default_factory=list)
    """Short syntax (``name:/path``), or the long syntax as a mapping (a bind mount's options)."""
    depends_on: dict[str, dict[str, str]] = field(default_factory=dict)
    healthcheck: Healthcheck | None = None
    restart: str = "unless-stopped"
    networks: list[str] = field(default_factory=list)


@dataclass(slots=True)
class ComposeFile:
    """The whole compose document."""

    services: dict[str, ComposeService]
    networks: dict[str, dict[str, Any]]
    volumes: dict[str, dict[str, Any]]
    # --with/--without as given, so that `msgen compose up` regenerates the same way.
    x_msgen: dict[str, list[str]] = field(default_factory=dict)

    def to_data(self) -> dict[str, Any]:
        """Plain data for YAML, leaving out empty and unset keys."""
        data: dict[str, Any] = _prune(asdict(self))
        if "x_msgen" in data:
            data["x-msgen"] = data.pop("x_msgen")
        return data


def _prune(value: Any) -> Any:
    if isinstance(value, dict):
        pruned = {k: _prune(v) for k, v in value.items() if v is not None}
        return {k: v for k, v in pruned.items() if v not in ([], {})}
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value
