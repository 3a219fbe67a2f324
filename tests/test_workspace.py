from pathlib import Path

import pytest

from msgen.errors import (
    InvalidNameError,
    WorkspaceError,
    WorkspaceExistsError,
    WorkspaceInvalidError,
    WorkspaceNotFoundError,
)
from msgen.workspace import (
    SCHEMA_VERSION,
    ServiceEntry,
    create_workspace,
    default_system_name,
    find_workspace,
    init_workspace,
    load_workspace,
    open_workspace,
)

VALID = """\
# the shop system
schema: 1
name: shop   # keep me
services:
  orders:
    kind: service
    path: orders
    port: 8001   # fixed port
    db: postgres
  billing:
    path: billing
    port: 8002
"""


def test_load_valid_workspace(tree) -> None:
    root = tree({"msgen.yaml": VALID})
    ws = load_workspace(root / "msgen.yaml")
    assert ws.model.name == "shop"
    assert ws.model.schema_version == SCHEMA_VERSION
    assert list(ws.model.services) == ["orders", "billing"]
    assert ws.model.services["orders"].db == "postgres"
    assert ws.model.services["billing"].kind == "service"
    assert ws.model.used_ports() == {8001, 8002}
    assert ws.root == root


def test_find_searches_upward_like_git(tree) -> None:
    root = tree({"msgen.yaml": VALID, "orders/src/orders/x.py": ""})
    assert find_workspace(root / "orders" / "src" / "orders") == root / "msgen.yaml"
    assert open_workspace(root / "orders").model.name == "shop"


def test_find_returns_none_without_workspace(tmp_path: Path) -> None:
    assert find_workspace(tmp_path / "nowhere") is None or find_workspace(tmp_path) is None


def test_open_without_workspace_raises_with_hint(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceNotFoundError) as info:
        open_workspace(tmp_path)
    assert "msgen init" in (info.value.hint or "")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            VALID.replace("    db: postgres\n", "    db: postgres\n    colour: red\n"),
            ":10: services.orders.colour: unknown key",
        ),
        (
            VALID.replace("port: 8001   # fixed port", "port: eighty"),
            ":8: services.orders.port: Input should be a valid integer (got 'eighty')",
        ),
        (
            VALID.replace("port: 8001   # fixed port", "port: '8001'"),
            ":8: services.orders.port: Input should be a valid integer",
        ),
        (
            VALID.replace("port: 8002", "port: 80"),
            ":12: services.billing.port: Input should be greater than or equal to 1024",
        ),
        (
            VALID.replace("db: postgres", "db: mysql"),
            ":9: services.orders.db: Input should be 'sqlite', 'postgres' or 'none'",
        ),
        (VALID.replace("kind: service", "kind: worker"), ":6: services.orders.kind:"),
        (VALID.replace("name: shop   # keep me", "name: My Shop"), ":3: name: invalid system name"),
        (VALID.replace("name: shop   # keep me\n", ""), ":1: name: required key is missing"),
        (VALID.replace("schema: 1", "schema: 99"), ":2: schema: schema 99 is newer"),
        (VALID.replace("schema: 1", "schema: 1\ncolour: blue"), ":3: colour: unknown key"),
        (VALID.replace("  billing:", "  Billing:"), ":10: services.Billing: invalid service name"),
        (VALID.replace("    path: billing\n", ""), ":10: services.billing.path: required key"),
        ("- a\n- b\n", ":1: the top level must be a mapping"),
        ("name: [unclosed\n", ":2: not valid YAML"),
        ("", "the file is empty"),
    ],
)
def test_invalid_workspace_names_file_line_and_key(tree, text: str, expected: str) -> None:
    root = tree({"msgen.yaml": text})
    with pytest.raises(WorkspaceInvalidError) as info:
        load_workspace(root / "msgen.yaml")
    message = str(info.value)
    assert message.startswith(str(root / "msgen.yaml"))
    assert expected in message
    assert "\n" not in message


def test_several_errors_are_counted(tree) -> None:
    root = tree({"msgen.yaml": VALID.replace("port: 8002", "port: x\n    colour: red")})
    with pytest.raises(WorkspaceInvalidError, match=r"\(and 1 more\)"):
        load_workspace(root / "msgen.yaml")


