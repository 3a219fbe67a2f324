"""Hostile input: every file and argument a person can get wrong is one line, never a traceback.

Two halves. First a table of concrete bad inputs (each reproduced by a tester, issue 15),
with the exit code and the line msgen must answer. Then property-based tests (hypothesis):
arbitrary bytes, arbitrary YAML documents, workspace-shaped documents with wrong types and
constructed bombs (aliases, deep nesting, huge values, non-UTF-8 bytes) as ``msgen.yaml`` or
``.copier-answers.yml``, fed to every command that reads them, in process through typer's
CliRunner: never a traceback or "internal error", exit 2 whenever the file is refused (0 or a
one-line msgen error otherwise), within a time bound; the bombs also within a memory bound,
measured with tracemalloc in process and enforced with RLIMIT_AS in a subprocess.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from msgen.cli import app
from msgen.errors import MsgenError, UpdateError, UsageError
from msgen.inputs import MAX_BYTES, MAX_DEPTH, MAX_NODES
from msgen.template_versions import extract_template
from msgen.update import ANSWERS_MAX_BYTES, read_answers
from msgen.workspace import load_workspace
from tests.consul_double import ConsulDouble

runner = CliRunner()

WORKSPACE = """\
schema: 1
name: shop
services:
  orders:
    path: orders
    port: 8001
    broker: rabbitmq
    publishes: [orders.order_created]
  billing:
    path: billing
    port: 8002
    broker: rabbitmq
    consumes: [orders.order_created]
    upstreams: [orders]
