"""Two generated services on the real RabbitMQ and PostgreSQL: nothing lost, nothing twice.

``orders`` (event-sourced) publishes its events through the transactional outbox;
``billing`` consumes ``orders.order_created`` and ``orders.order_updated``. Each test gets
its own databases and its own exchange and queue names (a per-run prefix) and deletes them
afterwards. The fault tests print their figures.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests import brokerkit
from tests.clikit import msgen
from tests.conftest import require_service
from tests.servicekit import (
    BROKER_URL,
    Server,
    install,
    render,
    run,
    throwaway_database,
)
from tests.tcpproxy import TcpProxy

pytestmark = [pytest.mark.slow, pytest.mark.services]

EVENT = "orders.order_created"
UPDATED = "orders.order_updated"
Report = Callable[[str], None]


@pytest.fixture
def figures(capsys: pytest.CaptureFixture[str]) -> Report:
    """Print a test's figures to the terminal, also when pytest captures output."""

    def report(text: str) -> None:
        with capsys.disabled():
            print(f"\n[figures] {text.strip()}")

    return report


@dataclass
class Shop:
    root: Path
    orders: Path
    billing: Path
    orders_python: Path
    billing_python: Path


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Shop:
    require_service("PostgreSQL", "127.0.0.1", 5432)
    require_service("RabbitMQ", "127.0.0.1", 5672)
    root = tmp_path_factory.mktemp("shop")
    # Event-sourced: its appended events go out through the outbox too.
    orders = render(root, "orders", db="postgres", event_sourcing=True)
    billing = render(root, "billing", db="postgres", consumes=(EVENT, UPDATED))
    return Shop(root, orders, billing, install(orders), install(billing))


@dataclass
class Run:
    """One test's world: both services, their databases, their broker names."""

    name: str
    orders: Server
    billing: Server
    orders_db: str
    billing_db: str
    shop: Shop

    @property
    def queue(self) -> str:
        return f"{self.name}.billing"

    def sql(self, database_url: str, query: str) -> list[str]:
        """The first row of ``query``, as strings."""
        return self.rows(database_url, query)[0]

    def execute(self, database_url: str, statement: str) -> None:
        self._asyncpg(database_url, statement, "await conn.execute(sys.argv[2])\n        rows = []")

    def rows(self, database_url: str, query: str) -> list[list[str]]:
        """Every row of ``query``, as strings."""
        return self._asyncpg(database_url, query, "rows = await conn.fetch(sys.argv[2])")

    def _asyncpg(self, database_url: str, query: str, call: str) -> list[list[str]]:
        code = (
            "import asyncio, sys, asyncpg\n"
            "async def main():\n"
            "    conn = await asyncpg.connect(sys.argv[1])\n"
            "    try:\n"
            f"        {call}\n"
            "    finally:\n"
            "        await conn.close()\n"
            "    for row in rows:\n"
            "        print('\\t'.join(str(v) for v in row))\n"
            "asyncio.run(main())\n"
        )
        url = database_url.replace("postgresql+asyncpg://", "postgresql://")
        python = self.shop.orders_python
        output = run([str(python), "-c", code, url, query], cwd=python.parent).stdout
        return [line.split("\t") for line in output.splitlines()]

    def applied(self) -> tuple[int, int]:
        """Billing's effects: rows, distinct orders."""
        row = self.sql(
            self.billing_db, "SELECT count(*), count(DISTINCT aggregate_id) FROM received_events"
        )
        return int(row[0]), int(row[1])

    def pending(self) -> int:
        return int(self.sql(self.orders_db, "SELECT count(*) FROM outbox WHERE sent_at IS NULL")[0])

    def workspace(self) -> Path:
        """A workspace describing this run's system, for msgen's own commands to operate it:
        its name gives the exchange and queue names the services were started with."""
        root = self.shop.root / f"workspace-{self.name}"
        root.mkdir(exist_ok=True)
        (root / "msgen.yaml").write_text(
            f"schema: 1\nname: {self.name}\nservices:\n"
            f"  orders: {{path: orders, port: 8001, broker: rabbitmq, "
            f"publishes: [{EVENT}, {UPDATED}]}}\n"
            f"  billing: {{path: billing, port: 8002, broker: rabbitmq, "
            f"consumes: [{EVENT}, {UPDATED}]}}\n"
        )
        return root

    def wait_for_consumer(self) -> None:
        wait_until(lambda: brokerkit.consumer_count(self.shop.billing_python, self.queue) > 0)


