"""A workflow end to end: orders and payments, made with msgen, on real RabbitMQ and PostgreSQL.

The two services are made as a user makes them (``msgen new service``, then commands and
a ``consumes`` mapping added to msgen.yaml, each followed by ``msgen update``) and run as
processes. ``payments`` creates a Payment for each ``orders.order_created``; the test plays
the payment provider, capturing every pending payment except a known subset (amounts ending
in .13) which it fails; ``orders`` runs ``Order.pay`` on ``payments.payment_captured`` and
``Order.cancel`` on ``payments.payment_failed``.

After 200 orders every order must be exactly ``paid`` or ``cancelled`` as its amount says,
with exactly one command applied (version 2), exactly one payment, every message processed
once and none dead-lettered: without faults; with the orders process, then the payments
process (each runs its consumer and its outbox relay in-process), killed by SIGKILL midway
and restarted; and with both services' broker connections cut for three seconds by a proxy
in front of RabbitMQ (tests/tcpproxy.py).
"""

from __future__ import annotations

import json
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from ruamel.yaml import YAML

from msgen.topology import unconsumed_env
from msgen.workspace import load_workspace
from tests import brokerkit
from tests.conftest import require_service
from tests.servicekit import (
    BROKER_URL,
    Server,
    free_port,
    install,
    mypy_clean,
    ruff_clean,
    run,
    run_own_tests,
    throwaway_database,
)
from tests.tcpproxy import TcpProxy

pytestmark = [pytest.mark.slow, pytest.mark.services]

ORDERS = 200
FAILING_CENTS = Decimal("0.13")
SETTLE_SECONDS = 90
Report = Callable[[str], None]


def total_of(number: int) -> str:
    """Order ``number``'s total: every 7th ends in .13, which the provider fails."""
    return f"{number + 1}.13" if number % 7 == 3 else f"{number + 1}.50"


def fails(amount: str) -> bool:
    return Decimal(amount) % 1 == FAILING_CENTS


EXPECTED_FAILURES = sum(fails(total_of(n)) for n in range(ORDERS))


# -- the system, made with the msgen CLI ---------------------------------------------------


