"""Running the appliance under gunicorn."""
from __future__ import annotations

from gunicorn.app.base import BaseApplication

from app.config import Settings


def gunicorn_options(settings: Settings, bind: str | None = None, workers: int | None = None) -> dict:
    """Gunicorn settings for Atrium: threaded workers (live updates hold connections open), logs to stdout."""
    options = {
        "bind": bind or settings.serve.bind,
        "workers": workers or settings.serve.workers,
        "worker_class": "gthread",
        "threads": settings.serve.threads,
        # Each open live-update stream holds a thread and a connection: allow as many connections as threads.
        "worker_connections": max(1000, settings.serve.threads),
        "timeout": settings.serve.timeout,
        "graceful_timeout": 30,
        "keepalive": 5,
        "accesslog": "-",
        "errorlog": "-",
        # The path only: query strings may carry what people searched for.
        "access_log_format": '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms',
        "limit_request_line": 8190,
        "proc_name": "atrium",
    }
    if settings.trusted_proxies:
        options["forwarded_allow_ips"] = "127.0.0.1,::1"
    return options


class AtriumServer(BaseApplication):
    """Gunicorn with the app built in each worker (no database connection crosses a fork)."""

    def __init__(self, settings: Settings, options: dict):
        self.settings = settings
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from app import create_app
        return create_app(self.settings)
