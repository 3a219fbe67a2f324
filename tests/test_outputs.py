"""Writing generated files: atomic, idempotent, and never over someone's edits."""

from __future__ import annotations

import hashlib
import json
import stat
from pathlib import Path

import pytest

from msgen.errors import OutputError
from msgen.manifests.common import GeneratedFile, text_file
from msgen.outputs import (
    RECORD_FILE,
    ensure_env,
    ensure_gitignored,
    prune_stale,
    write_generated,
    write_tree,
)


def generated(body: str) -> GeneratedFile:
    return text_file("deploy/x.yml", body, regenerate="msgen x")


def test_created_then_unchanged_then_updated(tmp_path: Path) -> None:
    assert write_generated(tmp_path, [generated("a: 1\n")], force=False)[0].action == "created"
    assert write_generated(tmp_path, [generated("a: 1\n")], force=False)[0].action == "unchanged"
    assert write_generated(tmp_path, [generated("a: 2\n")], force=False)[0].action == "updated"
    assert (tmp_path / "deploy/x.yml").read_text().endswith("a: 2\n")
    assert [p.name for p in (tmp_path / "deploy").iterdir()] == ["x.yml"]  # no temp files left


def test_an_edited_file_is_kept_unless_forced(tmp_path: Path) -> None:
    write_generated(tmp_path, [generated("a: 1\n")], force=False)
    path = tmp_path / "deploy/x.yml"
    path.write_text(path.read_text() + "b: mine\n")
    assert write_generated(tmp_path, [generated("a: 2\n")], force=False)[0].action == "kept"
    assert path.read_text().endswith("b: mine\n")
    assert write_generated(tmp_path, [generated("a: 2\n")], force=True)[0].action == "replaced"
    assert path.read_text().endswith("a: 2\n")


def test_a_file_msgen_did_not_write_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "deploy/x.yml"
    path.parent.mkdir()
    path.write_text("mine: true\n")
    assert write_generated(tmp_path, [generated("a: 1\n")], force=False)[0].action == "kept"
    assert path.read_text() == "mine: true\n"


def test_the_override_file_is_never_written(tmp_path: Path) -> None:
    override = GeneratedFile(path="docker-compose.override.yml", text="services: {}\n")
    with pytest.raises(OutputError, match="never writes"):
        write_generated(tmp_path, [override], force=True)
    assert not (tmp_path / "docker-compose.override.yml").exists()


def test_env_is_created_private_and_never_overwritten(tmp_path: Path) -> None:
    result = ensure_env(tmp_path, [("A_PASSWORD", True, "a"), ("URL", False, "u")])
    assert result.created and result.added == ["A_PASSWORD", "URL"]
    path = tmp_path / ".env"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    password = next(line for line in text.splitlines() if line.startswith("A_PASSWORD="))
    assert len(password) > len("A_PASSWORD=") + 20
    assert "URL=\n" in text
    path.write_text(text.replace(password, "A_PASSWORD=chosen"))
    again = ensure_env(tmp_path, [("A_PASSWORD", True, "a"), ("B_PASSWORD", True, "b")])
    assert not again.created and again.added == ["B_PASSWORD"]
    text = path.read_text()
    assert "A_PASSWORD=chosen" in text and "B_PASSWORD=" in text
    assert ensure_env(tmp_path, [("A_PASSWORD", True, "a")]).added == []


def test_two_envs_get_different_passwords(tmp_path: Path) -> None:
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        ensure_env(tmp_path / name, [("P", True, "p")])
    assert (tmp_path / "one/.env").read_text() != (tmp_path / "two/.env").read_text()


