"""Chat under load: gunicorn on loopback, N live-update clients, messages at a fixed rate.

Prints send latency, send-to-receive latency, messages lost, server CPU and peak RSS,
for SQLite and then PostgreSQL. Run by hand (it is not a test):

    .venv/bin/python bench/chat_load.py                      # 2000 clients, 100 messages/s, 30 s
    .venv/bin/python bench/chat_load.py --clients 200 --seconds 10 --databases sqlite

Everything runs on 127.0.0.1; the load is bounded in count and time and stops by itself.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.servers import PostgresServer, free_port, wait_for_port  # noqa: E402

GROUP_SIZE = 10


def prepare(data_dir: Path, database_url: str, clients: int, senders: int) -> dict:
    """An install with one tenant, `clients` people in groups of GROUP_SIZE, session cookies and API tokens."""
    from app import create_app
    from app.chat.models import Conversation, ConversationMember
    from app.config import load_settings
    from app.db import db, upgrade, utcnow
    from app.instance import ensure_data_dir, ensure_secret_key
    from app.org.models import Person
    from app.security.tokens import create_token
    from app.tenancy.service import create_tenant

    settings = load_settings({"data_dir": str(data_dir), "database_url": database_url, "default_locale": "en"},
                             environ={})
    ensure_data_dir(settings)
    ensure_secret_key(settings)
    app = create_app(settings)
    with app.app_context():
        db.connect(reuse_if_open=True)
        upgrade()
        tenant = create_tenant("bench", "Bench Corp", ["bench.localhost"], is_default=True)
        now = utcnow()
        with db.atomic():
            Person.insert_many([{"tenant": tenant.id, "login": f"p{i}", "display_name": f"Person {i}",
                                 "created_at": now, "updated_at": now} for i in range(clients)]).execute()
        people = list(Person.select(Person.id).where(Person.tenant == tenant).order_by(Person.id).tuples())
        ids = [pid for (pid,) in people]
        groups = []
        with db.atomic():
            for start in range(0, len(ids), GROUP_SIZE):
                conv = Conversation.create(tenant=tenant, kind="group", title=f"g{start}", created_at=now)
                members = ids[start:start + GROUP_SIZE]
                ConversationMember.insert_many([{"tenant": tenant.id, "conversation": conv.id, "person": pid,
                                                 "joined_at": now} for pid in members]).execute()
                groups.append((conv.id, members))
        serializer = app.session_interface.get_signing_serializer(app)
        cookies = {pid: serializer.dumps({"pid": pid, "tid": tenant.id, "epoch": 0, "at": int(time.time()),
                                          "_permanent": True}) for pid in ids}
        tokens = {}
        for conv_id, members in groups[:senders]:
            sender = Person.get_by_id(members[0])
            tokens[conv_id] = (members[0], create_token(sender, "bench", ["messages:write"], 1)[1])
        db.close()
    return {"groups": groups, "cookies": cookies, "tokens": tokens, "settings": settings}


async def sse_client(port: int, cookie: str, person: int, received: dict, ready: asyncio.Event, counter: list,
                     stop: asyncio.Event) -> None:
    """One browser tab: a live-update stream, recording when each benchmark message arrives."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write((f"GET /events HTTP/1.1\r\nHost: bench.localhost\r\nCookie: atrium_session={cookie}\r\n"
                  "Accept: text/event-stream\r\n\r\n").encode())
    await writer.drain()
    status = await reader.readline()
    if b" 200 " not in status:
        raise RuntimeError(f"stream refused: {status!r}")
    while (await reader.readline()) not in (b"\r\n", b""):
        pass
    counter[0] += 1
    if counter[0] >= counter[1]:
        ready.set()
    event = None
    try:
        while not stop.is_set():
            line = await reader.readline()
            if not line:
                break
            line = line.strip()
            if line.startswith(b"event: "):
                event = line[7:]
            elif line.startswith(b"data: ") and event == b"message":
                tag = json.loads(line[6:]).get("text", "")
                if tag.startswith("bench "):
                    received.setdefault(tag, {})[person] = time.monotonic()
    finally:
        writer.close()


