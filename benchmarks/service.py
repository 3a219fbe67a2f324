"""A generated service next to the minimal FastAPI app that does the same work.

Renders ``orders`` the way ``msgen new service orders`` does in a new workspace (its
``auth:`` section, RabbitMQ events through the outbox, tracing and metrics), installs it
with uv, and serves, side by side, with the same uvicorn options (one worker, uvloop and
httptools, no access log, LOG_LEVEL=WARNING):

- ``bare``: the smallest FastAPI + SQLAlchemy 2 async app a team would write by hand for
  the same API: the same table and columns, a session per request (committed for POST),
  pydantic response models, the same page envelope (items, total, limit, offset, ordered by
  created_at then id). No auth, no outbox, no tracing, no metrics, no middleware;
- ``service``: the generated service with the settings it is deployed with: tracing sampled
  as docs/observability.md recommends for production (``parentbased_traceidratio``, 10%),
  metrics, a bearer token on every request (this script's issuer, as benchmarks/auth.py),
  BROKER_URL set when a RabbitMQ answers on 127.0.0.1:5672 (the relay publishes what
  ``POST`` records in the outbox) with OUTBOX_UNCONSUMED_EVENTS as ``msgen dev up``,
  Compose and Kubernetes set it (no service of the workspace consumes orders' events);
- ``traced``: the same, every request traced (``always_on``).

Spans go to a batch processor whose exporter drops them (as benchmarks/observability.py),
so the figures are the service's, not a collector's. Every app gets its own database
(a file for SQLite; a throwaway database on the local PostgreSQL for ``--db postgres``)
with 100 orders. wrk (``--connections``, 2 threads) then drives, for each database and each
run, ``GET /orders/{id}``, ``GET /orders?limit=20`` and, after the reads of every run,
``POST /orders``; the apps take turns within each run, so all three see the same machine.
Any non-2xx answer aborts.

The output is a table per database: requests/s (median of the runs), p99 latency (median
of the runs' p99), and each app's ratios to ``bare``; then the goals of issue 20
(``service`` >= 0.8x, ``traced`` >= 0.7x, p99 <= 1.3x).

    python benchmarks/service.py [--db sqlite,postgres] [--seconds 10] [--connections 50]
        [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from benchmarks.auth import AUDIENCE, issuer, mint, rsa_key  # noqa: E402
from benchmarks.observability import DROP_EXPORTER, serve  # noqa: E402

STRIP = ("OTEL_", "AUTH_", "VIRTUAL_ENV", "PYTHONPATH", "BROKER_URL", "DATABASE_URL")
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"

BARE_APP = '''
"""The minimal hand-written app: FastAPI + SQLAlchemy 2 async, the same table and API."""

import enum
import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import DateTime, Integer, String, Text, Uuid, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Status(enum.StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    ARCHIVED = "archived"


class Base(DeclarativeBase):
    pass


def now() -> datetime:
    return datetime.now(UTC)


class Order(Base):
    __tablename__ = "orders"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="active")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    version: Mapped[int] = mapped_column(Integer, default=1)


class OrderCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    description: str | None = None
    status: Status = Status.ACTIVE


class OrderRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    name: str
    description: str | None
    status: Status
    created_at: datetime
    updated_at: datetime
    version: int


class Page(BaseModel):
    items: list[OrderRead]
    total: int
    limit: int
    offset: int


url = os.environ["DATABASE_URL"]
options = {} if url.startswith("sqlite") else {"pool_size": 10}
engine = create_async_engine(url, **options)
sessions = async_sessionmaker(engine, expire_on_commit=False)


async def session() -> AsyncIterator[AsyncSession]:
    async with sessions() as s:
        yield s


Session = Annotated[AsyncSession, Depends(session)]
app = FastAPI()


@app.on_event("startup")
async def create_tables() -> None:
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)


@app.get("/health/ready")
async def ready() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/orders", status_code=201)
async def create(payload: OrderCreate, s: Session) -> OrderRead:
    order = Order(**payload.model_dump())
    s.add(order)
    await s.commit()
    return OrderRead.model_validate(order)


@app.get("/orders")
async def page(
    s: Session,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Page:
    total = await s.scalar(select(func.count()).select_from(Order))
    rows = await s.scalars(
        select(Order).order_by(Order.created_at, Order.id).limit(limit).offset(offset)
    )
    return Page(
        items=[OrderRead.model_validate(r) for r in rows], total=total, limit=limit, offset=offset
    )


@app.get("/orders/{order_id}")
async def read(order_id: uuid.UUID, s: Session) -> OrderRead:
    order = await s.get(Order, order_id)
    if order is None:
        raise HTTPException(404)
    return OrderRead.model_validate(order)
'''

TRACED_APP = """
from bench_drop import processor
from orders.app import create_app

