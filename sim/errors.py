"""The one error type users see: it names the key, the bad value and what would be valid."""

from __future__ import annotations

from enum import Enum


class ConfigError(ValueError):
    """A configuration value the simulator cannot use.

    The message is one line, so the CLI can print it as is: ``key=value: why; valid: ...``.
    """

    def __init__(self, key: str, value: object, valid: str) -> None:
        self.key = key
        self.value = value
        self.valid = valid
        shown = value.value if isinstance(value, Enum) else value  # an option, as it was typed
        super().__init__(f"{key}={shown!r}: {valid}")

    @classmethod
    def from_line(cls, line: str) -> ConfigError:
        """The error of a one-line message already written as ``key=value: why``."""
        head, _, why = line.partition(": ")
        key, _, value = head.partition("=")
        error = cls(key, value, why)
        error.args = (line,)
        return error