def msgen(*args: str, cwd: Path) -> str:
    env = {"PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    return run([sys.executable, "-m", "msgen", *args], cwd=cwd, env=env, timeout=300).stdout


def edit_workspace(root: Path, change: Callable[[Any], None]) -> None:
    """Change msgen.yaml by hand, as a user does (ruamel keeps its comments)."""
    yaml = YAML()
    path = root / "msgen.yaml"
    document = yaml.load(path.read_text())
    change(document["services"])
    with path.open("w") as handle:
        yaml.dump(document, handle)


def add_commands(services: Any) -> None:
    services["orders"]["entities"]["Order"]["commands"] = {
        "pay": {"from": ["pending"], "to": "paid"},
        "ship": {"from": ["paid"], "to": "shipped"},
        "cancel": {"from": ["pending", "paid"], "to": "cancelled"},
    }
    services["payments"]["entities"]["Payment"]["commands"] = {
        "create_for_order": {"to": "pending"},
        "capture": {"from": ["pending"], "to": "captured"},
        "fail": {"from": ["pending"], "to": "failed"},
    }


def map_consumed_events(services: Any) -> None:
    services["orders"]["consumes"] = {
        "payments.payment_captured": {"command": "Order.pay", "id": "order_id"},
        "payments.payment_failed": {"command": "Order.cancel", "id": "order_id"},
    }
    services["payments"]["consumes"] = {
        "orders.order_created": {
            "command": "Payment.create_for_order",
            "fields": {"order_id": "id", "amount": "total"},
        }
    }


@dataclass
class System:
    root: Path
    orders: Path
    payments: Path
    orders_python: Path
    payments_python: Path


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> System:
    require_service("PostgreSQL", "127.0.0.1", 5432)
    require_service("RabbitMQ", "127.0.0.1", 5672)
    root = tmp_path_factory.mktemp("workflow") / "shop"
    # A system name of its own (its default exchange and queue names); each test still
    # uses names of its own too, through BROKER_EXCHANGE and BROKER_QUEUE.
    msgen(
        "init", str(root), "--name", f"wf{uuid.uuid4().hex[:10]}", "--auth", "none", cwd=root.parent
    )
    status = "status:enum(pending, paid, shipped, cancelled)=pending"
    msgen("new", "service", "orders", "total:decimal", status, "--db", "postgres", cwd=root)
    msgen(
        "new",
        "service",
        "payments",
        "order_id:uuid",
        "amount:decimal",
        "status:enum(pending, captured, failed)=pending",
        "--db",
        "postgres",
        "--consumes",
        "orders.order_created",
        cwd=root,
    )
    edit_workspace(root, add_commands)
    msgen("update", cwd=root)
    edit_workspace(root, map_consumed_events)
    msgen("update", cwd=root)
    orders, payments = root / "orders", root / "payments"
    workflows = (orders / "src" / "orders" / "workflows.py").read_text()
    assert '"payments.payment_captured"' in workflows, workflows
    with ThreadPoolExecutor(2) as pool:
        orders_python, payments_python = pool.map(install, [orders, payments])
    # workflows.py, the commands and their handlers pass the services' own type check
    mypy_clean(orders, orders_python)
    mypy_clean(payments, payments_python)
    return System(root, orders, payments, orders_python, payments_python)


# -- one test's world: databases, broker names, the proxy, the processes --------------------


class Provider:
    """The payment provider: captures or fails every pending payment, each exactly once.

    It lists pending payments and decides each page's payments concurrently, as a
    provider's webhooks would arrive.
    """

    def __init__(self, base: str, workers: int = 4) -> None:
        self.base, self.workers = base, workers
        self.decided: dict[str, str] = {}  # payment id -> action, once answered
        self.unanswered: set[str] = set()  # requests that got no answer
        self.errors: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._deciding = threading.Event()
        self._deciding.set()
        self._budget: int | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def pause(self) -> None:
        """Decide nothing more after the page at hand."""
        self._deciding.clear()

    def resume(self, budget: int | None = None) -> None:
        """Decide pending payments again; ``budget`` of them, then pause."""
        with self._lock:
            self._budget = budget
        self._deciding.set()

    def stop(self) -> None:
        self._stop.set()
        self._deciding.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def check(self) -> None:
        assert not self.errors, "\n".join(self.errors[:10])

    def _run(self) -> None:
        with (
            httpx.Client(base_url=self.base, timeout=30) as client,
            ThreadPoolExecutor(self.workers) as pool,
        ):
            while not self._stop.is_set():
                if not self._deciding.wait(0.05):
                    continue
                try:
                    page = client.get("/payments", params={"status": "pending", "limit": 100})
                    page.raise_for_status()
                    items = self._take(page.json()["items"])
                    list(pool.map(lambda payment: self._decide(client, payment), items))
                except httpx.TransportError:
                    items = []  # payments is down (a test killed it): try again shortly
                except Exception as exc:
                    self.errors.append(f"the provider stopped: {exc!r}")
                    return
                if not items:
                    self._stop.wait(0.05)

    def _take(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The payments to decide now: all, or what is left of the budget."""
        with self._lock:
            if self._budget is None:
                return items
            items = items[: self._budget]
            self._budget -= len(items)
            if self._budget == 0:
                self._deciding.clear()
            return items

    def _decide(self, client: httpx.Client, payment: dict[str, Any]) -> None:
        payment_id = payment["id"]
        with self._lock:
            if payment_id in self.decided:
                self.errors.append(f"payment {payment_id} is pending again after {payment}")
                return
            self.unanswered.add(payment_id)  # until the answer is in: the process may die
        action = "fail" if fails(payment["amount"]) else "capture"
        response = client.post(f"/payments/{payment_id}/{action}")
        with self._lock:
            self.unanswered.discard(payment_id)
            self.decided[payment_id] = action
        if response.status_code != 200:
            self.errors.append(f"{action} {payment_id}: {response.status_code} {response.text}")


@dataclass
class World:
    system: System
    prefix: str
    proxy: TcpProxy
    orders: Server
    payments: Server
    orders_db: str
    payments_db: str
    provider: Provider | None = None
    totals: dict[str, str] = field(default_factory=dict)  # order id -> total

    def queue(self, service: str) -> str:
        return f"{self.prefix}.{service}"

    def start(self, *, deciding: bool = True) -> None:
        """Both services, each consuming from its queue (bound) before the first order;
        the provider (paused unless ``deciding``)."""
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(Server.start, [self.payments, self.orders]))
        self.wait_for_consumer("payments")
        self.wait_for_consumer("orders")
        self.provider = Provider(self.payments.base)
        if not deciding:
            self.provider.pause()
        self.provider.start()

    def wait_for_consumer(self, service: str) -> None:
        python = self.system.payments_python
        self.wait(lambda: brokerkit.consumer_count(python, self.queue(service)) > 0, 60)

    def create_orders(self, numbers: range) -> None:
        with httpx.Client(base_url=self.orders.base, timeout=30) as client:

            def one(number: int) -> tuple[str, str]:
                total = total_of(number)
                response = client.post("/orders", json={"total": total})
                assert response.status_code == 201, response.text
                body = response.json()
                assert (body["status"], body["version"]) == ("pending", 1), body
                return str(body["id"]), total

            with ThreadPoolExecutor(4) as pool:
                self.totals.update(pool.map(one, numbers))

    def count(self, service: Server, path: str, **params: str) -> int:
        response = httpx.get(f"{service.base}{path}", params={**params, "limit": 1}, timeout=30)
        response.raise_for_status()
        return int(response.json()["total"])

    def decided_orders(self) -> int:
        return sum(self.count(self.orders, "/orders", status=s) for s in ("paid", "cancelled"))

    def settled(self) -> bool:
        """Every order decided, both outboxes empty."""
        if self.provider is not None:
            self.provider.check()
        return (
            self.count(self.orders, "/orders") == ORDERS
            and self.decided_orders() == ORDERS
            and self.gauge(self.orders, "outbox_pending_messages") == 0
            and self.gauge(self.payments, "outbox_pending_messages") == 0
        )

    def metrics(self, service: Server) -> list[str]:
        response = httpx.get(f"{service.base}/metrics", timeout=30)
        response.raise_for_status()
        return [line for line in response.text.splitlines() if not line.startswith("#")]

    def gauge(self, service: Server, name: str) -> float:
        [value] = [
            float(line.split()[-1]) for line in self.metrics(service) if line.split()[0] == name
        ]
        return value

    def commands(self, service: Server) -> dict[tuple[str, str], float]:
        """consumed_commands_total by (command, outcome), since the process started."""
        found: dict[tuple[str, str], float] = {}
        for line in self.metrics(service):
            if line.startswith("consumed_commands_total{"):
                labels = dict(
                    part.split("=", 1)
                    for part in line[line.index("{") + 1 : line.index("}")].split(",")
                )
                key = (labels["command"].strip('"'), labels["outcome"].strip('"'))
                found[key] = found.get(key, 0.0) + float(line.split()[-1])
        return found

    def sql(self, database_url: str, *queries: str) -> list[list[tuple[str, ...]]]:
        """The rows of each query, as strings (one connection, with a service's asyncpg)."""
        code = (
            "import asyncio, json, sys, asyncpg\n"
            "async def main():\n"
            "    conn = await asyncpg.connect(sys.argv[1])\n"
            "    try:\n"
            "        results = [await conn.fetch(query) for query in sys.argv[2:]]\n"
            "    finally:\n"
            "        await conn.close()\n"
            "    print(json.dumps([[[str(v) for v in row] for row in rows] for rows in results]))\n"
            "asyncio.run(main())\n"
        )
        url = database_url.replace("postgresql+asyncpg://", "postgresql://")
        python = self.system.orders_python
        output = run([str(python), "-c", code, url, *queries], cwd=python.parent).stdout
        return [[tuple(row) for row in rows] for rows in json.loads(output)]

    def logs(self) -> str:
        parts = []
        for server in (self.orders, self.payments):
            lines = (
                server.log.read_text(errors="replace").splitlines() if server.log.exists() else []
            )
            parts.append(f"--- {server.package} log (last 40 of {len(lines)} lines)")
            parts.extend(lines[-40:])
        return "\n".join(parts)

    def wait(self, condition: Callable[[], bool], seconds: float = SETTLE_SECONDS) -> float:
        """Seconds until ``condition`` held; fails with both services' logs after ``seconds``."""
        started = time.monotonic()
        while not condition():
            if time.monotonic() - started > seconds:
                raise AssertionError(f"not true within {seconds} s\n{self.logs()}")
            time.sleep(0.2)
        return time.monotonic() - started


@pytest.fixture
def world(system: System) -> Iterator[World]:
    prefix = f"msgen-wf-{uuid.uuid4().hex[:10]}"
    with ExitStack() as stack:
        orders_db = stack.enter_context(throwaway_database(system.orders_python))
        payments_db = stack.enter_context(throwaway_database(system.orders_python))
        proxy = stack.enter_context(TcpProxy("127.0.0.1", 5672))
        common = {
            "BROKER_URL": f"amqp://guest:guest@127.0.0.1:{proxy.port}/",
            "BROKER_EXCHANGE": f"{prefix}.events",
            "OTEL_TRACES_EXPORTER": "none",
        }
        # As dev up, Compose and Kubernetes set it: the events nobody consumes (order_paid,
        # payment_created, ...) are published without waiting for a queue.
        model = load_workspace(system.root / "msgen.yaml").model
        orders = Server(
            system.orders,
            system.orders_python,
            "orders",
            {
                **common,
                **unconsumed_env(model, "orders"),
                "DATABASE_URL": orders_db,
                "BROKER_QUEUE": f"{prefix}.orders",
            },
            port=free_port(),  # a restart comes back where clients expect it
        )
        payments = Server(
            system.payments,
            system.payments_python,
            "payments",
            {
                **common,
                **unconsumed_env(model, "payments"),
                "DATABASE_URL": payments_db,
                "BROKER_QUEUE": f"{prefix}.payments",
            },
            port=free_port(),
        )
        world = World(system, prefix, proxy, orders, payments, orders_db, payments_db)
        try:
            yield world
        finally:
            if world.provider is not None:
                world.provider.stop()
            orders.stop()
            payments.stop()
            queues = [world.queue(s) for s in ("orders", "payments")]
            brokerkit.delete(
                system.payments_python,
                queues=[*queues, *(f"{q}.dlq" for q in queues)],
                exchanges=[f"{prefix}.events", *(f"{q}.dlx" for q in queues)],
            )


@pytest.fixture
def figures(capsys: pytest.CaptureFixture[str]) -> Report:
    def report(text: str) -> None:
        with capsys.disabled():
            print(f"\n[figures] {text.strip()}")

    return report


_DEPTHS = """
import asyncio, sys, aio_pika
async def main():
    conn = await aio_pika.connect(sys.argv[1])
    async with conn:
        channel = await conn.channel()
        for name in sys.argv[2:]:
            queue = await channel.declare_queue(name, passive=True)
            print(queue.declaration_result.message_count)
asyncio.run(main())
"""


def queue_depths(python: Path, *queues: str) -> list[int]:
    """Messages ready in each queue (not counting those delivered and unacknowledged)."""
    proc = run([str(python), "-c", _DEPTHS, BROKER_URL, *queues], cwd=python.parent)
    return [int(line) for line in proc.stdout.split()]


# -- the checks ------------------------------------------------------------------------------


def fetch_all(base: str, path: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    with httpx.Client(base_url=base, timeout=30) as client:
        while True:
            page = client.get(path, params={"limit": 100, "offset": len(items)})
            page.raise_for_status()
            body = page.json()
            items += body["items"]
            if len(items) >= body["total"] or not body["items"]:
                return items


def assert_exactly_once(world: World) -> None:
    """Every order paid or cancelled as its amount says, by exactly one command and payment."""
    assert world.provider is not None
    world.provider.check()
    assert len(world.totals) == ORDERS

    orders = {order["id"]: order for order in fetch_all(world.orders.base, "/orders")}
    assert set(orders) == set(world.totals)
    wrong = {
        order_id: (order["status"], order["version"], world.totals[order_id])
        for order_id, order in orders.items()
        if (order["status"], order["version"])
        != ("cancelled" if fails(world.totals[order_id]) else "paid", 2)
    }
    assert not wrong, f"{len(wrong)} orders not decided exactly once: {list(wrong.items())[:5]}"
    assert Counter(o["status"] for o in orders.values())["cancelled"] == EXPECTED_FAILURES

    payments = fetch_all(world.payments.base, "/payments")
    per_order = Counter(payment["order_id"] for payment in payments)
    assert len(payments) == ORDERS, f"{len(payments)} payments; twice: {per_order.most_common(3)}"
    assert set(per_order) == set(world.totals) and max(per_order.values()) == 1
    for payment in payments:
        expected = "failed" if fails(world.totals[payment["order_id"]]) else "captured"
        assert Decimal(payment["amount"]) == Decimal(world.totals[payment["order_id"]])
        assert (payment["status"], payment["version"]) == (expected, 2), payment
    assert set(world.provider.decided) | world.provider.unanswered == {p["id"] for p in payments}

    # Each service processed each message it consumes once: 200 order_created in payments,
    # 200 payment_captured/failed in orders; every outbox row was confirmed by the broker.
    for database, published in (
        (world.orders_db, {"orders.order_created", "orders.order_paid", "orders.order_cancelled"}),
        (
            world.payments_db,
            {"payments.payment_created", "payments.payment_captured", "payments.payment_failed"},
        ),
    ):
        [[(processed, distinct)], outbox] = world.sql(
            database,
            "SELECT count(*), count(DISTINCT message_id) FROM processed_messages",
            "SELECT event_type, count(*) FILTER (WHERE sent_at IS NOT NULL),"
            " count(*) FILTER (WHERE sent_at IS NULL) FROM outbox GROUP BY 1",
        )
        assert (int(processed), int(distinct)) == (ORDERS, ORDERS)
        sent = {event_type: int(n) for event_type, n, _ in outbox}
        assert set(sent) == published, outbox
        assert sum(sent.values()) == 2 * ORDERS, outbox
        assert all(unsent == "0" for _, _, unsent in outbox), outbox

    dead_letter_queues = [f"{world.queue(service)}.dlq" for service in ("orders", "payments")]
    dead = queue_depths(world.system.payments_python, *dead_letter_queues)
    assert dead == [0, 0], f"dead letters: {dict(zip(dead_letter_queues, dead, strict=True))}"


# -- the tests ---------------------------------------------------------------------------------


def test_200_orders_are_paid_or_cancelled_exactly_once(world: World, figures: Report) -> None:
    world.start()
    started = time.monotonic()
    world.create_orders(range(ORDERS))
    posted = time.monotonic() - started
    took = world.wait(world.settled)
    assert_exactly_once(world)
    orders_commands = world.commands(world.orders)
    payments_commands = world.commands(world.payments)
    figures(
        f"\nworkflow: {ORDERS} orders posted in {posted:.1f} s, all decided "
        f"{posted + took:.1f} s after the first; orders ran {orders_commands}; "
        f"payments ran {payments_commands}"
    )
    assert orders_commands == {
        ("Order.pay", "applied"): ORDERS - EXPECTED_FAILURES,
        ("Order.cancel", "applied"): EXPECTED_FAILURES,
    }
    assert payments_commands == {("Payment.create_for_order", "applied"): ORDERS}


@pytest.mark.parametrize("victim", ["orders", "payments"])
def test_a_killed_process_loses_nothing_and_applies_nothing_twice(
    world: World, figures: Report, victim: str
) -> None:
    """SIGKILL midway: the victim's consumer, its outbox relay and its HTTP API die at once.

    orders dies a quarter of the way through applying 100 payment outcomes; payments while
    it creates payments from a burst of new orders. Messages for the victim pile up in its
    queue meanwhile.
    """
    half = ORDERS // 2
    server = world.orders if victim == "orders" else world.payments
    world.start(deciding=victim == "payments")
    assert world.provider is not None
    provider = world.provider
    if victim == "orders":
        world.create_orders(range(half))
        world.wait(lambda: world.count(world.payments, "/payments") == half, 60)
        provider.resume(budget=half // 2)
        world.wait(lambda: world.decided_orders() >= half // 4, 60)
        server.kill()
        # The other outcomes are decided and published while orders is dead.
        provider.resume()
        world.wait(lambda: len(provider.decided) == half, 60)
        world.wait(lambda: world.gauge(world.payments, "outbox_pending_messages") == 0, 60)
    else:
        with ThreadPoolExecutor(1) as background:
            creating = background.submit(world.create_orders, range(half))
            world.wait(lambda: world.count(world.payments, "/payments") >= half // 4, 60)
            server.kill()
            creating.result()
        world.create_orders(range(half, ORDERS))  # every order_created waits for payments
    database = world.orders_db if victim == "orders" else world.payments_db
    [[(unsent,)]] = world.sql(database, "SELECT count(*) FROM outbox WHERE sent_at IS NULL")
    [waiting] = queue_depths(world.system.payments_python, world.queue(victim))
    server.start()
    if victim == "orders":
        world.create_orders(range(half, ORDERS))
    took = world.wait(world.settled)
    figures(
        f"\n{victim} SIGKILLed midway with {unsent} events unsent in its outbox and "
        f"{waiting} messages waiting in its queue at restart; all {ORDERS} decided "
        f"{took:.1f} s after the last order was posted"
    )
    assert waiting > 0, "messages flowed to the victim while it was dead"
    assert_exactly_once(world)


def test_a_broker_outage_delays_the_workflow_and_loses_nothing(
    world: World, figures: Report
) -> None:
    """Both services' broker connections drop mid-flow and are refused for three seconds.

    The cut comes while orders are being created (the orders relay publishing, payments
    consuming); during it the provider decides the payments made so far and more orders
    come in, so both outboxes hold events that must wait for the broker.
    """
    first, during = 120, 40
    world.start(deciding=False)
    assert world.provider is not None
    with ThreadPoolExecutor(1) as background:
        creating = background.submit(world.create_orders, range(first))
        world.wait(lambda: world.count(world.payments, "/payments") >= 40, 60)
        cut_at = time.monotonic()
        dropped = world.proxy.cut()
        accepted = world.proxy.accepted
        world.provider.resume()
        creating.result()
    world.create_orders(range(first, first + during))
    time.sleep(max(0.0, 3 - (time.monotonic() - cut_at)))
    backlog = (
        world.gauge(world.orders, "outbox_pending_messages"),
        world.gauge(world.payments, "outbox_pending_messages"),
    )
    world.proxy.restore()
    outage = time.monotonic() - cut_at
    world.create_orders(range(first + during, ORDERS))
    took = world.wait(world.settled)
    figures(
        f"\nbroker outage: {dropped} connections cut for {outage:.1f} s; outbox backlog "
        f"orders {backlog[0]:.0f}, payments {backlog[1]:.0f}; "
        f"{world.proxy.accepted - accepted} reconnections; all {ORDERS} decided {took:.1f} s "
        f"after the last order was posted"
    )
    assert dropped >= 2, "both services connect to RabbitMQ through the proxy"
    assert backlog[0] > 0 and backlog[1] > 0, "both relays had events to publish after it"
    assert world.proxy.accepted > accepted, "the services reconnected"
    assert_exactly_once(world)


@pytest.mark.parametrize("service", ["orders", "payments"])
def test_each_service_passes_its_own_tests_on_postgresql_and_rabbitmq(
    system: System, service: str
) -> None:
    """The generated commands and workflows tests, and every other, on the real services."""
    directory: Path = getattr(system, service)
    python: Path = getattr(system, f"{service}_python")
    ruff_clean(directory)
    assert (directory / "tests" / "test_commands.py").is_file()
    assert (directory / "tests" / "test_workflows.py").is_file()
    with throwaway_database(python) as url:
        output = run_own_tests(directory, python, database_url=url, broker_url=BROKER_URL)
    assert " passed" in output
    assert " failed" not in output
