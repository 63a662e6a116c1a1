"""One run at a time per run folder, and nothing left behind by runs that died.

:class:`RunLock` holds ``.<name>.lock`` beside the run folder with ``flock`` for the whole
run: a second run on the folder is refused naming the holder's PID, and the lock of a dead
process is free again (the kernel drops it), so a stale lock is simply taken over. While
holding it, a run removes what dead holders left: their temporary folders
(``.<name>.XXXX``), the servers and python-backend stubs started from them and the shared
memory those stubs held.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from trt_pdk.errors import UserError


class RunLock:
    """``with RunLock(run_dir):`` the caller is the only run writing `run_dir`."""

    def __init__(self, run_dir: str | Path) -> None:
        run_dir = Path(run_dir)
        self.path = run_dir.with_name(f".{run_dir.name}.lock")
        self.run_dir = run_dir
        self._fd: int | None = None

    def __enter__(self) -> RunLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise UserError(
                f"the run folder {self.run_dir} is in use by another `trt-pdk pipeline run` (PID {holder}). "
                f"Wait for it to finish, stop it, or pass another --run-dir."
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing drops the flock
            self._fd = None


def leftover_folders(run_dir: str | Path) -> list[Path]:
    """Temporary folders of earlier runs on `run_dir` (only call while holding its lock)."""
    run_dir = Path(run_dir)
    if not run_dir.parent.is_dir():
        return []
    found = [
        p
        for p in run_dir.parent.glob(f".{run_dir.name}.*")
        if p.is_dir() and not p.is_symlink() and p.name != f".{run_dir.name}.lock"
    ]
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)


def stop_leftover_processes(folder: str | Path) -> None:
    """Stops the server a dead run started from `folder`, its stubs, and frees their shared memory."""
    from trt_pdk.triton.server import clean_run_dir

    serve = Path(folder) / "serve"
    if serve.is_dir():
        clean_run_dir(serve)
