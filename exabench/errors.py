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


def one_of(value: object, valid: object, *, name: str | None = None) -> str:
    """Phrase ``'x' is not valid; valid: a, b, c`` the same way everywhere; with ``name``,
    ``name = 'x' is not valid; ...`` (the field first, so the CLI can name its flag instead).

    ``valid`` is a list or tuple (its order kept: it often means something, cheapest first), a
    set or mapping (sorted), or a phrase (``"a number in (0, 1)"``)."""
    if isinstance(valid, (set, frozenset, dict)):
        valid = sorted(valid, key=str)
    if isinstance(valid, (list, tuple)):
        valid = ", ".join(str(v) for v in valid)
    return f"{name + ' = ' if name else ''}{value!r} is not valid; valid: {valid}"
