"""Approvals and attendance in real browsers: a leave request approved in another browser, seen live by its
requester; checking in with the browser's position inside and outside the office's geofence."""
import pytest

from app.approvals.models import Approval, ApprovalAction
from app.attendance import service as attendance
from app.attendance.models import AttendanceDay
from tests.browser.conftest import logged_in
from tests.conftest import make_person


pytestmark = [pytest.mark.browser, pytest.mark.slow]

OFFICE = {"latitude": 31.2304, "longitude": 121.4737}


@pytest.fixture
def chart(tenant):
    li = make_person(tenant, "li", display_name="李娜")
    wei = make_person(tenant, "wei", display_name="张伟", manager_id=str(li.id))
    return wei, li




def test_leave_approved_in_another_browser_is_seen_live(browser, live_server, chart, artifacts):
    wei, li = chart
    base = f"http://localhost:{live_server}"
    ctx_li, page_li = logged_in(browser, live_server, "li", viewport={"width": 1100, "height": 800})
    page_li.goto(base + "/approvals/")
    assert page_li.locator("#todo-count").inner_text() == "0"

    ctx_wei, page_wei = logged_in(browser, live_server, "wei", viewport={"width": 390, "height": 844},
                                  is_mobile=True, has_touch=True)
    page_wei.goto(base + "/approvals/new/leave")
    assert "李娜" in page_wei.locator("#route-preview").inner_text()
    page_wei.select_option("#leave_type", "annual")
    page_wei.fill("#starts_on", "2025-03-03")
    page_wei.fill("#ends_on", "2025-03-05")
    page_wei.fill("#reason", "回老家 <b>family</b>")
    page_wei.click("#submit-request")
    page_wei.wait_for_url("**/approvals/*")
    approval = Approval.get()
    assert page_wei.locator("#approval-status").inner_text() == "In progress"
    assert page_wei.evaluate("document.documentElement.scrollWidth") <= 390
    page_wei.screenshot(path=str(artifacts / "approval-requester-phone.png"))

    # The manager's open to-do list fills in by itself, and says who asks.
    page_li.locator(f"#approval-list [data-approval='{approval.id}']").wait_for()
    page_li.locator(".toast", has_text="张伟 asks for your decision.").wait_for()
    page_li.locator("#todo-count", has_text="1").wait_for()
    page_li.click(f"#approval-list [data-approval='{approval.id}'] a")
    page_li.wait_for_url(f"**/approvals/{approval.id}")
    assert page_li.locator(".answer", has_text="<b>family</b>").count() == 1        # shown as text
    page_li.fill("#reason", "好好休息")
    page_li.locator("button[data-label=approve]").dblclick()                        # a second click sends nothing
    page_li.locator("#approval-status", has_text="Approved").wait_for()

    # The requester's page follows without a reload.
    page_wei.locator("#approval-status", has_text="Approved").wait_for()
    page_wei.locator(".toast", has_text="Your request was approved.").wait_for()
    assert "好好休息" in page_wei.locator("#approval-route").inner_text()
    assert page_wei.locator("#withdraw").count() == 0
    page_wei.screenshot(path=str(artifacts / "approval-approved-live.png"))
    assert ApprovalAction.select().where(ApprovalAction.action == "approved").count() == 1
    assert Approval.get_by_id(approval.id).status == "approved"
    ctx_wei.close()
    ctx_li.close()


def test_check_in_with_the_browsers_position(browser, live_server, chart, tenant, artifacts):
    wei, _li = chart
    attendance.save_rule(tenant, {"enabled": "1", "work_start": "09:00", "work_end": "18:00",
                                  "work_days": list("1234567"), "check_in_from": "00:00", "check_in_until": "23:59",
                                  "check_out_from": "00:00", "check_out_until": "23:59", "grace_minutes": "0",
                                  "tolerance_m": "30"})
    attendance.save_place(tenant, None, {"name": "Head office", "latitude": str(OFFICE["latitude"]),
                                         "longitude": str(OFFICE["longitude"]), "radius_m": "150"})
    base = f"http://localhost:{live_server}"

    # Two kilometres away: the server refuses and says how far.
    ctx_far, page_far = logged_in(browser, live_server, "wei", viewport={"width": 390, "height": 844},
                                  is_mobile=True, has_touch=True)
    ctx_far.grant_permissions(["geolocation"], origin=base)
    ctx_far.set_geolocation({"latitude": OFFICE["latitude"] + 0.018, "longitude": OFFICE["longitude"],
                             "accuracy": 20})
    page_far.goto(base + "/attendance/")
    page_far.click("#check-in")
    page_far.locator(".flash-error", has_text="m from Head office").wait_for()
    assert AttendanceDay.select().count() == 0
    ctx_far.close()

    # At the office (a little off its centre): checked in, and the page shows where.
    ctx, page = logged_in(browser, live_server, "wei", viewport={"width": 390, "height": 844}, is_mobile=True,
                          has_touch=True)
    ctx.grant_permissions(["geolocation"], origin=base)
    ctx.set_geolocation({"latitude": OFFICE["latitude"] + 0.0005, "longitude": OFFICE["longitude"],
                         "accuracy": 25})
    page.goto(base + "/attendance/")
    page.click("#check-in")
    page.locator(".flash-success", has_text="Checked in at").wait_for()
    assert "Head office" in page.locator("#checked-in").inner_text()
    assert page.locator("#check-in").is_disabled()
    row = AttendanceDay.get()
    assert row.person_id == wei.id and row.check_in_place.name == "Head office" and 40 <= row.check_in_distance_m <= 70
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(artifacts / "attendance-checked-in-phone.png"))
    ctx.close()
