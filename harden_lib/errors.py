"""Exceptions that carry a message meant for a person, never a value that could be a secret."""

from __future__ import annotations


class HardenError(Exception):
    """A problem the user can fix (bad input, missing file); printed without a traceback."""


class ParamsError(HardenError):
    """A params file is unreadable or invalid. The message names the file and the key path."""

    def __init__(self, file: object, key: str, problem: str) -> None:
        self.file = str(file)
        self.key = key
        self.problem = problem
        where = f"{self.file}: {key}: " if key else f"{self.file}: "
        super().__init__(where + problem)