def wait_until(condition: Callable[[], bool], seconds: float = 180, step: float = 0.2) -> float:
    """Seconds until ``condition`` held; fails after ``seconds``."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < seconds, f"not true within {seconds} s"
        time.sleep(step)
    return time.monotonic() - started


@pytest.fixture
def world(shop: Shop) -> Iterator[Run]:
    name = f"msgen-test-{uuid.uuid4().hex[:10]}"
    with ExitStack() as stack:
        orders_db = stack.enter_context(throwaway_database(shop.orders_python))
        billing_db = stack.enter_context(throwaway_database(shop.orders_python))
        common = {"BROKER_EXCHANGE": f"{name}.events"}
        orders = Server(
            shop.orders,
            shop.orders_python,
            "orders",
            {
                **common,
                "DATABASE_URL": orders_db,
                "BROKER_URL": f"{BROKER_URL}?name={name}-orders",
                "OUTBOX_UNROUTABLE_RETRY": "0.5",
            },
        )
        billing = Server(
            shop.billing,
            shop.billing_python,
            "billing",
            {
                **common,
                "DATABASE_URL": billing_db,
                "BROKER_URL": f"{BROKER_URL}?name={name}-billing",
                "BROKER_QUEUE": f"{name}.billing",
                "CONSUMER_MAX_ATTEMPTS": "3",
                "CONSUMER_RETRY_DELAY": "0.1",
            },
        )
        world = Run(name, orders, billing, orders_db, billing_db, shop)
        try:
            yield world
        finally:
            orders.stop()
            billing.stop()
            brokerkit.delete(
                shop.billing_python,
                queues=[world.queue, f"{world.queue}.dlq"],
                exchanges=[f"{name}.events", f"{world.queue}.dlx"],
            )


def create_orders(base: str, count: int, *, workers: int = 4, start: int = 0) -> list[str]:
    with httpx.Client(base_url=base, timeout=30) as client:

        def one(number: int) -> str:
            response = client.post("/orders", json={"name": f"order {number}"})
            assert response.status_code == 201, response.text
            return str(response.json()["id"])

        with ThreadPoolExecutor(workers) as pool:
            return list(pool.map(one, range(start, start + count)))


def test_one_order_makes_exactly_one_billing_effect(world: Run, figures: Report) -> None:
    world.billing.start()
    world.wait_for_consumer()
    world.orders.start()

    started = time.monotonic()
    [order_id] = create_orders(world.orders.base, 1)
    url = f"{world.billing.base}/received-events"
    wait_until(lambda: httpx.get(url, timeout=10).json()["total"] >= 1, step=0.02)
    latency = time.monotonic() - started

    wait_until(lambda: world.pending() == 0)
    body = httpx.get(url, params={"aggregate_id": order_id}, timeout=10).json()
    assert body["total"] == 1
    [effect] = body["items"]
    assert effect["event_type"] == EVENT
    assert effect["payload"]["id"] == order_id
    assert effect["payload"]["name"] == "order 0"
    assert httpx.get(url, timeout=10).json()["total"] == 1
    figures(f"\norders POST -> billing effect: {latency * 1000:.0f} ms; exactly one effect")


def test_orders_survive_a_broker_connection_cut(world: Run, figures: Report) -> None:
    total, cut_after = 500, 150
    world.billing.start()
    world.wait_for_consumer()
    world.orders.start()
    ctl = brokerkit.rabbitmqctl()
    started = time.monotonic()
    closed = 0
    if ctl is not None:
        posted = 0
        lock = threading.Lock()
        cut_done = threading.Event()

        def cut() -> None:
            nonlocal closed
            closed = brokerkit.close_connections(ctl, world.name)
            cut_done.set()

        def one(client: httpx.Client, number: int) -> None:
            nonlocal posted
            response = client.post("/orders", json={"name": f"order {number}"})
            assert response.status_code == 201, response.text
            with lock:
                posted += 1
                if posted == cut_after:
                    threading.Thread(target=cut).start()

        with (
            httpx.Client(base_url=world.orders.base, timeout=30) as client,
            ThreadPoolExecutor(4) as pool,
        ):
            list(pool.map(lambda number: one(client, number), range(total)))
        assert cut_done.wait(120)
        how = f"rabbitmqctl closed {closed} connections after {cut_after} orders"
    else:
        create_orders(world.orders.base, cut_after)
        world.orders.stop()
        world.orders.start()
        create_orders(world.orders.base, total - cut_after, start=cut_after)
        how = f"orders restarted after {cut_after} orders (rabbitmqctl unavailable)"
    posted_at = time.monotonic() - started
    pending_after_posting = world.pending()

    wait_until(lambda: world.applied()[0] >= total)
    delivered_at = time.monotonic() - started
    wait_until(lambda: world.pending() == 0)
    time.sleep(1)  # any duplicate delivery would land now
    rows, distinct = world.applied()
    figures(
        f"\nbroker cut: {how}; {total} orders posted in {posted_at:.1f} s, "
        f"{pending_after_posting} still in the outbox then; all {rows} applied after "
        f"{delivered_at:.1f} s; distinct orders {distinct}, duplicates {rows - distinct}"
    )
    if ctl is not None:
        assert closed >= 1
    assert (rows, distinct) == (total, total)


def test_a_killed_consumer_loses_nothing_and_applies_nothing_twice(
    world: Run, figures: Report
) -> None:
    total = 300
    world.billing.start()
    world.wait_for_consumer()
    world.billing.stop()  # the queue is durable: events wait in it
    world.orders.start()
    create_orders(world.orders.base, total)
    wait_until(lambda: world.pending() == 0)

    world.billing.start()
    wait_until(lambda: world.applied()[0] >= total // 5, step=0.05)
    world.billing.kill()
    at_kill = world.applied()[0]
    world.billing.start()
    took = wait_until(lambda: world.applied()[0] >= total)
    time.sleep(1)
    rows, distinct = world.applied()
    processed = int(world.sql(world.billing_db, "SELECT count(*) FROM processed_messages")[0])
    figures(
        f"\nconsumer crash: SIGKILL after {at_kill}/{total} applied; after restart all "
        f"{rows} applied in {took:.1f} s; distinct {distinct}, processed ids {processed}, "
        f"duplicates {rows - distinct}"
    )
    assert 0 < at_kill < total
    assert (rows, distinct, processed) == (total, total, total)


def test_poison_messages_are_dead_lettered_at_once_and_delay_nothing(
    world: Run, figures: Report
) -> None:
    """40 messages that cannot parse among 20 valid ones: the valid ones are applied within
    a second of their creation, the poison ones are in the DLQ after one attempt each."""
    world.billing.start()
    world.wait_for_consumer()
    world.orders.start()
    poison_ids = [f"poison-{uuid.uuid4().hex[:8]}" for _ in range(40)]
    for poison_id in poison_ids:
        brokerkit.publish_raw(
            world.shop.billing_python,
            exchange=f"{world.name}.events",
            routing_key=EVENT,
            body="this is not JSON",
            message_id=poison_id,
            headers={"event-type": EVENT},
        )
    create_orders(world.orders.base, 20)
    created = time.monotonic()
    wait_until(lambda: world.applied()[0] >= 20, step=0.05)
    delay = time.monotonic() - created

    dead: list[dict[str, object]] = []
    dlq = f"{world.queue}.dlq"
    wait_until(
        lambda: (
            bool(dead.extend(brokerkit.drain(world.shop.billing_python, dlq))) or len(dead) >= 40
        )
    )
    figures(
        f"\n40 poison messages: all dead-lettered after 1 attempt; the 20 orders created "
        f"after them applied {delay:.2f} s after the last was created"
    )
    assert delay < 1.0
    assert sorted(str(message["message_id"]) for message in dead) == sorted(poison_ids)
    for message in dead:
        headers = message["headers"]
        assert isinstance(headers, dict)
        assert message["body"] == "this is not JSON"
        assert headers["x-failure-attempts"] == 1
        assert headers["x-failure-kind"] == "poison"
        assert str(headers["x-failure-reason"]).startswith("PoisonMessageError: ")
        assert headers["x-original-routing-key"] == EVENT
    assert world.applied() == (20, 20)


def test_the_consumers_database_down_for_ten_seconds_loses_nothing(
    world: Run, figures: Report
) -> None:
    """Billing's PostgreSQL refuses connections for 10 s while orders keep coming: every
    order is applied once when it is back, and nothing is dead-lettered."""
    with TcpProxy("127.0.0.1", 5432) as proxy:
        world.billing.env["DATABASE_URL"] = world.billing_db.replace(
            "@127.0.0.1:5432/", f"@127.0.0.1:{proxy.port}/"
        )
        world.billing.start()
        world.wait_for_consumer()
        world.orders.start()
        create_orders(world.orders.base, 20)
        wait_until(lambda: world.applied()[0] >= 20)
        proxy.cut()
        down = time.monotonic()
        create_orders(world.orders.base, 40, start=20)
        wait_until(lambda: world.pending() == 0)  # published while billing cannot apply
        time.sleep(max(0.0, 10 - (time.monotonic() - down)))
        proxy.restore()
        back = time.monotonic()
        wait_until(lambda: world.applied()[0] >= 60, step=0.1)
        caught_up = time.monotonic() - back
    dead = brokerkit.drain(world.shop.billing_python, f"{world.queue}.dlq")
    figures(
        f"\nbilling's database down 10 s with 40 orders in flight: all 60 applied "
        f"{caught_up:.1f} s after it came back; dead-lettered: {len(dead)}"
    )
    assert world.applied() == (60, 60)
    assert dead == []


def test_concurrent_appends_to_one_aggregate_one_wins_the_other_gets_409(
    world: Run, figures: Report
) -> None:
    world.orders.start()
    [order_id] = create_orders(world.orders.base, 1)
    item = f"/orders/{order_id}"
    barrier = threading.Barrier(2)

    with httpx.Client(base_url=world.orders.base, timeout=30) as client:

        def patch(name: str, headers: dict[str, str]) -> int:
            barrier.wait()
            return client.patch(item, json={"name": name}, headers=headers).status_code

        # Both expect version 1: exactly one may append version 2.
        with ThreadPoolExecutor(2) as pool:
            expected = sorted(pool.map(lambda n: patch(n, {"If-Match": '"1"'}), ["a", "b"]))
        # No expectation: both load the same version and race for the unique (id, version).
        racing: list[int] = []
        for round_ in range(10):
            with ThreadPoolExecutor(2) as pool:
                racing += pool.map(patch, [f"a{round_}", f"b{round_}"], [{}, {}])
        events = client.get(f"{item}/events").json()
        etag = client.get(item).headers["etag"]

    versions = [event["version"] for event in events]
    won = racing.count(200)
    figures(
        f"\nconcurrent appends: If-Match pair -> {expected}; 10 racing pairs -> "
        f"{won} appended, {racing.count(409)} got 409; stream versions 1..{versions[-1]}, "
        f"no gap or duplicate: {versions == list(range(1, len(versions) + 1))}"
    )
    assert expected == [200, 409]
    assert set(racing) <= {200, 409}
    assert versions == list(range(1, 2 + 1 + won))
    assert etag == f'"{versions[-1]}"'
    assert world.sql(world.orders_db, "SELECT count(*) FROM outbox")[0] == str(len(versions))


def test_events_published_before_the_consumer_exists_wait_in_the_outbox(
    world: Run, figures: Report
) -> None:
    """Orders runs alone: its 20 events find no queue, come back and stay in the outbox
    (unsent, not lost); once billing has declared its queue they flow, with 20 more."""
    world.orders.start()
    create_orders(world.orders.base, 20)
    wait_until(lambda: "no queue is bound to orders.order_created" in world.orders.log.read_text())
    time.sleep(1)
    held = world.pending()
    world.billing.start()
    world.wait_for_consumer()
    started = time.monotonic()
    create_orders(world.orders.base, 20, start=20)
    wait_until(lambda: world.applied()[0] >= 40, step=0.1)
    took = time.monotonic() - started
    wait_until(lambda: world.pending() == 0)
    figures(
        f"\nconsumer started late: {held} of the first 20 events held in the outbox while no "
        f"queue existed; all 40 applied {took:.1f} s after billing started"
    )
    assert held == 20
    assert world.applied() == (40, 40)


def test_the_topology_declared_ahead_takes_events_before_the_consumer_ever_ran(
    world: Run, figures: Report, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``msgen broker declare`` (as ``dev up`` runs it) before any service: orders' first
    20 events go straight into billing's queue (none held back), and billing, started
    later, accepts the queue as its own and applies them."""
    monkeypatch.chdir(world.workspace())
    code, _, err = msgen("broker", "declare", "--broker", BROKER_URL)
    assert code == 0, err
    world.orders.start()
    create_orders(world.orders.base, 20)
    wait_until(lambda: world.pending() == 0)
    queued = brokerkit.queue_depth(world.shop.billing_python, world.queue)
    world.billing.start()
    wait_until(lambda: world.applied()[0] >= 20, step=0.1)
    log = world.orders.log.read_text()
    figures(f"\ntopology declared ahead: {queued} of 20 events queued before billing first ran")
    assert queued == 20
    assert "no queue is bound" not in log
    assert "refused this service's topology" not in world.billing.log.read_text()
    assert world.applied() == (20, 20)