app = create_app()
app.state.tracer_provider.add_span_processor(processor())
"""

POST_LUA = """
wrk.method = "POST"
wrk.body = '{"name": "benchmark order", "description": "made by wrk"}'
wrk.headers["Content-Type"] = "application/json"
"""

APPS = ("bare", "service", "traced")
ENDPOINTS = ("GET /orders/{id}", "GET /orders?limit=20", "POST /orders")
GOALS = {"service": 0.8, "traced": 0.7}
P99_GOAL = 1.3


def reachable(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def database(db: str, root: Path, label: str) -> Iterator[str]:
    """A fresh database for one app: its URL (async driver)."""
    if db == "sqlite":
        yield f"sqlite+aiosqlite:///{root / f'{label}.db'}"
        return
    import psycopg

    name = f"msgen_bench_{label}_{os.getpid()}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def render_service(workspace: Path, issuer_url: str, db: str) -> Path:
    """``msgen init`` with this script's issuer, then ``msgen new service orders``."""
    from tests.servicekit import run

    workspace.mkdir()
    msgen = [sys.executable, "-m", "msgen"]
    run([*msgen, "init", "--name", "bench", "--auth", "none"], cwd=workspace)
    with (workspace / "msgen.yaml").open("a") as file:
        file.write(f"auth:\n  provider: oidc\n  issuer: {issuer_url}\n  audience: {AUDIENCE}\n")
    run([*msgen, "new", "service", "orders", "--db", db], cwd=workspace)
    return workspace / "orders"


def wrk(
    binary: str, url: str, *, seconds: float, connections: int, headers: dict[str, str], lua: Path
) -> tuple[float, float]:
    """requests/s and p99 latency (ms) of ``url``, after a 2 s warm-up."""
    args = [a for name, value in headers.items() for a in ("-H", f"{name}: {value}")]
    script = ["-s", str(lua)] if lua.name != "-" else []
    subprocess.run(
        [binary, "-t1", "-c4", "-d2s", *script, *args, url], check=True, capture_output=True
    )
    command = [binary, "-t2", f"-c{connections}", f"-d{int(seconds)}s", "--latency", *script]
    out = subprocess.run([*command, *args, url], check=True, capture_output=True, text=True).stdout
    if "Non-2xx" in out:
        raise SystemExit(f"{url} answered errors:\n{out}")
    if "Socket errors" in out:
        print("    " + re.search(r"Socket errors:.*", out).group(0), flush=True)  # type: ignore[union-attr]
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    value, unit = re.search(r"99%\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
    return rps, float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def seed(base: str, headers: dict[str, str]) -> str:
    """100 orders; the id of the first."""
    first = ""
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        for n in range(100):
            answer = client.post("/orders", json={"name": f"order {n}", "description": "seed"})
            answer.raise_for_status()
            first = first or answer.json()["id"]
        assert client.get(f"/orders/{first}").status_code == 200
        assert client.get("/orders", params={"limit": 20}).json()["total"] == 100
    return first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="sqlite,postgres")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    binary = shutil.which("wrk")
    if binary is None:
        sys.exit("wrk is not on PATH (apt-get install wrk)")
    dbs = [d.strip() for d in args.db.split(",") if d.strip()]
    if "postgres" in dbs and not reachable(5432):
        sys.exit("no PostgreSQL on 127.0.0.1:5432 (or pass --db sqlite)")
    broker = "amqp://guest:guest@127.0.0.1:5672/" if reachable(5672) else None

    from tests.servicekit import install

    key = rsa_key()
    with ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="msgen-bench-")))
        issuer_url = stack.enter_context(issuer(key))
        token = mint(key, issuer_url)
        for db in dbs:
            print(f"rendering and installing orders ({db}) ...", flush=True)
            service = render_service(scratch / f"ws-{db}", issuer_url, db)
            python = install(service, editable=False)
            (service / "bench_drop.py").write_text(DROP_EXPORTER)
            (service / "bench_traced.py").write_text(TRACED_APP)
            (service / "bench_bare.py").write_text(BARE_APP)
            (service / "post.lua").write_text(POST_LUA)
            measure(binary, db, service, python, token, broker, args)


