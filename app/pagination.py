"""Pages of query results."""
from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass
class Page:
    items: list
    number: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages


def paginate(query, page_arg, per_page: int = 50) -> Page:
    """One page of a peewee query; a page number out of range or not a number is clamped."""
    try:
        number = max(1, int(page_arg or 1))
    except (TypeError, ValueError):
        number = 1
    total = query.count()
    number = min(number, max(1, math.ceil(total / per_page)))
    return Page(list(query.paginate(number, per_page)), number, per_page, total)