def test_gitignore_gains_env_once(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("*.pyc")
    assert ensure_gitignored(tmp_path) is True
    assert ensure_gitignored(tmp_path) is False
    assert (tmp_path / ".gitignore").read_text() == "*.pyc\n.env\n"


def test_stale_generated_files_are_removed_but_edited_ones_stay(tmp_path: Path) -> None:
    old = [
        text_file("deploy/a/x.yml", "x: 1\n", regenerate="r"),
        text_file("deploy/b/y.yml", "y: 1\n", regenerate="r"),
        text_file("deploy/b/z.yml", "z: 1\n", regenerate="r"),
    ]
    write_tree(tmp_path, "deploy", old, force=False)
    edited = tmp_path / "deploy/b/z.yml"
    edited.write_text(edited.read_text() + "mine: 1\n")
    (tmp_path / "deploy/own.yml").write_text("own: 1\n")
    outcomes = write_tree(tmp_path, "deploy", old[:1], force=False)
    assert [(o.path, o.action) for o in outcomes if o.action != "unchanged"] == [
        ("deploy/b/y.yml", "removed"),
        ("deploy/b/z.yml", "left"),
    ]
    assert (tmp_path / "deploy/a/x.yml").exists() and edited.exists()
    assert (tmp_path / "deploy/own.yml").exists()
    edited.write_text(old[2].text)  # back as msgen wrote it: now provably msgen's
    write_tree(tmp_path, "deploy", old[:1], force=False)
    assert not (tmp_path / "deploy/b").exists()


def test_env_behind_a_symlink_gains_variables_and_stays_a_link(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "shop.env").write_text("A_PASSWORD=chosen\n")
    (secrets / "shop.env").chmod(0o600)
    root = tmp_path / "shop"
    root.mkdir()
    (root / ".env").symlink_to(secrets / "shop.env")
    result = ensure_env(root, [("A_PASSWORD", True, "a"), ("B_PASSWORD", True, "b")])
    assert not result.created and result.added == ["B_PASSWORD"]
    assert (root / ".env").is_symlink()
    text = (secrets / "shop.env").read_text()
    assert text.startswith("A_PASSWORD=chosen\n") and "B_PASSWORD=" in text
    assert stat.S_IMODE((secrets / "shop.env").stat().st_mode) == 0o600
    assert sorted(p.name for p in secrets.iterdir()) == ["shop.env"]


def test_a_generated_file_behind_a_symlink_is_updated_through_it(tmp_path: Path) -> None:
    (tmp_path / "real.yml").write_text(generated("old\n").text)
    (tmp_path / "link.yml").symlink_to("real.yml")
    new = text_file("link.yml", "new\n", regenerate="msgen x")
    [outcome] = write_generated(tmp_path, [new], force=False)
    assert outcome.action == "updated"
    assert (tmp_path / "link.yml").is_symlink()
    assert "new" in (tmp_path / "real.yml").read_text()


def test_a_copy_of_a_generated_file_is_never_removed(tmp_path: Path) -> None:
    """A backup copy and a file in the user's own folder carry msgen's header, not its record."""
    files = [text_file("deploy/a/x.yml", "x: 1\n", regenerate="r")]
    write_tree(tmp_path, "deploy", files, force=False)
    backup = tmp_path / "deploy/a/x.yml.bak"
    own = tmp_path / "deploy/mine/x.yml"
    own.parent.mkdir()
    for copy in (backup, own):
        copy.write_text(files[0].text)
    outcomes = write_tree(tmp_path, "deploy", files, force=False)
    assert sorted((o.path, o.action) for o in outcomes if o.action == "left") == [
        ("deploy/a/x.yml.bak", "left"),
        ("deploy/mine/x.yml", "left"),
    ]
    assert backup.exists() and own.exists()


def test_prune_removes_only_recorded_unchanged_files(tmp_path: Path) -> None:
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy/x.yml").write_text("x: 1\n")
    (tmp_path / "deploy/y.yml").write_text("y: 1\n")
    digest = hashlib.sha256(b"x: 1\n").hexdigest()
    outcomes = prune_stale(tmp_path, "deploy", set(), recorded={"deploy/x.yml": [digest]})
    assert [(o.path, o.action) for o in outcomes] == [("deploy/x.yml", "removed")]
    assert (tmp_path / "deploy/y.yml").exists()


def test_a_file_no_longer_generated_is_removed_and_unrecorded(tmp_path: Path) -> None:
    files = [text_file("deploy/x.yml", "x: 1\n", regenerate="r")]
    write_tree(tmp_path, "deploy", files, force=False)
    record = json.loads((tmp_path / "deploy" / RECORD_FILE).read_text())
    assert list(record["files"]) == ["deploy/x.yml"]
    write_tree(tmp_path, "deploy", [], force=False)
    assert not (tmp_path / "deploy/x.yml").exists()
    assert json.loads((tmp_path / "deploy" / RECORD_FILE).read_text())["files"] == {}
