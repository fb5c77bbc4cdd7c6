"""The one phrasing of 'not valid' errors."""

from __future__ import annotations

from exabench.errors import UserError, one_of


def test_one_of_keeps_a_sequence_in_order_and_sorts_a_set() -> None:
    assert (
        one_of("some", ("none", "selective", "full"))
        == "'some' is not valid; valid: none, selective, full"
    )
    assert one_of(4, {3, 1, 2}, name="zero") == "zero = 4 is not valid; valid: 1, 2, 3"
    assert (
        one_of(1.5, "a number in (0, 1)", name="alpha")
        == "alpha = 1.5 is not valid; valid: a number in (0, 1)"
    )


def test_a_user_error_is_one_line() -> None:
    assert UserError("a\nb  c").message == "a b c"
