"""The one user-facing error type.

Everything a user can get wrong (a bad option, a bad file, an invalid spec, an impossible
layout) raises :class:`UserError`. The CLI catches it once, at its boundary, and prints one
line to stderr with exit code 2: no traceback. Internal invariants use ``assert``.
"""

from __future__ import annotations

USER_ERROR_EXIT = 2


class UserError(Exception):
    """A mistake in what the user asked for; the message says what was wrong and what is valid."""

    exit_code = USER_ERROR_EXIT

    def __init__(self, message: str) -> None:
        # One line: the CLI prints exactly this, so collapse any newlines a caller let in.
        super().__init__(" ".join(str(message).split()))

    @property
    def message(self) -> str:
        return str(self)


def one_of(value: object, valid: object) -> str:
    """Phrase 'X is not valid; valid: a, b, c' the same way everywhere."""
    if isinstance(valid, (list, tuple, set, frozenset)):
        valid = ", ".join(str(v) for v in sorted(valid, key=str))
    return f"{value!r} is not valid; valid: {valid}"
