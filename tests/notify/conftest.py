"""A real SMTP server (aiosmtpd) on a loopback port that keeps what it receives, and a tenant that sends email."""
from __future__ import annotations

import asyncio
import email
import threading
from email import policy

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from app.org.service import save_department
from tests.conftest import client_for, make_person
from tests.servers import free_port

FROM = "atrium@acme.example"


class Mailbox:
    """The server's handler: keeps each accepted message; switches make it refuse, or stall until released."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.rcpt_reply: str | None = None     # e.g. "550 5.1.1 No such user": refuse every recipient
        self.data_reply: str | None = None     # e.g. "451 4.3.0 Try later": refuse at the end of the data
        self.stall_in: str | None = None       # "RCPT" or "DATA": wait there until `release` is set
        self.stalled = threading.Event()       # set when a session waits at stall_in
        self.release = threading.Event()
        self.lock = threading.Lock()

    async def _maybe_stall(self, stage: str) -> None:
        if self.stall_in == stage:
            self.stalled.set()
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 60)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        await self._maybe_stall("RCPT")
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data_reply:
            return self.data_reply
        with self.lock:
            self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        # The message is the relay's now, whatever happens to the connection while it stalls.
        await self._maybe_stall("DATA")
        return "250 2.0.0 Accepted"

    def to(self, address: str) -> list[email.message.EmailMessage]:
        with self.lock:
            return [m for m, (_f, rcpts) in zip(self.messages, self.envelopes) if address in rcpts]


class SmtpRelay:
    """aiosmtpd's Controller on a fixed loopback port, which can be stopped (the relay is down) and started again."""

    def __init__(self, **options):
        self.port = free_port()
        self.mailbox = Mailbox()
        self.options = options
        self.controller: Controller | None = None

    def start(self) -> "SmtpRelay":
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port, **self.options)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.mailbox.release.set()
            self.controller.stop()
            self.controller = None


@pytest.fixture
def relay():
    server = SmtpRelay().start()
    yield server
    server.stop()


def smtp_settings(relay: SmtpRelay, **extra) -> dict:
    return {"host": "127.0.0.1", "port": relay.port, "security": "none", "from_address": FROM, "timeout": 5,
            "retry_seconds": 60, "max_attempts": 4, **extra}


@pytest.fixture
def settings_overrides(relay):
    return {"smtp": smtp_settings(relay), "public_url": "https://atrium.example.com"}


@pytest.fixture
def team(app, tenant):
    """Wei (admin, Chinese) sends; Li reads Chinese in Shanghai, Bob English in London, Dan has no email address."""
    sales = save_department(tenant, None, {"name": "销售部 Sales"})
    wei = make_person(tenant, "wei", role="admin", display_name="张伟", email="wei@acme.example",
                      department_ids=[str(sales.id)])
    li = make_person(tenant, "li", display_name="李娜", email="li@acme.example", department_ids=[str(sales.id)])
    bob = make_person(tenant, "bob", display_name="Bob Smith", email="bob@acme.example",
                      department_ids=[str(sales.id)])
    dan = make_person(tenant, "dan", display_name="Dan Wu", department_ids=[str(sales.id)])
    li.locale, li.timezone = "zh_Hans", "Asia/Shanghai"
    li.save()
    bob.locale, bob.timezone = "en", "Europe/London"
    bob.save()
    return {"tenant": tenant, "sales": sales, "wei": wei, "li": li, "bob": bob, "dan": dan}


@pytest.fixture
def email_on(app, tenant):
    """The tenant sends email, from the install's default address, and emails unconfirmed DINGs after 10 minutes."""
    from app.notify.service import save_email_settings

    with app.app_context():
        return save_email_settings(tenant, {"enabled": "1", "ding_delay_minutes": "10", "digest_time": "08:00"})


def password_authenticator(login: str, password: str):
    """An aiosmtpd authenticator accepting one login and password."""

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = auth_data.login.decode() == login and auth_data.password.decode() == password
        return AuthResult(success=ok, handled=False)   # a refusal: the server answers 535

    return authenticate
