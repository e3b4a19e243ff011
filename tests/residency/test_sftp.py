"""The sftp blob store against a real OpenSSH server: round trip, pinned host key, reconnects, hangs, full disks."""
import subprocess
import threading
import time
from pathlib import Path

import pytest

from app.config import BlobStoreSettings
from app.residency.blobs import BlobError, BlobMissing
from app.residency.sftp import SftpBlobStore
from tests.residency.conftest import files_under, sftp_settings
from tests.residency.sshd import keygen

KEY = "ab" + "12" * 19


def store_with(sshd, root, **changes) -> SftpBlobStore:
    return SftpBlobStore.from_settings("hq", BlobStoreSettings(**sftp_settings(sshd, root, **changes)))


def test_put_get_delete_keys_round_trip(sftp_store):
    root = Path(sftp_store.root)
    sftp_store.check()
    data = bytes(range(256)) * 1000
    sftp_store.put(KEY, data)
    assert (root / KEY[:2] / KEY).read_bytes() == data
    assert sftp_store.get(KEY) == data
    other = "cd" + "34" * 19
    sftp_store.put(other, b"")
    assert sorted(sftp_store.keys()) == [KEY, other]
    assert not [p for p in files_under(root) if p.name.endswith(".tmp")]   # written under a temporary name, renamed
    sftp_store.delete(KEY)
    sftp_store.delete(KEY)    # deleting what is gone is not an error
    with pytest.raises(BlobMissing):
        sftp_store.get(KEY)
    assert list(sftp_store.keys()) == [other]
    with pytest.raises(BlobError, match="invalid blob key"):
        sftp_store.put("../../etc/passwd", b"x")


def test_threads_share_one_session(sftp_store):
    errors = []

    def work(n):
        try:
            key = f"{n:02x}" * 20
            sftp_store.put(key, key.encode() * 100)
            assert sftp_store.get(key) == key.encode() * 100
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(list(sftp_store.keys())) == 8


def test_a_changed_host_key_is_refused_and_nothing_is_written(sshd, tmp_path):
    root = sshd.new_root()
    impostor = keygen(tmp_path / "other_host_key")
    store = store_with(sshd, root, host_key=impostor)
    with pytest.raises(BlobError) as info:
        store.put(KEY, b"secret")
    message = str(info.value)
    assert "not the pinned host key; refusing to connect" in message and "SHA256:" in message
    assert files_under(root) == []


def test_a_host_without_the_pinned_key_type_is_refused(sshd, tmp_path):
    root = sshd.new_root()
    store = store_with(sshd, root, host_key=keygen(tmp_path / "ecdsa_key", "ecdsa"))
    with pytest.raises(BlobError, match="offers no ecdsa-sha2-nistp256 host key, the type pinned; refusing"):
        store.check()
    with pytest.raises(BlobError, match="no valid pinned host key; refusing to connect"):
        store_with(sshd, root, host_key="").check()


def test_a_refused_client_key_names_the_file_but_not_its_contents(sshd, tmp_path):
    stranger = tmp_path / "stranger"
    keygen(stranger)
    store = store_with(sshd, sshd.new_root(), private_key_file=str(stranger))
    with pytest.raises(BlobError) as info:
        store.check()
    assert f"refused the key in {stranger}" in str(info.value)
    assert stranger.read_text().splitlines()[1] not in str(info.value)


def test_reconnects_after_the_host_drops_the_session(sftp_store, sshd):
    sftp_store.put(KEY, b"before")
    sshd.drop_sessions()
    assert sftp_store.get(KEY) == b"before"          # reopened once, transparently
    sshd.restart()
    sftp_store.put(KEY, b"after")
    assert sftp_store.get(KEY) == b"after"


@pytest.mark.slow
def test_a_hung_host_fails_within_the_timeouts(sftp_store, sshd):
    sftp_store.put(KEY, b"x")
    sshd.pause()
    try:
        started = time.monotonic()
        with pytest.raises(BlobError, match=r"no answer within 2 s"):
            sftp_store.put(KEY, b"y" * 100_000)
        assert time.monotonic() - started < 4
        started = time.monotonic()   # a new connection to a hung host: the connect timeout
        with pytest.raises(BlobError, match=r"no answer within 2 s"):
            sftp_store.get(KEY)
        assert time.monotonic() - started < 4
        # Threads queued behind the hung host give up too, each within its own limit.
        outcomes = []

        def fetch():
            try:
                sftp_store.get(KEY)
            except BlobError as exc:
                outcomes.append(str(exc))

        started = time.monotonic()
        threads = [threading.Thread(target=fetch) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(outcomes) == 3 and time.monotonic() - started < 8
        assert all("no answer within 2 s" in o or "busy: no turn on the connection within 4 s" in o for o in outcomes)
    finally:
        sshd.resume()
    assert sftp_store.get(KEY) == b"x"              # the interrupted write never replaced the file


def test_a_host_that_is_gone_fails_clearly(sftp_store, sshd):
    sftp_store.put(KEY, b"x")
    sshd.stop()
    try:
        with pytest.raises(BlobError, match=r"cannot reach the storage host: ConnectionRefusedError"):
            sftp_store.get(KEY)
    finally:
        sshd.restart()
    assert sftp_store.get(KEY) == b"x"


@pytest.fixture
def tiny_disk(sshd):
    """A 64 KiB tmpfs as the store's directory (we run as root); skipped where mounting is not allowed."""
    root = sshd.new_root()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(root)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here to fill a disk")
    yield root
    subprocess.run(["umount", str(root)], check=True)


def test_a_full_disk_fails_the_write_and_leaves_no_temporary_file(sshd, tiny_disk):
    store = store_with(sshd, tiny_disk)
    store.put(KEY, b"small enough")
    other = "ef" * 20
    with pytest.raises(BlobError, match="refused the write \\(disk full or no permission\\); nothing was stored"):
        store.put(other, b"z" * 200_000)
    names = [p.name for p in files_under(tiny_disk)]
    assert names == [KEY]                            # no half-written file, no temporary file
    assert store.get(KEY) == b"small enough"         # and the session still works
    store.close()
