"""Building one email: plain text and HTML in the recipient's language and time zone, carrying the tenant's brand.

The brand's colours style the HTML (inline, as mail clients want), its product
name heads the message and signs the sender, and every link goes back to the
tenant's own host. The logo travels inside the message as an inline image
(Content-ID) rather than as a link: mail clients block remote images by default,
most show no SVG, and a phone away from the office network could not fetch it
anyway. It is the brand's logo when that is a PNG, else the 192-pixel PNG icon
made from the brand's app icon.
"""
from __future__ import annotations

import datetime
import json
import re
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime as rfc_datetime
from email.utils import make_msgid

import babel.dates
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from app.brand.service import ActiveBrand, asset_for, brand_for
from app.config import Settings
from app.i18n import person_locale
from app.notify import kinds
from app.notify.models import Notification, OutgoingEmail
from app.notify.service import email_settings, labels_for, open_url, sender_address
from app.org.models import Person
from app.org.status import person_zone
from app.tenancy.models import Tenant
from app.tenancy.service import base_url

LOGO_CANDIDATES = ("logo", "icon-192")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


class NoSender(Exception):
    """Neither the tenant nor the installation names a sender address."""


@dataclass(frozen=True)
class Built:
    """An email ready to hand to the relay: the envelope's addresses and the message."""

    sender: str
    recipient: str
    message: EmailMessage

    def as_bytes(self) -> bytes:
        import email.policy

        return self.message.as_bytes(policy=email.policy.SMTP)


def _one_line(text: str, limit: int = 200) -> str:
    return _CONTROL.sub(" ", text).strip()[:limit]


def _when(moment: datetime.datetime, zone, locale: str) -> str:
    aware = moment.replace(tzinfo=datetime.timezone.utc)
    return f"{babel.dates.format_datetime(aware, 'medium', tzinfo=zone, locale=locale)} ({zone.key})"


def logo_png(tenant: Tenant, brand: ActiveBrand, branding_dir: str) -> bytes | None:
    """The PNG the email shows as the brand's logo, or None when the brand has none."""
    for name in LOGO_CANDIDATES:
        digest = brand.assets.get(name)
        found = asset_for(tenant, digest, name, branding_dir) if digest else None
        if found and found[1] == "image/png":
            return found[0]
    return None


def _content(row: OutgoingEmail, params: dict, labels: dict, product: str, base: str, zone, locale: str) -> dict:
    """Subject, heading and items of the email, in the current language."""
    if row.kind == "digest":
        ids = [i for i in params.get("ids", []) if isinstance(i, int)]
        rows = (Notification.select().where(Notification.id.in_(ids or [0]) & (Notification.person == row.person_id))
                .order_by(Notification.created_at.desc(), Notification.id.desc()))
        items = []
        for n in rows:
            n_params = json.loads(n.params or "{}")
            items.append({"title": kinds.title(n.kind, n_params, labels), "text": n_params.get("text") or "",
                          "when": _when(n.created_at, zone, locale), "url": base + open_url(n.id)})
        count = int(params.get("count") or len(items))
        return {"subject": _("%(product)s: %(count)d unread notifications", product=product, count=count),
                "heading": _("You have %(count)d unread notifications", count=count), "items": items,
                "intro": _("Your daily digest of what you have not read yet."),
                "action_url": base + "/notifications", "action_label": _("Open the notification centre")}
    text = params.get("text") or ""
    if row.kind == "test":
        text = _("Email from %(product)s reaches you.", product=product)
    url = base + (open_url(row.notification_id) if row.notification_id else (row.link or "/notifications"))
    return {"subject": kinds.email_subject(row.kind, params, labels), "heading": kinds.title(row.kind, params, labels),
            "intro": None, "items": [{"title": "", "text": text, "when": _when(row.created_at, zone, locale),
                                      "url": url}],
            "action_url": url, "action_label": _("Open")}


def _plain(content: dict, product: str, footer: str, settings_url: str) -> str:
    parts = [product, content["heading"]] + ([content["intro"]] if content["intro"] else [])
    for item in content["items"]:
        block = ([f"- {item['title']}"] if item["title"] else []) + ([item["text"]] if item["text"] else [])
        block += [item["when"]] + ([item["url"]] if item["title"] else [])
        parts.append("\n".join(block))
    parts += [f"{content['action_label']}: {content['action_url']}", f"-- \n{footer}\n{settings_url}"]
    return "\n\n".join(parts) + "\n"


def build_message(row: OutgoingEmail, settings: Settings) -> Built:
    """The email for an outbox row, made now in the person's current language, zone and brand."""
    tenant = Tenant.get_by_id(row.tenant_id)
    person = Person.get_by_id(row.person_id)
    tenant_settings = email_settings(tenant)
    from_address = sender_address(tenant_settings, settings.smtp.from_address)
    if not from_address:
        raise NoSender()
    locale = person_locale(person, tenant, settings.default_locale)
    zone = person_zone(person, settings.default_timezone)
    brand = brand_for(tenant, settings.branding_dir)
    base = base_url(tenant, settings.public_url)
    params = json.loads(row.params or "{}")
    logo = logo_png(tenant, brand, settings.branding_dir)
    logo_cid = make_msgid(domain=row.message_id.rsplit("@", 1)[-1].rstrip(">")) if logo else None
    with force_locale(locale):
        product = brand.text("product_name", locale)
        content = _content(row, params, labels_for(tenant, locale), product, base, zone, locale)
        footer = _("Sent by %(product)s for %(company)s. Choose what you receive in your settings:",
                   product=product, company=tenant.name)
        settings_url = base + "/me/settings"
        html = current_app.jinja_env.get_template("email/message.html").render(
            lang="zh-Hans" if locale == "zh_Hans" else "en", product=product, colors=brand.settings.colors,
            radius=int(brand.settings.radius), logo_cid=logo_cid[1:-1] if logo_cid else None, footer=footer,
            settings_url=settings_url, **content)
        text = _plain(content, product, footer, settings_url)
    message = EmailMessage()
    message["Subject"] = _one_line(content["subject"])
    message["From"] = Address(_one_line(tenant_settings.from_name or product, 100), addr_spec=from_address)
    message["To"] = Address(_one_line(person.display_name, 100), addr_spec=row.to_address)
    message["Date"] = rfc_datetime(row.created_at.replace(tzinfo=datetime.timezone.utc))
    message["Message-ID"] = row.message_id
    message["Auto-Submitted"] = "auto-generated"       # RFC 3834: no auto-replies, please
    message["X-Auto-Response-Suppress"] = "All"
    # Base64 bodies: 7-bit clean for any relay, and compact for Chinese.
    message.set_content(text, cte="base64")
    message.add_alternative(html, subtype="html", cte="base64")
    if logo:
        message.get_payload()[1].add_related(logo, maintype="image", subtype="png", cid=logo_cid,
                                             filename="logo.png")
    message["Content-Language"] = "zh-Hans" if locale == "zh_Hans" else "en"   # after the parts: set_content drops it
    return Built(from_address, row.to_address, message)
