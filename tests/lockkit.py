"""Another process holding a workspace lock, for tests of waiting and timeouts."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[1] / "src")
HOLDER = """
import sys, time
from pathlib import Path
from msgen.locking import workspace_lock
with workspace_lock(Path(sys.argv[1])):
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def msgen_env(**extra: str) -> dict[str, str]:
    """The environment of a subprocess that imports this checkout's msgen."""
    return {**os.environ, "PYTHONPATH": SRC, **extra}


@contextmanager
def held_elsewhere(root: Path, seconds: float = 120) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the lock of ``root`` until it is killed (or ``seconds``)."""
    with subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(root), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
        env=msgen_env(),
    ) as process:
        try:
            assert process.stdout is not None
            assert process.stdout.readline().strip() == "locked"
            yield process
        finally:
            process.kill()
            process.wait()
