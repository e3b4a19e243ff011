"""The demo install: two tenants with their own org charts and brands on one server."""
from __future__ import annotations

from dataclasses import dataclass

from app.brand.pack import build_pack, read_folder
from app.brand.service import apply_pack, branding_dir, current_version
from app.org.demo import DEPARTMENTS, SMALL_DEPARTMENTS, DemoResult, create_demo


@dataclass(frozen=True)
class DemoTenant:
    slug: str
    name: str
    host: str
    pack: str
    departments: list
    email_domain: str
    is_default: bool


DEMO_TENANTS = (
    DemoTenant("demo", "演示科技 Demo Tech", "demo.localhost", "ocean", DEPARTMENTS, "demo.example.com", True),
    DemoTenant("sakura", "樱之美 Sakura Cosmetics", "sakura.localhost", "sakura", SMALL_DEPARTMENTS,
               "sakura.example.com", False),
)


def create_demo_install(configured_branding_dir: str = "") -> list[tuple[DemoTenant, DemoResult]]:
    """Create (or refresh the admin passwords of) the demo tenants, each with its brand pack applied once."""
    results = []
    for spec in DEMO_TENANTS:
        result = create_demo(spec.slug, spec.name, spec.host, departments=spec.departments,
                             email_domain=spec.email_domain, is_default=spec.is_default)
        if current_version(result.tenant) is None:
            pack = build_pack(read_folder(branding_dir(configured_branding_dir) / spec.pack))
            apply_pack(result.tenant, pack, note="demo")
        results.append((spec, result))
    return results
