"""msgen --help must stay fast: it may not import the heavy libraries (checked, not timed).

pydantic is not on the list: typer (0.29+) itself uses it to convert parameters once a
sub-command is parsed.
"""

import subprocess
import sys

import pytest

HEAVY = (
    "copier",
    "docker",
    "consul",
    "httpx",
    "sqlalchemy",
    "ruamel",
    "jinja2",
    "yaml",
    "rich.markdown",
    "typer.rich_utils",
    "msgen.workspace",
    "msgen.render",
    "msgen.manifests",
    "msgen.deploy",
    "aio_pika",
    "aiormq",
    "pamqp",
    "datamodel_code_generator",
    "black",
    "isort",
    "msgen.catalog",
    "msgen.clients",
)

PROBE = """
import sys
from msgen.cli import main
sys.argv = ["msgen", *sys.argv[1:]]
try:
    main()
except SystemExit:
    pass
sys.stderr.write("\\nMODULES " + " ".join(sorted(sys.modules)) + "\\n")
"""


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["--version"],
        ["new", "--help"],
        ["new", "service", "--help"],
        ["list", "--help"],
        ["init", "--help"],
        ["check", "--help"],
        ["check", "health", "--help"],
        ["check", "contracts", "--help"],
        ["graph", "--help"],
        ["dev", "--help"],
        ["dev", "up", "--help"],
        ["compose", "--help"],
        ["compose", "generate", "--help"],
        ["compose", "up", "--help"],
        ["compose", "logs", "--help"],
        ["k8s", "generate", "--help"],
        ["mesh", "--help"],
        ["mesh", "canary", "--help"],
        ["new", "gateway", "--help"],
        ["register", "--help"],
        ["deregister", "--help"],
        ["services", "--help"],
        ["update", "--help"],
        ["add", "--help"],
        ["doctor", "--help"],
        ["dlq", "--help"],
        ["dlq", "list", "--help"],
        ["dlq", "redrive", "--help"],
    ],
)
def test_help_leaves_heavy_modules_unimported(argv: list[str]) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, check=True
    )
    modules = set(proc.stderr.rsplit("MODULES ", 1)[1].split())
    loaded = sorted(m for m in modules if m.split(".")[0] in HEAVY or m in HEAVY)
    assert loaded == []
    assert "Usage" in proc.stdout or "msgen" in proc.stdout


def test_public_surface_is_pinned() -> None:
    import msgen

    assert msgen.__all__ == ["MsgenError", "__version__"]