def measure(
    binary: str,
    db: str,
    service: Path,
    python: Path,
    token: str,
    broker: str | None,
    args: argparse.Namespace,
) -> None:
    from msgen.topology import unconsumed_env
    from msgen.workspace import load_workspace

    auth = {"Authorization": f"Bearer {token}"}
    workspace = load_workspace(service.parent / "msgen.yaml").model
    unconsumed = unconsumed_env(workspace, "orders")
    with ExitStack() as stack:
        bases: dict[str, str] = {}
        headers: dict[str, dict[str, str]] = {}
        ids: dict[str, str] = {}
        for label in APPS:
            url = stack.enter_context(database(db, service, label))
            env = {"DATABASE_URL": url, "LOG_LEVEL": "WARNING", "ENVIRONMENT": "production"}
            module = {"bare": "bench_bare", "service": "bench_traced", "traced": "bench_traced"}
            if label != "bare":
                env["OTEL_TRACES_EXPORTER"] = "none"
                if broker:
                    env["BROKER_URL"] = broker
                    # As dev up, Compose and Kubernetes set it: nothing in this workspace
                    # consumes orders' events, so the relay publishes them (confirmed) and
                    # marks them sent rather than parking them.
                    env.update(unconsumed)
                sampler = "always_on" if label == "traced" else "parentbased_traceidratio"
                env["OTEL_TRACES_SAMPLER"] = sampler
                env["OTEL_TRACES_SAMPLER_ARG"] = "0.1"
            bases[label] = stack.enter_context(
                serve(service, python, module[label], env, strip=STRIP)
            )
            headers[label] = auth if label != "bare" else {}
            ids[label] = seed(bases[label], headers[label])
        rps: dict[tuple[str, str], list[float]] = {}
        p99: dict[tuple[str, str], list[float]] = {}
        no_script = Path("-")

        def one(endpoint: str, label: str) -> None:
            path = {
                ENDPOINTS[0]: f"/orders/{ids[label]}",
                ENDPOINTS[1]: "/orders?limit=20",
                ENDPOINTS[2]: "/orders",
            }[endpoint]
            lua = service / "post.lua" if endpoint.startswith("POST") else no_script
            r, p = wrk(
                binary,
                bases[label] + path,
                seconds=args.seconds,
                connections=args.connections,
                headers=headers[label],
                lua=lua,
            )
            rps.setdefault((endpoint, label), []).append(r)
            p99.setdefault((endpoint, label), []).append(p)
            print(f"  {db:8} {endpoint:22} {label:8} {r:9.0f} req/s  p99 {p:7.1f} ms", flush=True)

        for run in range(args.runs):
            print(f"run {run + 1} of {args.runs} ({db})", flush=True)
            for endpoint in ENDPOINTS[:2]:
                for label in APPS:
                    one(endpoint, label)
        for run in range(args.runs):
            print(f"run {run + 1} of {args.runs} ({db}, writes)", flush=True)
            for label in APPS:
                one(ENDPOINTS[2], label)
        report(db, rps, p99, args)


def report(
    db: str,
    rps: dict[tuple[str, str], list[float]],
    p99: dict[tuple[str, str], list[float]],
    args: argparse.Namespace,
) -> None:
    print(
        f"\n{db}: wrk, {args.connections} connections, {int(args.seconds)} s, "
        f"median of {args.runs} runs"
    )
    print(f"{'endpoint':22} {'app':8} {'req/s':>8} {'ratio':>6} {'p99 ms':>8} {'p99 ratio':>9}")
    verdicts = []
    for endpoint in ENDPOINTS:
        base_rps = statistics.median(rps[(endpoint, "bare")])
        base_p99 = statistics.median(p99[(endpoint, "bare")])
        for label in APPS:
            r = statistics.median(rps[(endpoint, label)])
            p = statistics.median(p99[(endpoint, label)])
            print(
                f"{endpoint:22} {label:8} {r:8.0f} {r / base_rps:6.2f} {p:8.1f} {p / base_p99:9.2f}"
            )
            if label in GOALS:
                goal = GOALS[label]
                verdicts.append(
                    f"{endpoint} {label}: {r / base_rps:.2f}x (goal >= {goal}) "
                    f"{'met' if r / base_rps >= goal else 'NOT met'}; p99 {p / base_p99:.2f}x "
                    f"(goal <= {P99_GOAL}) {'met' if p / base_p99 <= P99_GOAL else 'NOT met'}"
                )
    print("goals:")
    for line in verdicts:
        print(f"  {line}")


if __name__ == "__main__":
    main()
