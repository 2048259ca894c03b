"""Progress on a terminal (one line, rewritten), plain lines otherwise (CI logs, pipes); counts
("linting 3/7 templates") on a terminal only. And `plural`, for every count the commands print."""

from __future__ import annotations

import sys
from typing import TextIO


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """`1 template`, `2 templates`, `0 templates` (`nouns` for irregular plurals)."""
    return f"{count} {noun if count == 1 else nouns or noun + 's'}"


class Progress:
    def __init__(self, stream: TextIO | None = None, quiet: bool = False):
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.quiet = quiet
        self._width = 0

    def __call__(self, message: str) -> None:
        if self.quiet:
            return
        if self.tty:
            text = message[:100]
            self.stream.write("\r" + text.ljust(self._width))
            self._width = len(text)
        else:
            self.stream.write(message + "\n")
        self.stream.flush()

    def count(self, what: str, done: int, total: int) -> None:
        """`<what> <done>/<total>` on a terminal; nothing in a log, where it would be noise."""
        if self.tty:
            self(f"{what} {done}/{total}")

    def done(self) -> None:
        if self.tty and self._width and not self.quiet:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
            self._width = 0
