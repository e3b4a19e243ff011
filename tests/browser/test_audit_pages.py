"""The audit log and integrations pages on a phone-sized screen: nothing wider than the screen, filters usable."""
import json

import pytest

from app.audit import record
from app.security.integrations import create_integration_token
from tests.conftest import TEST_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_audit_and_integrations_on_a_phone(browser, live_server, tenant, admin, member, artifacts):
    long_label = "Zhang Wei-" + "x" * 150
    record("person.update", target=member, changes={"before": {"title": "工程师" * 30},
                                                    "after": {"title": long_label}})
    create_integration_token(tenant, "客户关系管理 CRM", ["directory:read", "messages:write"], 30)
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True,
                                  has_touch=True, device_scale_factor=2)
    page = context.new_page()
    page.goto(f"http://localhost:{live_server}/login")
    page.fill("#login", "alice")
    page.fill("#password", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"http://localhost:{live_server}/")

    page.goto(f"http://localhost:{live_server}/admin/audit/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert page.locator(".audit-entry").count() >= 3
    page.screenshot(path=str(artifacts / "audit-phone.png"), full_page=True)
    page.fill("#actor", "alice")
    page.select_option("#action", "login")
    page.click(".filter-buttons button[type=submit]")
    page.wait_for_url("**/admin/audit/?*")
    actions = page.locator(".audit-entry").evaluate_all("nodes => nodes.map(n => n.dataset.action)")
    assert actions == ["login.success"], json.dumps(actions)

    page.goto(f"http://localhost:{live_server}/admin/integrations/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert "客户关系管理 CRM" in page.locator("table").inner_text()
    page.screenshot(path=str(artifacts / "integrations-phone.png"), full_page=True)
    context.close()
