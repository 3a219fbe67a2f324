"""Journaled multi-file changes and the recovery of what killed runs left."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from msgen import faults
from msgen.journal import Transaction, recover_journals, state_dir
from msgen.recovery import leftovers, recover


def dead_pid() -> int:
    """The id of a process that has exited (and was reaped)."""
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(child.stdout)


def three_files(root: Path) -> Transaction:
    (root / "svc").mkdir()
    (root / "svc" / "a.txt").write_text("old a\n")
    (root / "svc" / "gone.txt").write_text("old\n")
    transaction = Transaction(root=root, label="update of svc")
    transaction.write_text(root / "svc" / "a.txt", "new a\n")
    transaction.write_text(root / "svc" / "sub" / "b.txt", "new b\n")
    transaction.delete(root / "svc" / "gone.txt", prune_to=root / "svc")
    return transaction


def tree(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): p.read_text()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".msgen" not in p.parts
    }


def test_a_transaction_applies_every_change_and_leaves_no_journal(tmp_path: Path) -> None:
    three_files(tmp_path).apply()
    assert tree(tmp_path) == {"svc/a.txt": "new a\n", "svc/sub/b.txt": "new b\n"}
    assert list(state_dir(tmp_path).glob("journal-*")) == []


@pytest.mark.parametrize("step", [1, 2, 3, 4])
def test_a_failure_before_the_commit_point_changes_nothing(
    tmp_path: Path, step: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Steps: prepare the journal, stage a.txt, stage b.txt, commit."""
    transaction = three_files(tmp_path)
    before = tree(tmp_path)
    monkeypatch.setenv(faults.FAULT_ENV, f"{step}:raise")
    faults.reset()
    try:
        with pytest.raises(faults.InjectedFault):
            transaction.apply()
    finally:
        faults.reset()
    assert tree(tmp_path) == before
    assert [p.name for p in tmp_path.rglob("*") if ".msgen-" in p.name] == []
    assert list(state_dir(tmp_path).glob("journal-*")) == []


def test_a_directory_in_the_way_is_refused_before_anything_changes(tmp_path: Path) -> None:
    transaction = three_files(tmp_path)
    (tmp_path / "svc" / "sub" / "b.txt").mkdir(parents=True)
    with pytest.raises(IsADirectoryError):
        transaction.apply()
    assert (tmp_path / "svc" / "a.txt").read_text() == "old a\n"
    assert (tmp_path / "svc" / "gone.txt").exists()


def write_journal(root: Path, *, pid: int, state: str) -> Path:
    (root / "svc").mkdir()
    (root / "svc" / "a.txt").write_text("old\n")
    staged = root / "svc" / f".a.txt.msgen-{pid}.stage"
    staged.write_text("new\n")
    journal = state_dir(root) / f"journal-{pid}.json"
    ops = [{"op": "write", "path": str(root / "svc" / "a.txt"), "staged": str(staged)}]
    journal.write_text(
        json.dumps({"pid": pid, "label": "update of svc", "state": state, "ops": ops})
    )
    return journal


def test_a_committed_journal_of_a_dead_run_is_finished(tmp_path: Path) -> None:
    journal = write_journal(tmp_path, pid=dead_pid(), state="committed")
    assert recover_journals(tmp_path) == [
        "finished the interrupted update of svc (its changes were committed)"
    ]
    assert (tmp_path / "svc" / "a.txt").read_text() == "new\n"
    assert not journal.exists()
    assert [p.name for p in (tmp_path / "svc").iterdir()] == ["a.txt"]


def test_a_prepared_journal_of_a_dead_run_is_rolled_back(tmp_path: Path) -> None:
    journal = write_journal(tmp_path, pid=dead_pid(), state="prepared")
    assert recover_journals(tmp_path) == [
        "rolled back the interrupted update of svc (nothing had been changed)"
    ]
    assert (tmp_path / "svc" / "a.txt").read_text() == "old\n"
    assert not journal.exists()
    assert [p.name for p in (tmp_path / "svc").iterdir()] == ["a.txt"]


def test_the_journal_of_a_running_msgen_is_left_alone(tmp_path: Path) -> None:
    journal = write_journal(tmp_path, pid=os.getpid(), state="committed")
    assert recover_journals(tmp_path) == []
    assert journal.exists()
    assert (tmp_path / "svc" / "a.txt").read_text() == "old\n"


def test_leftovers_of_dead_runs_are_removed_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "system-tmp"))
    (tmp_path / "msgen.yaml").write_text("schema: 1\nname: shop\nservices: {}\n")
    pid = dead_pid()
    stale = [
        tmp_path / f".orders.msgen-{pid}-abcd1234",  # a render's staging directory
        tmp_path / ".orders.msgen-x1y2z3w4",  # the same, from msgen before pids
        tmp_path / f".msgen.yaml.msgen-{pid}-q1w2e3.tmp",
        tmp_path / "deploy" / "k8s" / f".deployment.yaml.msgen-{pid}-a1b2.tmp",
        tmp_path / ".msgen-templates" / f".service-0.1.0.zip.msgen-{pid}.partial",
        tmp_path / ".msgen-templates" / ".service-0.1.0.zip.partial",
        Path(tempfile.gettempdir()) / f"msgen-update-{pid}-abc_12",
    ]
    alive = [
        tmp_path / f".orders.msgen-{os.getpid()}-abcd1234",  # this process's own
        tmp_path / "deploy" / "k8s" / f"notes-{pid}-a.txt",  # the user's, whatever its name
    ]
    for path in stale + alive:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.name.endswith(("1234", "w4", "abc_12")):
            path.mkdir()
        else:
            path.write_text("x")
    assert sorted(leftovers(tmp_path)) == sorted(stale)
    messages = recover(tmp_path)
    assert len(messages) == 1
    assert messages[0].startswith("removed 7 leftover(s) of an interrupted msgen run: ")
    assert [p for p in stale if p.exists()] == []
    assert all(p.exists() for p in alive)
    assert recover(tmp_path) == []


@pytest.mark.parametrize("step", [5, 6, 7, 8])
def test_a_failure_after_the_commit_point_is_finished_by_the_next_run(
    tmp_path: Path, step: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Steps 5-7 apply a.txt, b.txt and the deletion; 8 removes the journal."""
    transaction = three_files(tmp_path)
    monkeypatch.setenv(faults.FAULT_ENV, f"{step}:raise")
    faults.reset()
    try:
        with pytest.raises(faults.InjectedFault):
            transaction.apply()
    finally:
        faults.reset()
    assert transaction.committed
    assert recover_journals(tmp_path) == [
        "finished the interrupted update of svc (its changes were committed)"
    ]
    assert tree(tmp_path) == {"svc/a.txt": "new a\n", "svc/sub/b.txt": "new b\n"}
    assert [p.name for p in tmp_path.rglob("*") if ".msgen-" in p.name] == []
