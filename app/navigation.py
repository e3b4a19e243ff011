"""The feature entries the navigation can show; each feature registers its own, brands pick and order them."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NavEntry:
    name: str
    endpoint: str
    label: object  # a lazy translatable string


_entries: dict[str, NavEntry] = {}


def register(name: str, endpoint: str, label) -> None:
    _entries[name] = NavEntry(name, endpoint, label)


def entries(names: list[str]) -> list[NavEntry]:
    """The registered entries among names, in that order (entries of features not installed are skipped)."""
    return [_entries[n] for n in names if n in _entries]


@dataclass(frozen=True)
class Todo:
    """Something waiting for a person, shown on their home page."""

    text: str
    url: str


_todo_sources: list = []


def register_todos(source) -> None:
    """A feature's function (tenant, person) -> [Todo] of what waits for the person there."""
    _todo_sources.append(source)


def todos(tenant, person) -> list[Todo]:
    """What waits for the person across the features."""
    return [todo for source in _todo_sources for todo in source(tenant, person)]
