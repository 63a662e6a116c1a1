"""One run at a time per run folder, and nothing left behind by runs that died.

:class:`RunLock` holds ``.<name>.lock`` beside the run folder with ``flock`` for the whole
run: a second run on the folder is refused naming the holder's PID, and the lock of a dead
process is free again (the kernel drops it), so a stale lock is simply taken over. While
holding it, a run removes what dead holders left: their temporary folders
(``.<name>.XXXX``), the servers and python-backend stubs started from them and the shared
memory those stubs held.
"""

from __future__ import annotations

from pathlib import Path

from trt_pdk._fs import PidLock


class RunLock:
    """``with RunLock(run_dir):`` the caller is the only run writing `run_dir`."""

    def __init__(self, run_dir: str | Path) -> None:
        run_dir = Path(run_dir)
        self.path = run_dir.with_name(f".{run_dir.name}.lock")
        self.run_dir = run_dir
        self._lock = PidLock(
            self.path,
            lambda holder: (
                f"the run folder {run_dir} is in use by another `trt-pdk pipeline run` (PID {holder}). "
                f"Wait for it to finish, stop it, or pass another --run-dir."
            ),
        )

    def __enter__(self) -> RunLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self._lock.release()


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