def test_a_blackholed_broker_link_holds_no_transaction_and_loses_nothing(
    world: Run, figures: Report
) -> None:
    """Orders' link to RabbitMQ forwards nothing for 12 s (longer than its 2 s publish
    timeout): the relay logs it, no orders transaction stays open, and every event is
    delivered once the link is back."""
    with TcpProxy("127.0.0.1", 5672) as proxy:
        world.orders.env["BROKER_URL"] = (
            f"amqp://guest:guest@127.0.0.1:{proxy.port}/?name={world.name}-orders"
        )
        world.orders.env["BROKER_PUBLISH_TIMEOUT"] = "2"
        world.billing.start()
        world.wait_for_consumer()
        world.orders.start()
        create_orders(world.orders.base, 10)
        wait_until(lambda: world.applied()[0] >= 10)
        proxy.blackhole()
        down = time.monotonic()
        create_orders(world.orders.base, 20, start=10)
        open_transactions = []
        while time.monotonic() - down < 12:
            [count] = world.sql(
                world.orders_db,
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND xact_start < now() - interval '1 second'",
            )
            open_transactions.append(int(count))
            time.sleep(0.5)
        pending_in_outage = world.pending()
        proxy.restore()
        back = time.monotonic()
        wait_until(lambda: world.applied()[0] >= 30, step=0.1)
        caught_up = time.monotonic() - back
    log = world.orders.log.read_text()
    figures(
        f"\nbroker link blackholed 12 s: {pending_in_outage} events waited in the outbox, "
        f"transactions open over 1 s at {len(open_transactions)} samples: "
        f"{max(open_transactions)} at most; all 30 applied {caught_up:.1f} s after it came back"
    )
    assert "the broker confirmed nothing within 2.0s" in log
    assert max(open_transactions) == 0
    assert pending_in_outage == 20
    assert world.applied() == (30, 30)


