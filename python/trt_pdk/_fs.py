"""Atomic writes: readers see the old file or the new one, never half of one.

Files and folders get the modes a plain ``open``/``mkdir`` would give them under the
process umask (``tempfile`` alone makes them 0600/0700, which e.g. a non-root container
serving a model repository cannot read). A write that fails leaves neither a temporary
file nor a parent folder it created behind.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from trt_pdk.errors import UserError


def umask() -> int:
    """The process umask, read without changing it where Linux reports it."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)  # elsewhere: set and restore (not thread-safe, hence the fallback only)
    os.umask(mask)
    return mask


def check_output_file(target: str | os.PathLike[str], what: str = "output") -> Path:
    """Raises UserError unless `target` can become a file: not a folder, under a writable folder.

    Call it where a command starts, so a bad ``-o`` fails before any work is done.
    """
    target = Path(target)
    if target.is_dir():
        raise UserError(
            f"{what} {target} is an existing folder; name a file instead (e.g. {target / 'out'}), "
            "or remove the folder."
        )
    _check_parent(target, what)
    return target


def check_output_folder(target: str | os.PathLike[str], what: str = "output folder") -> Path:
    """Raises UserError unless `target` is, or can be created as, a writable folder."""
    target = Path(target)
    if target.exists() and not target.is_dir():
        raise UserError(f"{what} {target} is a file, not a folder; choose another path or remove it.")
    if target.is_dir():
        if not os.access(target, os.W_OK | os.X_OK):
            raise UserError(f"{what} {target} is not writable; fix its permissions or choose another.")
        return target
    _check_parent(target, what)
    return target


def _check_parent(target: Path, what: str) -> None:
    probe = target.parent
    while not probe.exists() and not probe.is_symlink() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise UserError(
            f"cannot write {what} {target}: {probe} is a file, not a folder. Choose another path."
        )
    if not os.access(probe, os.W_OK | os.X_OK):
        raise UserError(
            f"cannot write {what} {target}: the folder {probe} is not writable. Fix its permissions "
            "or choose another path."
        )


@contextlib.contextmanager
def _parents(target: Path, what: str) -> Iterator[None]:
    """Creates `target`'s missing parent folders; removes the ones it made if the body fails."""
    missing = []
    probe = target.parent
    while not probe.is_dir() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    try:
        for folder in reversed(missing):
            folder.mkdir()
    except (FileExistsError, NotADirectoryError):
        _remove_empty(missing)
        raise UserError(
            f"cannot write {what} {target}: a part of its path is a file, not a folder. Choose another path."
        ) from None
    except BaseException:
        _remove_empty(missing)
        raise
    try:
        yield
    except BaseException:
        _remove_empty(missing)
        raise


def _remove_empty(folders: list[Path]) -> None:
    for folder in folders:  # deepest first
        with contextlib.suppress(OSError):
            folder.rmdir()


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str], what: str = "output") -> Iterator[Path]:
    """Yields a temporary path beside `target`; renames it over `target` on success.

    On an exception the temporary file is removed and `target` keeps its old content.
    """
    target = Path(target)
    check_output_file(target, what)
    with _parents(target, what):
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        os.fchmod(fd, 0o666 & ~umask())
        os.close(fd)
        tmp_path = Path(tmp)
        try:
            yield tmp_path
            tmp_path.replace(target)
        except BaseException:
            tmp_path.unlink(missing_ok=True)
            raise


def write_text_atomic(target: str | os.PathLike[str], text: str) -> Path:
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(target)


def write_bytes_atomic(target: str | os.PathLike[str], data: bytes) -> Path:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return Path(target)


@contextlib.contextmanager
def atomic_directory(target: str | os.PathLike[str], what: str = "output folder") -> Iterator[Path]:
    """Yields a temporary folder beside `target`; swaps it into place on success."""
    target = Path(target)
    if target.exists() and not target.is_dir():
        raise UserError(f"{what} {target} is a file, not a folder; choose another path or remove it.")
    _check_parent(target, what)
    with _parents(target, what):
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
        tmp.chmod(0o777 & ~umask())
        try:
            yield tmp
            if target.exists():
                old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
                old.rmdir()
                target.replace(old)
                tmp.replace(target)
                shutil.rmtree(old, ignore_errors=True)
            else:
                tmp.replace(target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise


class PidLock:
    """An exclusive ``flock`` on `path` that records the holder's PID.

    The kernel drops the lock when its holder dies, so a stale lock is simply taken over.
    ``acquire()`` raises ``UserError(busy(pid))`` while another live process holds it.
    """

    def __init__(self, path: str | Path, busy: Callable[[str], str]) -> None:
        self.path = Path(path)
        self._busy = busy
        self._fd: int | None = None

    def acquire(self) -> None:
        import fcntl

        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise UserError(self._busy(holder)) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing drops the flock
            self._fd = None
