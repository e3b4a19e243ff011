"""A departing salesperson's contacts in real browsers: the directory disables them, the sync deactivates them,
their manager is offered the handover live and completes it in one step."""
import pytest

from app.contacts import service
from app.contacts.models import Contact
from app.org.ldap.sync import run_sync
from app.org.models import Person
from app.tenancy.scope import TenantScope
from tests.ldap.builder import USER_PASSWORD
from tests.ldap.conftest import configure, directory, pki, slapd  # noqa: F401 - the real directory's fixtures

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def sales(app, tenant, directory):  # noqa: F811 - the imported fixture
    """A sales head and two salespeople in the directory, synced into the tenant."""
    from tests.conftest import make_person

    make_person(tenant, "root", role="admin", display_name="Local Root")
    head = directory.person("head", "Chen Jing", directory.org, email="head@acme.example", title="Head of Sales")
    team = directory.ou("Sales", order=1)
    rep = directory.person("rep", "Zhao Lei", team, email="rep@acme.example", manager=head, title="Sales")
    directory.person("other", "Sun Li", team, email="other@acme.example", manager=head, title="Sales")
    directory.load()
    with app.app_context():
        configure(tenant, directory, max_deactivation_share=0.5)
        assert run_sync(tenant).run.status == "ok"
    return {"rep": rep}


def people(tenant) -> dict[str, Person]:
    return {p.login: p for p in TenantScope(tenant).select(Person)}


def logged_in(browser, port, login_name, **context_options):
    context = browser.new_context(locale="en-US", **context_options)
    page = context.new_page()
    page.goto(f"http://localhost:{port}/login")
    page.fill("#login", login_name)
    page.fill("#password", USER_PASSWORD)          # the directory password, checked against slapd
    page.click("button[data-label=login]")
    page.wait_for_url(f"http://localhost:{port}/")
    return context, page


def test_the_manager_takes_over_a_departed_salespersons_contacts(browser, live_server, app, tenant, directory,  # noqa: F811
                                                                 sales, artifacts):
    base = f"http://localhost:{live_server}"
    # The salesperson adds a customer in the browser; a second one came from an import earlier.
    ctx_rep, page_rep = logged_in(browser, live_server, "rep", viewport={"width": 1100, "height": 800})
    page_rep.goto(f"{base}/contacts/new")
    page_rep.fill("#name", "王芳")
    page_rep.fill("#company", "示例贸易")
    page_rep.fill("#phone_0", "+86 138 0013 8000")
    page_rep.click("button[data-label=save]")
    page_rep.wait_for_url("**/contacts/*")
    assert page_rep.locator("#contact-name").inner_text() == "王芳"
    service.create_contact(tenant, people(tenant)["rep"], {"name": "李雷", "company": "华东电子"})

    # The manager (on a phone) sees the team's contacts, and nothing waiting yet.
    ctx_head, page_head = logged_in(browser, live_server, "head", viewport={"width": 390, "height": 844},
                                    is_mobile=True, has_touch=True)
    page_head.goto(f"{base}/contacts/")
    assert page_head.locator("#contacts li[data-contact]").count() == 2
    assert page_head.locator("#contact-todo-card").is_hidden()
    assert page_head.evaluate("document.documentElement.scrollWidth") <= 390

    # The directory disables the salesperson; the next sync deactivates them.
    directory.disable(sales["rep"])
    with app.app_context():
        result = run_sync(tenant)
    assert result.run.status == "ok" and [d[1] for d in result.plan.deactivations] == ["rep"]

    # The salesperson's open page is logged out at once; the manager's page shows the handover live.
    page_rep.wait_for_url("**/login**")
    todo = page_head.locator("#contact-todos li[data-departed] a")
    todo.wait_for()
    assert todo.inner_text() == "Zhao Lei has left: their contacts wait for you to hand them over"
    page_head.screenshot(path=str(artifacts / "contacts-handover-offered-phone.png"), full_page=True)

    # One step: choose the new owner and hand all of them over.
    todo.click()
    page_head.wait_for_url("**/contacts/handover/*")
    assert page_head.locator("#handover-contacts li").count() == 2
    page_head.select_option("#owner", str(people(tenant)["other"].id))
    page_head.click("#handover-form button[type=submit]")
    page_head.wait_for_url(f"{base}/contacts/")
    page_head.locator(".flash-success", has_text="2 contacts of Zhao Lei are now with Sun Li.").wait_for()
    assert page_head.locator("#contact-todos li").count() == 0
    assert {c.owner_id for c in TenantScope(tenant).select(Contact)} == {people(tenant)["other"].id}

    # The new owner finds them, with the handover in each one's history.
    ctx_other, page_other = logged_in(browser, live_server, "other", viewport={"width": 1100, "height": 800})
    page_other.goto(f"{base}/contacts/?which=mine")
    assert page_other.locator("#contacts li[data-contact]").count() == 2
    page_other.click("text=王芳")
    page_other.locator("#history-list", has_text="From Zhao Lei to Sun Li").wait_for()
    # The manager logs a call that was not answered; it appears live in the new owner's open history.
    page_head.goto(page_other.url)
    assert page_head.locator("#call-result").is_hidden()
    page_head.check("input[name=kind][value=call]")
    page_head.locator("#call-result").wait_for()
    page_head.check("input[name=answered][value='0']")
    page_head.fill("#body", "Rang twice, <b>no answer</b>")
    page_head.click("#add-history button[type=submit]")
    page_head.wait_for_url("**#history")
    entry = page_other.locator("#history-list li.history-call").first
    entry.wait_for()
    assert entry.locator(".history-body").inner_text() == "Rang twice, <b>no answer</b>"     # shown as text
    assert entry.locator(".call-missed").inner_text() == "not answered"
    assert page_other.locator("#history-list li").first.get_attribute("class") == "history-item history-call"
    page_other.screenshot(path=str(artifacts / "contacts-after-handover.png"), full_page=True)
    for context in (ctx_rep, ctx_head, ctx_other):
        context.close()