def test_save_keeps_comments_and_order(tree) -> None:
    root = tree({"msgen.yaml": VALID})
    ws = load_workspace(root / "msgen.yaml")
    ws.model.services["shipping"] = ServiceEntry(path="shipping", port=8003, features=["a", "b"])
    ws.model.services["orders"].port = 8005
    ws.save()
    text = (root / "msgen.yaml").read_text()
    assert text.startswith("# the shop system\n")
    assert "name: shop   # keep me" in text
    assert "port: 8005   # fixed port" in text
    assert text.index("orders:") < text.index("billing:") < text.index("shipping:")
    assert "features: [a, b]" in text
    again = load_workspace(root / "msgen.yaml")
    assert again.model == ws.model


def test_save_removes_deleted_services(tree) -> None:
    root = tree({"msgen.yaml": VALID})
    ws = load_workspace(root / "msgen.yaml")
    del ws.model.services["orders"]
    ws.save()
    assert list(load_workspace(root / "msgen.yaml").model.services) == ["billing"]


def test_save_is_atomic_and_leaves_no_temp_files(tree, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tree({"msgen.yaml": VALID})
    ws = load_workspace(root / "msgen.yaml")
    ws.model.services["orders"].port = 9000

    def broken_replace(self: Path, target: Path) -> Path:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "replace", broken_replace)
    with pytest.raises(WorkspaceError, match="No space left on device"):
        ws.save()
    monkeypatch.undo()
    assert (root / "msgen.yaml").read_text() == VALID
    assert sorted(p.name for p in root.iterdir()) == ["msgen.yaml"]


def test_init_creates_valid_file(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path / "new-system", name=None)
    assert ws.model.name == "new-system"
    loaded = load_workspace(tmp_path / "new-system" / "msgen.yaml")
    assert loaded.model.services == {}
    assert "schema: 1" in loaded.path.read_text()


def test_init_refuses_existing_workspace(tree) -> None:
    root = tree({"msgen.yaml": VALID})
    with pytest.raises(WorkspaceExistsError):
        init_workspace(root, name="other")
    assert (root / "msgen.yaml").read_text() == VALID


def test_create_refuses_bad_system_name(tmp_path: Path) -> None:
    with pytest.raises(InvalidNameError, match="invalid system name"):
        create_workspace(tmp_path, name="Bad Name")


@pytest.mark.parametrize(
    ("directory", "expected"),
    [
        ("shop", "shop"),
        ("My Shop", "my-shop"),
        ("123", "system"),
        ("2024-shop", "shop"),
        ("a_b", "a-b"),
    ],
)
def test_default_system_name_from_directory(tmp_path: Path, directory: str, expected: str) -> None:
    assert default_system_name(tmp_path / directory) == expected


def test_relative_and_service_paths(tree) -> None:
    root = tree({"msgen.yaml": VALID})
    ws = load_workspace(root / "msgen.yaml")
    assert ws.relative_path(root / "x" / "y") == "x/y"
    assert ws.relative_path(Path("/elsewhere/svc")) == "/elsewhere/svc"
    assert ws.service_dir("orders") == (root / "orders").resolve()


def test_feature_labels() -> None:
    entry = ServiceEntry(path="x", port=8001, db="postgres", features=["tracing"])
    assert entry.feature_labels() == ["db:postgres", "tracing"]


def test_save_writes_identity_keys_and_only_non_default_extras(tmp_path: Path) -> None:
    ws = init_workspace(tmp_path, name="shop")
    ws.model.services["billing"] = ServiceEntry(path="billing", port=8002)
    ws.model.services["orders"] = ServiceEntry(path="orders", port=8001, consumes=["billing.b"])
    ws.save()
    text = (tmp_path / "msgen.yaml").read_text()
    assert "kind: service" in text
    assert "db: sqlite" in text
    assert "consumes: [billing.b]" in text
    assert "upstreams" not in text
    assert "versions" not in text
    assert load_workspace(tmp_path / "msgen.yaml").model == ws.model


def test_save_writes_through_a_symlinked_workspace_file(tmp_path: Path) -> None:
    shared = tmp_path / "config" / "shop.yaml"
    shared.parent.mkdir()
    shared.write_text(VALID)
    shared.chmod(0o640)
    root = tmp_path / "shop"
    root.mkdir()
    (root / "msgen.yaml").symlink_to(Path("..") / "config" / "shop.yaml")
    ws = load_workspace(root / "msgen.yaml")
    ws.model.services["orders"].port = 9000
    ws.save()
    assert (root / "msgen.yaml").is_symlink()
    assert (root / "msgen.yaml").readlink() == Path("..") / "config" / "shop.yaml"
    assert "port: 9000   # fixed port" in shared.read_text()
    assert shared.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in shared.parent.iterdir()) == ["shop.yaml"]  # no temp file
    assert sorted(p.name for p in root.iterdir()) == ["msgen.yaml"]
