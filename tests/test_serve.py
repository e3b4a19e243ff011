"""`atrium serve` under real gunicorn: the newcomer's path from init to a logged-in page."""
import http.cookiejar
import os
import re
import signal
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.servers import free_port, wait_for_port

pytestmark = pytest.mark.slow
ATRIUM = [sys.executable, "-m", "app.cli"]


def test_init_demo_serve_and_log_in(tmp_path):
    port = free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("ATRIUM_")},
           "ATRIUM_DATA_DIR": str(tmp_path / "data"), "ATRIUM_SERVE__BIND": f"127.0.0.1:{port}",
           "ATRIUM_SERVE__WORKERS": "2"}
    root = Path(__file__).resolve().parents[1]
    subprocess.run(ATRIUM + ["init"], env=env, check=True, cwd=root, capture_output=True, timeout=120)
    demo = subprocess.run(ATRIUM + ["demo"], env=env, check=True, cwd=root, capture_output=True, text=True, timeout=120)
    password = re.search(r"password\s+(\S+)", demo.stdout).group(1)
    server = subprocess.Popen(ATRIUM + ["serve"], env=env, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        wait_for_port(port, proc=server)
        base = f"http://127.0.0.1:{port}"
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        assert opener.open(base + "/readyz", timeout=10).status == 200
        page = opener.open(base + "/login", timeout=10).read().decode()
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        data = urllib.parse.urlencode({"login": "admin", "password": password, "csrf_token": token}).encode()
        response = opener.open(base + "/login", data=data, timeout=10)
        assert response.url.endswith("/password")   # one-time password: choose your own first
        assert "演示管理员" in response.read().decode()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        output = server.communicate(timeout=30)[0].decode()
    assert password not in output   # the access log never holds what was posted
    assert "Booting worker" in output
