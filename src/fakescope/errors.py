"""Errors caused by what the user asked for (a bad argument, an unreadable input, a mismatched run).

The CLI turns these into a one-line message and exit code 2; anything else is a bug and keeps
its traceback.
"""


class UserError(ValueError):
    """A problem with the user's input or request, explained in one line."""