"""
ANSWERS = "_commit: 0.0.1\n_src_path: x\nmsgen_version: 0.0.0+000000000000\nport: 8001\n"


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    """A billion laughs: ``width ** levels`` strings from a few hundred bytes."""
    lines = [f"a0: &a0 [{', '.join(['lol'] * width)}]"]
    for level in range(1, levels):
        refs = ", ".join([f"*a{level - 1}"] * width)
        lines.append(f"a{level}: &a{level} [{refs}]")
    return "\n".join(lines) + "\nschema: 1\nname: shop\n"


def deep(levels: int, *, flow: bool = True) -> str:
    if flow:
        return "schema: 1\nname: shop\nservices: " + "[" * levels + "]" * levels + "\n"
    body = "".join(f"{'  ' * i}k{i}:\n" for i in range(levels)) + "  " * levels + "x: 1\n"
    return "schema: 1\nname: shop\nservices:\n" + "".join(
        "  " + line for line in body.splitlines(True)
    )


def run(root: Path, argv: list[str], env: dict[str, str] | None = None) -> Result:
    with contextlib.chdir(root):
        return runner.invoke(app, argv, env=env, terminal_width=200)


def assert_one_line(result: Result, code: int, text: str) -> None:
    """The exit code, the text on the first stderr line, no traceback, no internal error."""
    assert result.exit_code == code, (result.exit_code, result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    stderr = result.stderr
    assert "Traceback" not in result.output + stderr
    assert "internal error" not in stderr
    lines = stderr.strip().splitlines()
    assert lines, result.output
    assert lines[0].startswith("error: "), lines
    assert text in lines[0], lines[0]
    assert len(lines) <= 2, lines  # the error, then at most a hint
    assert all(len(line) < 600 for line in lines), "a value was printed whole"


# --- concrete bad inputs: msgen.yaml ----------------------------------------------------


def _replace(old: str, new: str) -> bytes:
    return WORKSPACE.replace(old, new, 1).encode()


WORKSPACE_CASES: list[tuple[str, bytes, str]] = [
    ("non-utf8", b"schema: 1\nname: \xff\xfe\n", "msgen.yaml:2: not UTF-8 text (byte 0xff"),
    ("latin1-name", "schema: 1\nname: café\n".encode("latin-1"), "not UTF-8 text"),
    ("alias-bomb", alias_bomb().encode(), "YAML aliases (*name) are not allowed"),
    ("one-alias", b"x: &p 8001\nschema: 1\nname: *p\n", "YAML aliases"),
    ("merge-key", _replace("  billing:\n", "  billing: &b\n") + b"  pay:\n    <<: *b\n", "aliases"),
    ("deep-flow-5000", deep(5000).encode(), f"nested deeper than {MAX_DEPTH} levels"),
    ("deep-block-200", deep(200, flow=False).encode(), "nested deeper than"),
    ("deep-51", deep(MAX_DEPTH + 1).encode(), "nested deeper than"),
    ("too-big", b"schema: 1\nname: shop\n#" + b"x" * MAX_BYTES, "larger than 512 KiB"),
    ("huge-name", b"schema: 1\nname: " + b"x" * 400_000 + b"\n", "characters long (at most 40)"),
    ("huge-db", _replace("port: 8001", "port: 8001\n    db: " + "y" * 400_000), "db: Input"),
    ("huge-key", b"schema: 1\nname: shop\n" + b"k" * 1000 + b": 1\n", "unknown key"),
    ("many-values", b"schema: 1\nname: shop\nx: [" + b"1," * (MAX_NODES + 1) + b"]\n", "more than"),
    ("empty", b"", "the file is empty"),
    ("comment-only", b"# nothing\n", "the file is empty"),
    ("top-level-list", b"- a\n- b\n", "top level must be a mapping"),
    ("top-level-scalar", b"shop\n", "top level must be a mapping"),
    ("unclosed-flow", b"schema: 1\nname: [shop\n", "not valid YAML"),
    ("tab-indent", b"schema: 1\nname: shop\nservices:\n\torders: {}\n", "not valid YAML"),
    ("nul-byte", b"schema: 1\nname: sh\x00op\n", "not valid YAML"),
    ("bad-date", b"schema: 1\nname: 2024-02-30\n", "msgen.yaml"),
    ("duplicate-key", b"schema: 1\nname: a\nname: b\n", "not valid YAML"),
    ("same-port", _replace("port: 8002", "port: 8001"), "billing.port: port 8001 is also the port"),
    (
        "same-path",
        _replace("path: billing", "path: ./orders/"),
        "billing.path: path './orders/' is",
    ),
    ("unknown-upstream", _replace("upstreams: [orders]", "upstreams: [ghost]"), "upstream 'ghost'"),
    (
        "unknown-publisher",
        _replace("[orders.order_created]\n    up", "[ghost.x]\n    up"),
        "'ghost.x'",
    ),
    ("event-without-dot", _replace("[orders.order_created]\n    up", "[nodot]\n    up"), "'nodot'"),
    ("port-string", _replace("port: 8001", "port: '8001'"), "orders.port: Input should be"),
    ("port-low", _replace("port: 8001", "port: 80"), "greater than or equal to 1024"),
    ("port-float", _replace("port: 8001", "port: .inf"), "orders.port"),
    ("services-list", b"schema: 1\nname: shop\nservices: [orders]\n", "services: Input"),
    ("schema-newer", b"schema: 99\nname: shop\n", "newer than this msgen"),
    ("schema-string", b"schema: one\nname: shop\n", "schema"),
    ("unknown-key", _replace("port: 8001", "port: 8001\n    colour: red"), "colour: unknown key"),
    ("name-null", b"schema: 1\nname:\n", "name"),
    ("service-name-bad", _replace("  billing:", "  Bill Ing:"), "invalid service name"),
    ("weights", _replace("port: 8001", "port: 8001\n    versions: {v1: 50}"), "sum to 100"),
]


@pytest.mark.parametrize(
    ("text", "message"), [c[1:] for c in WORKSPACE_CASES], ids=[c[0] for c in WORKSPACE_CASES]
)
def test_a_hostile_workspace_file_is_one_line_and_exit_2(
    tmp_path: Path, text: bytes, message: str
) -> None:
    (tmp_path / "msgen.yaml").write_bytes(text)
    started = time.monotonic()
    commands = [["list"], ["compose", "generate"]] if len(text) < 100_000 else [["list"]]
    for argv in commands:  # the big files once: the pure-Python parsers are slow
        assert_one_line(run(tmp_path, argv), 2, message)
    assert time.monotonic() - started < 30  # 10,000 values take seconds on a busy machine
    assert not (tmp_path / "docker-compose.yml").exists()


def test_the_sample_workspace_of_these_cases_is_valid(tmp_path: Path) -> None:
    (tmp_path / "msgen.yaml").write_text(WORKSPACE)
    assert run(tmp_path, ["list"]).exit_code == 0


def test_a_utf8_bom_and_harmless_anchor_are_accepted(tmp_path: Path) -> None:
    (tmp_path / "msgen.yaml").write_bytes(b"\xef\xbb\xbf" + _replace("port: 8001", "port: &p 8001"))
    assert run(tmp_path, ["list"]).exit_code == 0


def test_an_alias_bomb_is_refused_within_a_memory_bound(tmp_path: Path) -> None:
    (tmp_path / "msgen.yaml").write_text(alias_bomb(levels=12))
    tracemalloc.start()
    try:
        result = run(tmp_path, ["list"])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert_one_line(result, 2, "YAML aliases")
    assert peak < 32 * 2**20


def test_a_file_at_the_size_limit_is_read_within_a_memory_bound(tmp_path: Path) -> None:
    (tmp_path / "msgen.yaml").write_bytes(b"schema: 1\nname: " + b"x" * (MAX_BYTES - 100) + b"\n")
    tracemalloc.start()
    try:
        result = run(tmp_path, ["list"])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert_one_line(result, 2, "characters long")
    assert peak < 128 * 2**20


BOMBS = {
    "alias-bomb": alias_bomb(levels=12),
    "deep-5000": deep(5000),
    "fifty-mb-value": "schema: 1\nname: " + "x" * 50_000_000 + "\n",
}


@pytest.mark.parametrize("bomb", sorted(BOMBS))
def test_bombs_stay_under_rlimit_as_in_a_subprocess(tmp_path: Path, bomb: str) -> None:
    """512 MB of address space and 30 s: without the bounds the alias bomb needs gigabytes."""
    (tmp_path / "msgen.yaml").write_text(BOMBS[bomb])
    limit = 1024 * 2**20

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    src = Path(__file__).resolve().parents[1] / "src"
    completed = subprocess.run(
        [sys.executable, "-c", "from msgen.cli import main; main()", "list"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(src), "COLUMNS": "200"},
        preexec_fn=cap,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert completed.returncode == 2, completed.stderr
    assert completed.stderr.startswith("error: "), completed.stderr
    assert "Traceback" not in completed.stderr
    assert len(completed.stderr) < 1000


# --- concrete bad inputs: answers, .env, .gitignore, the template store -----------------


def answers_workspace(root: Path, answers: bytes | None) -> Path:
    (root / "msgen.yaml").write_text(WORKSPACE)
    (root / "orders").mkdir()
    (root / "billing").mkdir()
    if answers is not None:
        (root / "orders" / ".copier-answers.yml").write_bytes(answers)
    return root


ANSWERS_CASES: list[tuple[str, bytes | None, int, str]] = [
    ("non-utf8", b"port: \xc3\x28\n", 2, ".copier-answers.yml:1: not UTF-8 text"),
    ("alias-bomb", alias_bomb().encode(), 2, "YAML aliases"),
    ("deep", b"a: " + b"[" * 3000 + b"]" * 3000, 2, "nested deeper than"),
    ("list", b"- a\n- b\n", 2, "not a mapping of answers"),
    ("scalar", b"hello\n", 2, "not a mapping of answers"),
    ("invalid-yaml", b"a: [b\n", 2, "not valid YAML"),
    ("python-tag", b"a: !!python/object/apply:os.system [ls]\n", 2, "not valid YAML"),
    ("bad-date", b"a: 2024-02-30\n", 2, "not valid YAML"),
    # A service's answers grow with its domain: their bound is larger than msgen.yaml's.
    ("too-big", b"a: 1\n#" + b"x" * ANSWERS_MAX_BYTES, 2, "larger than"),
    ("missing", None, 1, "has no .copier-answers.yml"),
]


@pytest.mark.parametrize(
    ("answers", "code", "message"),
    [c[1:] for c in ANSWERS_CASES],
    ids=[c[0] for c in ANSWERS_CASES],
)
def test_a_hostile_answers_file_is_one_line(
    tmp_path: Path, answers: bytes | None, code: int, message: str
) -> None:
    root = answers_workspace(tmp_path, answers)
    for argv in (["update", "orders", "--dry-run"], ["add", "postgres", "orders", "--dry-run"]):
        assert_one_line(run(root, argv), code, message)


def test_update_of_a_deleted_service_directory_says_so_not_install_git(tmp_path: Path) -> None:
    root = answers_workspace(tmp_path, ANSWERS.encode())
    (root / "billing").rmdir()
    result = run(root, ["update", "billing"])
    assert_one_line(result, 1, "the directory of billing")
    assert "is missing" in result.stderr
    assert "install git" not in result.stderr


@pytest.mark.parametrize("name", [".env", ".gitignore"])
def test_compose_generate_refuses_non_utf8_inputs_before_writing(tmp_path: Path, name: str) -> None:
    (tmp_path / "msgen.yaml").write_text(WORKSPACE)
    (tmp_path / name).write_bytes(b"A=\xff\n")
    result = run(tmp_path, ["compose", "generate"])
    assert_one_line(result, 2, f"{name}:1: not UTF-8 text")
    # Nothing generated; .msgen/ holds only the workspace lock (and git-ignores itself).
    written = sorted(p.name for p in tmp_path.iterdir() if p.name != ".msgen")
    assert written == sorted(["msgen.yaml", name])
    assert {p.name for p in (tmp_path / ".msgen").iterdir()} <= {"lock", ".gitignore"}


def test_compose_generate_git_ignores_env_before_writing_its_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from msgen import outputs

    (tmp_path / "msgen.yaml").write_text(WORKSPACE)
    calls: list[str] = []
    real_gitignored, real_env = outputs.ensure_gitignored, outputs.ensure_env
    monkeypatch.setattr(
        "msgen.deploy.ensure_gitignored",
        lambda root: calls.append("ignore") or real_gitignored(root),
    )
    monkeypatch.setattr(
        "msgen.deploy.ensure_env",
        lambda root, v, **more: calls.append("env") or real_env(root, v, **more),
    )
    assert run(tmp_path, ["compose", "generate"]).exit_code == 0
    assert calls == ["ignore", "env"]
    assert ".env" in (tmp_path / ".gitignore").read_text().split()


def _damaged_zips(tmp_path: Path) -> Iterator[tuple[str, bytes]]:
    source = tmp_path / "source.zip"
    with zipfile.ZipFile(source, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for index in range(20):
            archive.writestr(f"f{index}.txt", f"line {index}\n" * 500)
    data = source.read_bytes()
    yield "random", os.urandom(1000)
    yield "truncated", data[: len(data) // 2]
    yield "empty", b""
    for offset in range(40, len(data) - 200, max(1, (len(data) - 240) // 12)):
        flipped = bytearray(data)
        for i in range(offset, offset + 8):
            flipped[i] ^= 0x5A
        yield f"flipped@{offset}", bytes(flipped)
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("zeros", b"\0" * (80 * 2**20))
    yield "zip-bomb", bomb.read_bytes()


def test_a_damaged_stored_template_is_one_update_error(tmp_path: Path) -> None:
    tried = 0
    for name, data in _damaged_zips(tmp_path):
        archive = tmp_path / f"{name}.zip"
        archive.write_bytes(data)
        with contextlib.suppress(UpdateError):
            extract_template(archive, tmp_path / "out" / name)
            assert name.startswith("flipped"), f"{name} was accepted"  # a flip in padding
        tried += 1
    assert tried >= 10


# --- concrete bad inputs: arguments -----------------------------------------------------


@dataclass(frozen=True)
class ArgCase:
    argv: list[str]
    code: int
    message: str
    env: dict[str, str] = field(default_factory=dict)


ARG_CASES = {
    "init-bad-name": ArgCase(["init", "-n", "Bad Name"], 2, "invalid system name 'Bad Name'"),
    "init-huge-name": ArgCase(["init", "-n", "x" * 100_000], 2, "characters long"),
    "dev-down-unknown": ArgCase(["dev", "down", "nosuch"], 2, "unknown service 'nosuch'"),
    "new-unknown-publisher": ArgCase(
        ["new", "service", "pay", "--defaults", "--consumes", "ghost.x_done"],
        2,
        "'ghost' is not a service of this workspace",
    ),
    "new-overlong-output": ArgCase(
        ["new", "service", "pay", "--defaults", "-o", "o" * 300], 2, "File name too long"
    ),
    "health-bad-ipv6": ArgCase(["check", "health", "--url", "http://[::1"], 2, "Invalid IPv6 URL"),
    "health-no-host": ArgCase(["check", "health", "--url", "http://"], 2, "bad URL"),
    "health-non-ascii": ArgCase(["check", "health", "--url", "http://dé.example"], 2, "ASCII"),
    "health-bad-port": ArgCase(["check", "health", "--url", "http://h:99999"], 2, "port"),
    **{
        f"health-timeout-{value}": ArgCase(
            ["check", "health", "--url", "http://127.0.0.1:1", "--timeout", value],
            2,
            "--timeout must be more than 0",
        )
        for value in ("nan", "inf", "-1", "0", "1e9")
    },
    **{
        f"health-watch-{value}": ArgCase(
            ["check", "health", "--url", "http://127.0.0.1:1", "--watch", value],
            2,
            "--watch must be more than 0",
        )
        for value in ("nan", "-inf", "0")
    },
    **{
        f"health-retries-{value}": ArgCase(
            ["check", "health", "--url", "http://127.0.0.1:1", "--retries", value],
            2,
            "--retries must be between 0 and 100",
        )
        for value in ("99999999999999999999", "-1", "101")
    },
    "health-consul-bad-addr": ArgCase(
        ["check", "health", "--consul", "--consul-addr", "http://[::1"], 2, "bad Consul address"
    ),
    "deregister-traversal": ArgCase(["deregister", "../../leave"], 2, "invalid instance ID"),
    "deregister-query": ArgCase(["deregister", "x?y=1#z"], 2, "invalid instance ID"),
    "deregister-dotdot": ArgCase(["deregister", ".."], 2, "invalid instance ID"),
    "deregister-empty": ArgCase(["deregister", ""], 2, "invalid instance ID"),
    "deregister-space": ArgCase(["deregister", "a b"], 2, "invalid instance ID"),
    "deregister-huge": ArgCase(["deregister", "a" * 10_000], 2, "invalid instance ID"),
    "register-bad-id": ArgCase(
        ["register", "orders", "--address", "h", "--port", "1", "--id", "../x"], 2, "instance ID"
    ),
    "register-bad-address": ArgCase(
        ["register", "orders", "--address", "a/b", "--port", "1"], 2, "invalid instance ID"
    ),
    "consul-bad-ipv6": ArgCase(["services", "--consul", "http://[::1"], 2, "Invalid IPv6 URL"),
    "consul-env-bad-ipv6": ArgCase(
        ["services"], 2, "bad Consul address", {"CONSUL_HTTP_ADDR": "http://[::1"}
    ),
    "consul-ftp": ArgCase(["services", "--consul", "ftp://h"], 2, "scheme must be http"),
    "consul-port": ArgCase(["services", "--consul", "h:99999"], 2, "Port out of range"),
    "consul-query": ArgCase(["services", "--consul", "http://h/?x=1"], 2, "query"),
    "consul-token": ArgCase(["services", "--token", "tökén"], 2, "token must be printable ASCII"),
    "consul-env-token": ArgCase(["services"], 2, "printable ASCII", {"CONSUL_HTTP_TOKEN": "a\nb"}),
}


@pytest.mark.parametrize("case", list(ARG_CASES.values()), ids=list(ARG_CASES))
def test_a_bad_argument_is_one_line(tmp_path: Path, case: ArgCase) -> None:
    (tmp_path / "msgen.yaml").write_text(WORKSPACE)
    result = run(tmp_path, case.argv, env={"CONSUL_HTTP_ADDR": "127.0.0.1:1", **case.env})
    assert_one_line(result, case.code, case.message)
    assert not (tmp_path / "pay").exists()


def test_a_deleted_current_directory_is_one_line(tmp_path: Path) -> None:
    gone = tmp_path / "gone"
    gone.mkdir()
    with contextlib.chdir(gone):
        gone.rmdir()
        result = runner.invoke(app, ["list"])
        result_new = runner.invoke(app, ["new", "service", "pay", "--defaults"])
    assert_one_line(result, 1, "the current directory no longer exists")
    assert_one_line(result_new, 1, "the current directory no longer exists")


def test_deregister_sends_nothing_for_a_refused_id() -> None:
    with ConsulDouble() as consul:
        for bad in ("../../leave", "x?y=1#z", "..", "a/b"):
            result = runner.invoke(app, ["deregister", bad, "--consul", consul.address])
            assert result.exit_code == 2
        assert consul.requests == []


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("/v1/catalog/services", "<html>not consul</html>", "the answer is not JSON"),
        ("/v1/catalog/services", "[1, 2]", "expected an object of service names"),
        ("/v1/catalog/services", '"text"', "expected an object of service names"),
        ("/v1/health/service/orders", "{}", "expected a list of instances"),
        ("/v1/health/service/orders", "[{}]", "an instance lacks"),
        ("/v1/health/service/orders", '[{"Service": 1, "Checks": 2}]', "an instance lacks"),
        ("/v1/health/service/orders", "not json", "not JSON"),
    ],
)
def test_an_odd_answer_from_consul_is_one_line(path: str, body: str, message: str) -> None:
    with ConsulDouble() as consul:
        consul.register({"Name": "orders", "ID": "orders-1", "Address": "h", "Port": 1})
        consul.answers[path] = (200, body)
        for argv in (["services"], ["check", "health", "--consul"]):
            result = runner.invoke(
                app,
                [*argv, "--consul" if argv == ["services"] else "--consul-addr", consul.address],
            )
            assert_one_line(result, 1, message)


def test_every_path_segment_sent_to_consul_is_escaped() -> None:
    with ConsulDouble() as consul:
        consul.answers["/v1/catalog/services"] = (200, json.dumps({"a/b?c#d": [], "../x": []}))
        result = runner.invoke(app, ["services", "--json", "--consul", consul.address])
        assert result.exit_code == 0, result.output
        sent = [path for _, path in consul.requests if path.startswith("/v1/health/")]
        assert sorted(sent) == ["/v1/health/service/..%2Fx", "/v1/health/service/a%2Fb%3Fc%23d"]


# --- property-based: arbitrary input to every command that reads the files --------------

SERVICE_NAMES = ["orders", "billing", "gateway", "pay-ments", "Bad", "", "a" * 50, "list"]
COMMANDS: list[list[str]] = [
    ["list"],
    ["list", "--json"],
    ["graph"],
    ["check", "contracts"],
    ["compose", "generate"],
    ["k8s", "generate"],
    ["mesh", "generate"],
    ["update", "--dry-run"],
    ["add", "postgres", "orders", "--dry-run"],
    ["new", "service", "pay", "--defaults", "--consumes", "ghost.x_done"],
    ["dev", "ps"],
    ["dev", "down"],
    ["check", "health", "--timeout", "0.2"],
    ["mesh", "canary", "orders", "--version", "v2", "--weight", "10"],
]
ANSWERS_COMMANDS: list[list[str]] = [
    ["update", "orders", "--dry-run"],
    ["add", "postgres", "orders", "--dry-run"],
    ["add", "broker", "orders", "--dry-run"],
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.integers(min_value=1000, max_value=9000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["sqlite", "postgres", "rabbitmq", "consul", "gateway", "service", "v1"]),
)
anything = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)
service_entry = st.fixed_dictionaries(
    {},
    optional={
        "kind": st.one_of(st.sampled_from(["service", "gateway"]), anything),
        "path": st.one_of(st.sampled_from(SERVICE_NAMES), anything),
        "port": st.one_of(st.integers(min_value=1000, max_value=9000), anything),
        "db": st.one_of(st.sampled_from(["sqlite", "postgres", "none"]), anything),
        "broker": st.one_of(st.sampled_from(["rabbitmq", "none"]), anything),
        "upstreams": st.one_of(st.lists(st.sampled_from(SERVICE_NAMES), max_size=3), anything),
        "consumes": st.one_of(
            st.lists(st.sampled_from(["orders.order_created", "ghost.x", "x"]), max_size=2),
            anything,
        ),
        "versions": st.one_of(st.just({"v1": 90, "v2": 10}), anything),
        "features": st.one_of(st.lists(st.text(max_size=8), max_size=3), anything),
        "colour": anything,
    },
)
workspace_shaped = st.fixed_dictionaries(
    {},
    optional={
        "schema": st.one_of(st.just(1), anything),
        "name": st.one_of(st.sampled_from(["shop", "Bad Name", "x" * 60]), anything),
        "services": st.one_of(
            st.dictionaries(st.sampled_from(SERVICE_NAMES), service_entry, max_size=4),
            anything,
        ),
    },
)


def _dump(data: object) -> bytes:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False).encode()


@st.composite
def hostile_text(draw: st.DrawFn) -> bytes:
    """A bomb, a deep document, a huge value, or a good document with bad bytes in it."""
    kind = draw(st.sampled_from(["alias", "deep", "huge", "bytes", "anchor-dup"]))
    if kind == "alias":
        return alias_bomb(draw(st.integers(1, 12)), draw(st.integers(1, 12))).encode()
    if kind == "deep":
        return deep(draw(st.integers(MAX_DEPTH - 5, 6000)), flow=draw(st.booleans())).encode()
    if kind == "huge":
        huge = "v" * draw(st.sampled_from([2_000, 300_000, MAX_BYTES - 400, MAX_BYTES + 1]))
        old, new = draw(
            st.sampled_from(
                [
                    ("name: shop", f"name: {huge}"),
                    ("schema: 1", f"schema: {huge}"),
                    ("port: 8001", f"port: {huge}"),
                    ("path: orders", f"path: {huge}"),
                    ("upstreams: [orders]", f"upstreams: [{huge}]"),
                    ("[orders.order_created]\n    up", f"[orders.{huge}]\n    up"),
                    ("  billing:", f"  {huge[:1000]}:"),
                ]
            )
        )
        return WORKSPACE.replace(old, new, 1).encode()
    if kind == "anchor-dup":
        return b"schema: 1\nname: &a shop\nservices: &a {}\n"
    good = WORKSPACE.encode()
    at = draw(st.integers(0, len(good)))
    return good[:at] + draw(st.binary(min_size=1, max_size=4).filter(_not_utf8)) + good[at:]


def _not_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


documents = st.one_of(
    st.binary(max_size=400),
    st.text(max_size=300).map(str.encode),
    anything.map(_dump),
    workspace_shaped.map(_dump),
    workspace_shaped.map(_dump),
    hostile_text(),
    hostile_text(),
    hostile_text(),
)


@contextlib.contextmanager
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="msgen-hostile-") as tmp:
        yield Path(tmp)


def check_invocation(root: Path, argv: list[str], refused: MsgenError | None) -> float:
    """Run one command; check the answer against what the file reader says; return seconds."""
    started = time.monotonic()
    result = run(root, argv, env={"CONSUL_HTTP_ADDR": "127.0.0.1:1"})
    elapsed = time.monotonic() - started
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        argv,
        result.exception,
    )
    output = result.output + result.stderr
    assert "Traceback" not in output
    assert "internal error" not in result.stderr, (argv, result.stderr)
    assert all(len(line) < 1000 for line in result.stderr.splitlines()), "a value printed whole"
    if refused is not None:
        assert result.exit_code == 2, (argv, result.exit_code, result.stderr)
        assert result.stderr.startswith("error: "), result.stderr
        assert refused.message.splitlines()[0][:60] in result.stderr.replace("\n", "")
    elif result.exit_code != 0:
        unhealthy = argv[:2] == ["check", "health"] and result.exit_code == 1
        assert unhealthy or result.stderr.startswith("error: "), (argv, result.output)
    assert elapsed < 10, (argv, elapsed)
    return elapsed


def _refusal(load: Callable[[], object]) -> MsgenError | None:
    try:
        load()
    except UsageError as exc:
        return exc
    except MsgenError:
        return None
    return None


TALLY: dict[str, int] = {"workspace": 0, "answers": 0}


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
)
@given(data=documents, argv=st.sampled_from(COMMANDS))
def test_any_workspace_file_is_refused_in_one_line_or_works(data: bytes, argv: list[str]) -> None:
    with scratch() as root:
        (root / "msgen.yaml").write_bytes(data)
        refused = _refusal(lambda: load_workspace(root / "msgen.yaml"))
        check_invocation(root, argv, refused)
    TALLY["workspace"] += 1


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
)
@given(data=documents, argv=st.sampled_from(ANSWERS_COMMANDS))
def test_any_answers_file_is_refused_in_one_line_or_works(data: bytes, argv: list[str]) -> None:
    with scratch() as root:
        answers_workspace(root, data)
        refused = _refusal(lambda: read_answers(root / "orders"))
        check_invocation(root, argv, refused)
    TALLY["answers"] += 1
