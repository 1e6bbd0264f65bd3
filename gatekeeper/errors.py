"""Errors that stop a run with exit code 2: bad usage, configuration or policies."""

from __future__ import annotations


class UsageError(Exception):
    """Exit code 2. Carries the file (and line) at fault where there is one."""

    def __init__(self, message: str, file: str = "", line: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line

    def __str__(self) -> str:
        where = (
            f"{self.file}:{self.line}: "
            if self.file and self.line
            else (f"{self.file}: " if self.file else "")
        )
        return f"{where}{self.message}"


class PolicyError(UsageError):
    """A policy file that is invalid: schema, CEL, duplicate id."""


class ConfigError(UsageError):
    """A configuration file that is invalid."""
