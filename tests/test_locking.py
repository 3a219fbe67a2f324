"""The workspace lock (msgen.locking) and how the workspace uses it."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from msgen.errors import UsageError, WorkspaceError, WorkspaceLockedError
from msgen.locking import (
    LOCK_FILE,
    STATE_DIR,
    TIMEOUT_ENV,
    LockWait,
    holds_lock,
    lock_timeout,
    lock_workspace,
    locked_workspace,
    workspace_lock,
)
from msgen.workspace import init_workspace, load_workspace
from tests.lockkit import held_elsewhere


def test_lock_is_reentrant_within_a_process(tmp_path: Path) -> None:
    init_workspace(tmp_path, name="shop")
    with workspace_lock(tmp_path, timeout=1), workspace_lock(tmp_path, timeout=1):
        assert holds_lock(tmp_path)
    assert not holds_lock(tmp_path)


def test_second_process_times_out_with_one_line_naming_the_holder(tmp_path: Path) -> None:
    init_workspace(tmp_path, name="shop")
    with held_elsewhere(tmp_path) as holder:
        started = time.monotonic()
        with pytest.raises(WorkspaceLockedError) as caught, workspace_lock(tmp_path, timeout=0.3):
            pytest.fail("the lock was held by another process")
        assert 0.3 <= time.monotonic() - started < 5
    message = caught.value.message
    assert f"another msgen (pid {holder.pid})" in message
    assert "gave up after 0.3 s" in message
    assert "\n" not in message
    assert TIMEOUT_ENV in (caught.value.hint or "")


def test_waiter_is_told_once_who_holds_the_lock(tmp_path: Path) -> None:
    init_workspace(tmp_path, name="shop")
    seen: list[LockWait] = []
    left: list[bool] = []

    @contextmanager
    def on_wait(wait: LockWait) -> Iterator[None]:
        seen.append(wait)
        yield
        left.append(True)

    with (
        held_elsewhere(tmp_path, seconds=1) as holder,
        workspace_lock(tmp_path, timeout=30, on_wait=on_wait),
    ):
        assert holds_lock(tmp_path)
        assert holder.wait(timeout=5) == 0  # had to finish before this got the lock
    assert [w.holder for w in seen] == [holder.pid]
    assert seen[0].root == tmp_path.resolve()
    assert left == [True]


def test_lock_of_a_killed_process_is_free_at_once(tmp_path: Path) -> None:
    init_workspace(tmp_path, name="shop")
    with held_elsewhere(tmp_path) as holder:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        with workspace_lock(tmp_path, timeout=2):
            assert holds_lock(tmp_path)


def test_threads_of_one_process_take_turns(tmp_path: Path) -> None:
    init_workspace(tmp_path, name="shop")
    inside = 0
    most = 0
    guard = threading.Lock()

    def work() -> None:
        nonlocal inside, most
        with workspace_lock(tmp_path, timeout=10):
            with guard:
                inside += 1
                most = max(most, inside)
            time.sleep(0.02)
            with guard:
                inside -= 1

    threads = [threading.Thread(target=work) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most == 1


def test_lock_file_lives_in_a_self_ignoring_state_dir(tmp_path: Path) -> None:
    init_workspace(tmp_path, name="shop")
    with workspace_lock(tmp_path):
        pid = (tmp_path / STATE_DIR / LOCK_FILE).read_text().strip()
        assert pid == str(os.getpid())
    gitignore = (tmp_path / STATE_DIR / ".gitignore").read_text()
    assert "*" in gitignore.splitlines()
    assert (tmp_path / STATE_DIR / LOCK_FILE).exists()  # never deleted under a workspace


def test_state_dir_goes_when_no_workspace_was_created(tmp_path: Path) -> None:
    with workspace_lock(tmp_path):
        assert (tmp_path / STATE_DIR / LOCK_FILE).exists()
    assert list(tmp_path.iterdir()) == []


def test_lock_of_a_missing_directory_is_one_error(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="does not exist"), workspace_lock(tmp_path / "x"):
        pass


@pytest.mark.parametrize("value", ["soon", "-1", "nan", "inf"])
def test_bad_timeout_setting_is_a_usage_error(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(TIMEOUT_ENV, value)
    with pytest.raises(UsageError, match=TIMEOUT_ENV):
        lock_timeout()


def test_timeout_setting_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TIMEOUT_ENV, "7.5")
    assert lock_timeout() == 7.5
    monkeypatch.delenv(TIMEOUT_ENV)
    assert lock_timeout() == 120


def test_locked_workspace_rereads_a_file_saved_by_someone_else(tmp_path: Path) -> None:
    mine = init_workspace(tmp_path, name="shop")
    theirs = load_workspace(tmp_path / "msgen.yaml")
    theirs.model.name = "store"
    theirs.save()
    with mine.locked():
        assert mine.model.name == "store"
    mine.model.name = "unsaved"
    with mine.locked():
        assert mine.model.name == "unsaved"  # the file did not change: nothing re-read


def test_locked_workspace_outside_a_workspace_writes_nothing(tmp_path: Path) -> None:
    from msgen.errors import WorkspaceNotFoundError

    with pytest.raises(WorkspaceNotFoundError), locked_workspace(tmp_path):
        pass
    assert list(tmp_path.iterdir()) == []


def test_lock_workspace_locks_the_root_found_upward(tmp_path: Path) -> None:
    init_workspace(tmp_path, name="shop")
    (tmp_path / "orders" / "src").mkdir(parents=True)
    with lock_workspace(tmp_path / "orders" / "src") as root:
        assert root == tmp_path.resolve()
        assert holds_lock(tmp_path)
    assert not (tmp_path / "orders" / "src" / STATE_DIR).exists()
