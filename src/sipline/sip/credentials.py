"""Where the registrar gets SIP passwords: a small protocol the platform's database implements."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Literal, Protocol


@dataclass(frozen=True, slots=True)
class Credential:
    """A SIP account's secret. ``enabled=False`` (locked customer) fails like a wrong password."""

    username: str
    password: str
    enabled: bool = True


class Cache(Enum):
    MISS = "miss"


CachedCredential = Credential | None | Literal[Cache.MISS]


class CredentialSource(Protocol):
    """Consulted on every authenticated REGISTER, so resets and locks apply at the next one."""

    def cached(self, username: str) -> CachedCredential:
        """The credential (or None for a user known not to exist) when it is at hand without
        waiting, else ``Cache.MISS``; lets the registrar answer a REGISTER without a task."""
        ...

    async def lookup(self, username: str) -> Credential | None:
        """The credential, or None for an unknown user (after a ``Cache.MISS``)."""
        ...


class StaticCredentialSource:
    """In-memory credentials (tests, development); mutate ``credentials`` to reset or lock."""

    def __init__(self, credentials: Mapping[str, str | Credential] | None = None) -> None:
        self.credentials: dict[str, Credential] = {}
        for username, value in (credentials or {}).items():
            self.set(username, value)
        self.lookups = 0

    def set(self, username: str, value: str | Credential) -> None:
        self.credentials[username] = value if isinstance(value, Credential) else Credential(username, value)

    def cached(self, username: str) -> CachedCredential:
        self.lookups += 1
        return self.credentials.get(username)

    async def lookup(self, username: str) -> Credential | None:
        self.lookups += 1
        return self.credentials.get(username)
