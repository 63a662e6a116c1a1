"""The one exception type for user mistakes, and the CLI's rule for everything else.

The CLI prints a :class:`UserError` as one paragraph (what is wrong, what to do) and
exits with code 2, without a traceback. An :class:`OSError` that no check at entry can
rule out (disk full, permission denied, read-only file system) is the environment's
fault and reads the same way (:func:`environment_error`). Anything else is a bug: the
CLI writes its traceback to a file (:func:`write_crash_report`) and exits 1 with one
line saying so.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import tempfile
import time
import traceback
from pathlib import Path

# Longest paragraph the CLI prints: an error that quotes its input (a YAML alias bomb, a
# binary file) must not flood the terminal.
MAX_MESSAGE_CHARS = 4000
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")

# OSErrors caused by the machine, not by our code: no validation at entry prevents them.
_ENVIRONMENT_ERRNOS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is exhausted",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.ENAMETOOLONG: "the file name is too long",
    errno.EMFILE: "this process has too many open files",
    errno.ENFILE: "the system has too many open files",
}


class UserError(Exception):
    """A problem the user can fix: bad input, a missing file, an absent dependency."""

    exit_code = 2


class Skipped(Exception):  # noqa: N818 - reads as a status, not an error
    """A stage or check cannot run here; the message says why and how to enable it."""


def environment_error(exc: OSError) -> UserError | None:
    """The UserError for an OSError the machine caused (disk full, permissions), else None."""
    why = _ENVIRONMENT_ERRNOS.get(exc.errno or 0)
    if why is None:
        return None
    where = f" on {exc.filename}" if exc.filename else ""
    if exc.filename2:
        where += f" -> {exc.filename2}"
    fix = {
        errno.ENOSPC: "free some space or write somewhere else",
        errno.EDQUOT: "free some space or write somewhere else",
        errno.ENAMETOOLONG: "choose a shorter path",
        errno.EMFILE: "raise the open-file limit (ulimit -n)",
        errno.ENFILE: "close other programs or raise the system's open-file limit",
    }.get(exc.errno or 0, "fix the permissions or choose another path")
    return UserError(f"{why}{where} ({exc.strerror}); {fix}.")


def strip_ansi(text: str) -> str:
    """`text` without terminal colour and cursor codes."""
    return _ANSI.sub("", text)


def paragraph(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """`text` as one paragraph: no ANSI codes, no blank lines, at most `limit` characters."""
    text = strip_ansi(text).replace("\r", "")
    lines = [line.rstrip() for line in text.strip().splitlines() if line.strip()]
    text = "\n".join(lines)
    if len(text) > limit:
        text = f"{text[:limit]}... ({len(text) - limit} more characters left out)"
    return text


def crash_folder() -> Path:
    """Where tracebacks of internal errors go: ``$XDG_CACHE_HOME/trt-pdk/crashes`` (else ~/.cache)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "trt-pdk" / "crashes"


KEEP_CRASH_REPORTS = 50


def write_crash_report(exc: BaseException, argv: list[str]) -> Path | None:
    """Writes `exc`'s traceback and the command line to a new file; returns its path.

    Tries the cache folder, then the temp folder; None when neither is writable. The
    folder keeps the newest ``KEEP_CRASH_REPORTS`` reports, so a crash loop cannot fill it.
    """
    text = (
        f"trt-pdk {' '.join(argv)}\n"
        f"{time.strftime('%Y-%m-%dT%H:%M:%S%z')} pid {os.getpid()}\n\n"
        + "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    )
    for folder in (crash_folder(), Path(tempfile.gettempdir()) / "trt-pdk-crashes"):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(prefix=time.strftime("%Y%m%d-%H%M%S-"), suffix=".txt", dir=folder)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            _prune_crash_reports(folder, keep=Path(name))
            return Path(name)
        except OSError:
            continue
    return None


def _prune_crash_reports(folder: Path, keep: Path) -> None:
    """Deletes all but the newest ``KEEP_CRASH_REPORTS`` reports (names sort by time)."""
    reports = sorted(folder.glob("*.txt"), key=lambda p: (p.stat().st_mtime_ns, p.name))
    for old in reports[:-KEEP_CRASH_REPORTS]:
        if old != keep:
            with contextlib.suppress(OSError):
                old.unlink()