def test_the_events_of_each_order_are_applied_in_the_order_they_happened(
    world: Run, figures: Report
) -> None:
    """100 orders, each created and changed 4 times in quick succession, 8 orders at a
    time: billing applies every order's 5 events in version order."""
    world.billing.start()
    world.wait_for_consumer()
    world.orders.start()
    started = time.monotonic()
    with httpx.Client(base_url=world.orders.base, timeout=30) as client:

        def lifecycle(number: int) -> None:
            response = client.post("/orders", json={"name": f"order {number}"})
            assert response.status_code == 201, response.text
            item = f"/orders/{response.json()['id']}"
            for change in range(1, 5):
                response = client.patch(item, json={"name": f"order {number} v{change}"})
                assert response.status_code == 200, response.text

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lifecycle, range(100)))
    wait_until(lambda: world.applied()[0] >= 500, step=0.1)
    took = time.monotonic() - started
    # In the order billing's transactions wrote them: transaction ids grow as transactions
    # start, and an entity's next event is applied only after its previous one committed.
    # (Not received_at: the wall clock may be stepped back meanwhile.)
    applied = world.rows(
        world.billing_db,
        "SELECT aggregate_id, payload->>'version', received_at FROM received_events "
        "ORDER BY aggregate_id, xmin::text::bigint",
    )
    versions: dict[str, list[int]] = {}
    clock: dict[str, list[str]] = {}
    for aggregate_id, version, received_at in applied:
        versions.setdefault(aggregate_id, []).append(int(version))
        clock.setdefault(aggregate_id, []).append(received_at)
    out_of_order = {key: seen for key, seen in versions.items() if seen != sorted(seen)}
    clock_stepped = [key for key, times in clock.items() if times != sorted(times)]
    figures(
        f"\nper-entity order: 100 orders x 5 events applied in {took:.1f} s "
        f"({500 / took:.0f} events/s end to end); entities applied out of order: "
        f"{len(out_of_order)}; received_at going backwards in: {len(clock_stepped)}"
    )
    assert len(applied) == 500
    assert out_of_order == {}
    assert all(len(seen) == 5 for seen in versions.values())


