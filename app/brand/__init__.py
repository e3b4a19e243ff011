"""The tenant's brand on every page: stylesheet, icons, names, button labels and navigation."""
from __future__ import annotations

import peewee
from flask import current_app, g, url_for
from flask_babel import get_locale

from app import navigation
from app.brand.pack import LABEL_NAMES
from app.brand.service import ActiveBrand, brand_for



class BrandView:
    """What templates read: texts in the page's language, labels with translated defaults, URLs."""

    def __init__(self, brand: ActiveBrand, locale: str):
        self.brand = brand
        self.locale = locale

    @property
    def product_name(self) -> str:
        return self.brand.text("product_name", self.locale)

    @property
    def company_name(self) -> str:
        return self.brand.text("company_name", self.locale)

    @property
    def login_headline(self) -> str:
        return self.brand.text("login_headline", self.locale)

    @property
    def login_text(self) -> str:
        return self.brand.text("login_text", self.locale)

    @property
    def theme_color(self) -> str:
        return self.brand.settings.colors["primary"]

    def label(self, key: str) -> str:
        return self.brand.label(key, self.locale) or LABEL_NAMES[key]

    @property
    def css_url(self) -> str:
        return url_for("brand.stylesheet", digest=self.brand.css_digest)

    def asset_url(self, name: str) -> str | None:
        digest = self.brand.assets.get(name)
        return url_for("brand.asset", digest=digest, name=name) if digest else None

    @property
    def nav(self):
        return [(entry, self.asset_url(f"nav-{entry.name}")) for entry in navigation.entries(self.brand.settings.navigation)]

    @property
    def custom_buttons(self):
        return [(b["label"], b["url"], self.asset_url(b["icon"]) if b.get("icon") else None)
                for b in self.brand.settings.custom_buttons]


def current_brand() -> ActiveBrand:
    """This request's brand, loaded once per request."""
    if "brand" not in g:
        g.brand = brand_for(g.get("tenant"), current_app.config["ATRIUM"].branding_dir)
    return g.brand


def init_app(app) -> None:
    from app.brand import views

    app.register_blueprint(views.bp)
    app.register_blueprint(views.admin_bp)

    @app.context_processor
    def _brand():
        try:
            brand = current_brand()
        except peewee.OperationalError:  # the database is down while an error page renders
            brand = brand_for(None, current_app.config["ATRIUM"].branding_dir)
        locale = get_locale()
        return {"brand": BrandView(brand, "zh_Hans" if locale and locale.language == "zh" else "en")}
