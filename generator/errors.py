"""Problems found in the user's input, reported one line each."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with one input: where it is, which key, and what is wrong."""

    file: str
    key: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        key = f" {self.key}:" if self.key else ""
        message = " ".join(self.message.split())  # one line per problem, whatever the cause said
        return f"{where}:{key} {message}"


class InputError(Exception):
    """Raised with every problem found, so the CLI can print them all and exit 2."""

    def __init__(self, problems: list[Problem]):
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = sorted(problems, key=lambda p: (p.file, p.line or 0, p.key, p.message))
