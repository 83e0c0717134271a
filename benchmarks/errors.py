"""The one exception type that the command-line tools turn into a one-line error."""

__all__ = ["UserError"]


class UserError(Exception):
    """Bad input a user can fix: the message says what is wrong and how to fix it."""