async def post(port: int, token: str, conv: int, text: str) -> int:
    body = json.dumps({"text": text}).encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write((f"POST /api/v1/conversations/{conv}/messages HTTP/1.1\r\nHost: bench.localhost\r\n"
                  f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
                  f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body)
    await writer.drain()
    status = int((await reader.readline()).split()[1])
    await reader.read()
    writer.close()
    return status


def process_tree(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            children = []
        todo.extend(int(c) for c in children)
    return found


def cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except OSError:
            pass
    return total


def rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def drive(port: int, setup: dict, clients: int, rate: float, seconds: float, server_pid: int) -> dict:
    received: dict[str, dict[int, float]] = {}
    ready, stop = asyncio.Event(), asyncio.Event()
    counter = [0, clients]
    members_of = dict(setup["groups"])
    tasks = []
    for i, (pid, cookie) in enumerate(setup["cookies"].items()):
        tasks.append(asyncio.create_task(sse_client(port, cookie, pid, received, ready, counter, stop)))
        if i % 100 == 99:
            await asyncio.sleep(0.05)   # connect in waves, as a morning's logins would
    await asyncio.wait_for(ready.wait(), timeout=120)
    pids = process_tree(server_pid)
    cpu_before, started = cpu_seconds(pids), time.monotonic()
    sent_at, send_latency, statuses, peak = {}, [], {}, 0.0
    senders = list(setup["tokens"].items())
    total = int(rate * seconds)
    posts = []

    async def one(i: int):
        conv, (sender, token) = senders[i % len(senders)]
        text = f"bench {i} {random.random():.6f}"
        t0 = time.monotonic()
        sent_at[text] = (t0, conv, sender)
        status = await post(port, token, conv, text)
        send_latency.append(time.monotonic() - t0)
        statuses[status] = statuses.get(status, 0) + 1

    for i in range(total):
        target = started + i / rate
        await asyncio.sleep(max(0.0, target - time.monotonic()))
        posts.append(asyncio.create_task(one(i)))
        if i % 50 == 0:
            peak = max(peak, rss_mb(process_tree(server_pid)))
    await asyncio.gather(*posts)
    deadline = time.monotonic() + 10
    expected = {text: set(members_of[conv]) for text, (_t, conv, _s) in sent_at.items()}
    while time.monotonic() < deadline:
        if all(set(received.get(t, {})) >= want for t, want in expected.items()):
            break
        await asyncio.sleep(0.1)
    elapsed = time.monotonic() - started
    cpu = cpu_seconds(process_tree(server_pid)) - cpu_before
    peak = max(peak, rss_mb(process_tree(server_pid)))
    stop.set()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    delivery, lost = [], 0
    for text, want in expected.items():
        got = received.get(text, {})
        lost += len(want - set(got))
        delivery += [got[p] - sent_at[text][0] for p in want if p in got]
    return {"connected": counter[0], "messages": len(sent_at), "statuses": statuses, "deliveries": len(delivery),
            "lost": lost, "send_p50": percentile(send_latency, .5), "send_p95": percentile(send_latency, .95),
            "recv_p50": percentile(delivery, .5), "recv_p95": percentile(delivery, .95),
            "cpu_share": cpu / elapsed, "peak_rss_mb": peak, "seconds": elapsed}


def run(database: str, clients: int, rate: float, seconds: float, workers: int) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="atrium-bench-chat-"))
    pg = None
    try:
        if database == "postgresql":
            pg = PostgresServer().start()
            pg.execute("CREATE DATABASE bench")
            url = pg.url("bench")
        else:
            url = f"sqlite:///{tmp}/data/atrium.db"
        setup = prepare(tmp / "data", url, clients, max(1, min(100, clients // GROUP_SIZE)))
        port = free_port()
        threads = clients // workers + 100
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("ATRIUM_")},
               "ATRIUM_DATA_DIR": str(tmp / "data"), "DATABASE_URL": url, "ATRIUM_SERVE__BIND": f"127.0.0.1:{port}",
               "ATRIUM_SERVE__WORKERS": str(workers), "ATRIUM_SERVE__THREADS": str(threads),
               "ATRIUM_CHAT__RATE_MESSAGES": "100000"}
        log = open(tmp / "server.log", "w")
        server = subprocess.Popen([sys.executable, "-m", "app.cli", "serve"], env=env, cwd=ROOT, stdout=log,
                                  stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_for_port(port, timeout=60, proc=server)
            return asyncio.run(asyncio.wait_for(drive(port, setup, clients, rate, seconds, server.pid),
                                                timeout=seconds + 300))
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
            log.close()
    finally:
        if pg is not None:
            pg.stop()
        subprocess.run(["rm", "-rf", str(tmp)], check=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=2000, help="live-update clients held open")
    parser.add_argument("--rate", type=float, default=100.0, help="messages per second")
    parser.add_argument("--seconds", type=float, default=30.0, help="how long to send")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4 * args.clients + 1000)), hard))
    print(f"chat load: {args.clients} clients, {args.rate:g} messages/s for {args.seconds:g} s, "
          f"groups of {GROUP_SIZE}, {args.workers} gunicorn workers, {os.cpu_count()} CPUs")
    print(f"{'database':<11} {'sent':>5} {'lost':>5} {'send p50':>9} {'send p95':>9} {'recv p50':>9} "
          f"{'recv p95':>9} {'CPU':>6} {'RSS MB':>7}  statuses")
    for database in args.databases.split(","):
        r = run(database, args.clients, args.rate, args.seconds, args.workers)
        print(f"{database:<11} {r['messages']:>5} {r['lost']:>5} {r['send_p50'] * 1000:>7.1f}ms "
              f"{r['send_p95'] * 1000:>7.1f}ms {r['recv_p50'] * 1000:>7.1f}ms {r['recv_p95'] * 1000:>7.1f}ms "
              f"{r['cpu_share'] * 100:>5.0f}% {r['peak_rss_mb']:>7.0f}  {r['statuses']}  "
              f"({r['connected']} connected, {r['deliveries']} deliveries)", flush=True)


if __name__ == "__main__":
    main()
