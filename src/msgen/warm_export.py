"""A service's contract export, run by a Python that started while msgen was working.

:func:`msgen.contracts.write_contract_file` runs ``python -m <package>.contracts`` in the
service's directory. Half of that run is the interpreter starting and importing pydantic;
during a quick update msgen knows early that it will need the export, so it starts that
Python first (:class:`WarmExport`), lets it import pydantic while msgen renders and merges,
and hands it the directory when the files are ready. The run is the same as ``python -m``:
the service's directory first on ``sys.path``, then its ``src``, then ``PYTHONPATH``; the
module runs as ``__main__`` with no arguments; bytecode is not written. It exits without the
interpreter's last garbage collection (its objects are frozen), which only frees memory.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from msgen.errors import ContractError

__all__ = ["WarmExport"]

_BOOT = """
import gc, os, runpy, sys
# What every export imports, loaded ahead: pydantic (and its plugin scan, which the first
# model class runs), argparse and json for the module, the types of the event fields.
import argparse, datetime, decimal, enum, json, typing, uuid
import pydantic, pydantic.json_schema
class _Warm(pydantic.BaseModel):
    field: int = 0
del _Warm
line = sys.stdin.readline().rstrip("\\n")
if not line:
    raise SystemExit(0)
directory, module = line.split("\\0")
os.chdir(directory)
sys.path[0] = directory
sys.path.insert(1, os.path.join(directory, "src"))
del sys.argv[1:]
try:
    runpy.run_module(module, run_name="__main__", alter_sys=True)
finally:
    # The files are written: exit without the interpreter's last garbage collection over
    # pydantic's objects (a third of the time after the schemas; the memory goes anyway).
    gc.freeze()
"""


class WarmExport:
    """A Python waiting to run one service's ``<package>.contracts`` export."""

    def __init__(self) -> None:
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        self._process: subprocess.Popen[str] | None = subprocess.Popen(
            [sys.executable, "-c", _BOOT],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
        )
        self._directory = Path()

    def start(self, service_dir: Path, *, package: str) -> None:
        """Hand over ``service_dir``: the export runs while msgen goes on."""
        if self._process is None or self._process.stdin is None:
            raise ContractError("the contract export already ran")
        self._directory = service_dir
        try:
            self._process.stdin.write(f"{service_dir}\0{package}.contracts\n")
            self._process.stdin.flush()
        except BrokenPipeError:
            pass  # it died early: wait() reports what it said

    def wait(self) -> None:
        """Wait for the export; ``contracts/`` is written (as ``write_contract_file`` does)."""
        process, self._process = self._process, None
        if process is None:
            raise ContractError("the contract export already ran")
        stdout, stderr = process.communicate()
        if process.returncode != 0:
            from msgen.contracts import CONTRACT_FILE

            lines = (stderr or stdout).strip().splitlines()
            raise ContractError(
                f"could not write {CONTRACT_FILE.as_posix()} in {self._directory}: "
                f"{lines[-1] if lines else process.returncode}"
            )

    def __enter__(self) -> WarmExport:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the waiting Python when the export is not needed after all."""
        process, self._process = self._process, None
        if process is not None:
            process.kill()
            process.communicate()
