"""The tenant's brand as templates see it."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Brand:
    product_name: str = "Atrium"
    company_name: str = ""


DEFAULT_BRAND = Brand()


def init_app(app) -> None:
    @app.context_processor
    def _brand():
        return {"brand": DEFAULT_BRAND}
