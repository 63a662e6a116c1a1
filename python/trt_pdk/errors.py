"""The one exception type for user mistakes.

The CLI prints a :class:`UserError` as one paragraph (what is wrong, what to do) and
exits with code 2, without a traceback. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class UserError(Exception):
    """A problem the user can fix: bad input, a missing file, an absent dependency."""

    exit_code = 2


class Skipped(Exception):  # noqa: N818 - reads as a status, not an error
    """A stage or check cannot run here; the message says why and how to enable it."""