def test_dead_letters_redriven_after_the_cause_is_fixed_are_applied_once(
    world: Run, figures: Report, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Billing's table refuses rows (a CHECK constraint): 10 orders fail 3 times each and
    are dead-lettered. The constraint dropped, ``msgen dlq redrive billing --all`` sends
    them back: each applied once."""
    world.billing.start()
    world.wait_for_consumer()
    world.orders.start()
    refuse = "ALTER TABLE received_events ADD CONSTRAINT refuse_all CHECK (false) NOT VALID"
    world.execute(world.billing_db, refuse)
    create_orders(world.orders.base, 10)
    dlq = f"{world.queue}.dlq"
    wait_until(lambda: brokerkit.queue_depth(world.shop.billing_python, dlq) >= 10)
    assert world.applied() == (0, 0)
    world.execute(world.billing_db, "ALTER TABLE received_events DROP CONSTRAINT refuse_all")

    monkeypatch.chdir(world.workspace())
    code, out, err = msgen("dlq", "redrive", "billing", "--all", "--broker", BROKER_URL)
    assert code == 0, err
    assert f"Redrove 10 of 10 from {dlq}" in out
    wait_until(lambda: world.applied()[0] >= 10)
    time.sleep(1)  # a second effect of any message would land now
    figures("\nredrive: 10 dead letters redriven after the fix, 10 applied, 0 twice")
    assert world.applied() == (10, 10)
    assert brokerkit.queue_depth(world.shop.billing_python, dlq) == 0
