"""The sftp blob store: a directory on a customer's storage host, reached over SSH with paramiko.

The storage host's key is pinned in the configuration: a host that presents any other key is refused, never
learnt. Each store keeps one SFTP session per process, shared by the worker's threads under a lock, and opens
it again once when the host dropped it. Every wait has a limit, so a hung host fails the operation with a clear
error instead of holding a worker. Messages name the store and host, never the key file's contents.
"""
from __future__ import annotations

import logging
import os
import posixpath
import socket
import stat
import threading
from typing import Callable, Iterator, TypeVar

import paramiko
from paramiko.sftp import CMD_EXTENDED

from app.residency.blobs import (BlobError, BlobMissing, StoredFile, check_key, check_temporary_name,
                                 temporary_name)
from app.residency.policy import parse_host_key

log = logging.getLogger("app.residency")
T = TypeVar("T")
_SHARD_CHARS = set("0123456789abcdef")


def _key_types(key_type: str) -> list[str]:
    """The host key algorithms to offer: only the pinned key's, so the host must show that key."""
    if key_type == "ssh-rsa":
        return ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"]
    return [key_type]


def _alive(sftp: paramiko.SFTPClient) -> bool:
    channel = sftp.get_channel()
    return channel is not None and not channel.closed and channel.get_transport().is_active()


class SftpBlobStore:
    """Blobs as files under one directory on a storage host, written to a temporary name then renamed."""

    def __init__(self, name: str, *, host: str, port: int, user: str, root: str, private_key_file: str,
                 host_key: str, connect_timeout: float, operation_timeout: float):
        self.name = name
        self.host, self.port, self.user = host, port, user
        self.root = root.rstrip("/") or "/"
        self.private_key_file = private_key_file
        self.host_key = host_key
        self.connect_timeout = connect_timeout
        self.operation_timeout = operation_timeout
        self._lock = threading.Lock()
        self._transport: paramiko.Transport | None = None
        self._sftp: paramiko.SFTPClient | None = None
        self._pid = 0

    @classmethod
    def from_settings(cls, name: str, spec) -> "SftpBlobStore":
        """The store a [blob_stores.NAME] table with kind = "sftp" describes."""
        return cls(name, host=spec.host, port=spec.port, user=spec.user, root=spec.path,
                   private_key_file=spec.private_key_file, host_key=spec.host_key,
                   connect_timeout=spec.connect_timeout, operation_timeout=spec.operation_timeout)

    def _error(self, text: str, cls: type[BlobError] = BlobError) -> BlobError:
        return cls(f"blob store '{self.name}' ({self.host}:{self.port}): {text}")

    # --- the connection ------------------------------------------------------------------------

    def _private_key(self) -> paramiko.PKey:
        try:
            return paramiko.PKey.from_path(self.private_key_file)
        except (OSError, ValueError, paramiko.SSHException) as exc:
            raise self._error(f"cannot use the private key file {self.private_key_file}:"
                              f" {type(exc).__name__}") from None

    def _connect(self) -> tuple[paramiko.Transport, paramiko.SFTPClient]:
        pinned = parse_host_key(self.host_key)
        if pinned is None:
            raise self._error("no valid pinned host key; refusing to connect")
        key_type, key_blob = pinned
        pkey = self._private_key()
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.connect_timeout)
        except TimeoutError:
            raise self._error(f"no answer within {self.connect_timeout:g} s") from None
        except OSError as exc:
            raise self._error(f"cannot reach the storage host: {type(exc).__name__}") from None
        transport = paramiko.Transport(sock)
        transport.banner_timeout = transport.handshake_timeout = self.connect_timeout
        transport.auth_timeout = transport.channel_timeout = self.connect_timeout
        transport.get_security_options().key_types = _key_types(key_type)
        # Some of paramiko's waits have no limit of their own (opening the sftp subsystem): closing the transport
        # when the connect time is up ends them all.
        expired = threading.Event()

        def expire():
            expired.set()
            transport.close()

        watchdog = threading.Timer(self.connect_timeout, expire)
        watchdog.daemon = True
        watchdog.start()
        try:
            transport.start_client(timeout=self.connect_timeout)
            server_key = transport.get_remote_server_key()
            if server_key.get_name() != key_type or server_key.asbytes() != key_blob:
                raise self._error(f"the host presented {server_key.get_name()} {server_key.fingerprint}, not the pinned"
                                  " host key; refusing to connect (if the host's key was changed on purpose, pin"
                                  " the new one in host_key)")
            transport.auth_publickey(self.user, pkey)
            channel = transport.open_session(timeout=self.connect_timeout)
            channel.settimeout(self.connect_timeout)
            channel.invoke_subsystem("sftp")
            sftp = paramiko.SFTPClient(channel)
            channel.settimeout(self.operation_timeout)
        except BlobError:
            transport.close()
            raise
        except paramiko.AuthenticationException:
            transport.close()
            raise self._error(f"the host refused the key in {self.private_key_file} for user {self.user}") from None
        except paramiko.ssh_exception.IncompatiblePeer:
            transport.close()
            raise self._error(f"the host offers no {key_type} host key, the type pinned; refusing to connect") from None
        except (paramiko.SSHException, EOFError, OSError) as exc:
            transport.close()
            if expired.is_set() or isinstance(exc, TimeoutError):
                raise self._error(f"no answer within {self.connect_timeout:g} s") from None
            raise self._error(f"SSH with the storage host failed: {type(exc).__name__}") from None
        finally:
            watchdog.cancel()
        return transport, sftp

    def _usable(self) -> bool:
        return self._sftp is not None and self._pid == os.getpid() and _alive(self._sftp)

    def _drop(self) -> None:
        # A session inherited across a fork belongs to the parent: forget it, never close it from here.
        if self._transport is not None and self._pid == os.getpid():
            self._transport.close()
        self._transport = self._sftp = None

    def _run(self, operation: Callable[[paramiko.SFTPClient], T]) -> T:
        """Run one operation on the shared session, reconnecting once if the host dropped a session we reused."""
        # Threads queue for the session; behind a hung host they give up rather than wait for every one before them.
        wait = self.connect_timeout + self.operation_timeout
        if not self._lock.acquire(timeout=wait):
            raise self._error(f"busy: no turn on the connection within {wait:g} s (the host may be hung)")
        try:
            for attempt in (1, 2):
                reused = self._usable()
                if not reused:
                    self._drop()
                    self._transport, self._sftp = self._connect()
                    self._pid = os.getpid()
                try:
                    return operation(self._sftp)
                except BlobError:
                    raise
                except TimeoutError:
                    self._drop()
                    log.warning("blob store %s: no answer within %ss", self.name, self.operation_timeout)
                    raise self._error(f"no answer within {self.operation_timeout:g} s") from None
                except (paramiko.SSHException, EOFError, OSError) as exc:
                    self._drop()
                    if not reused or attempt == 2:
                        log.warning("blob store %s: connection failed (%s)", self.name, type(exc).__name__)
                        raise self._error(f"the connection failed: {type(exc).__name__}") from None
                    log.info("blob store %s: the host dropped the session (%s); reconnecting", self.name,
                             type(exc).__name__)
        finally:
            self._lock.release()
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def close(self) -> None:
        """End the session (the next operation opens a new one)."""
        with self._lock:
            self._drop()

    # --- the store --------------------------------------------------------------------------------

    def _path(self, key: str) -> str:
        check_key(key)
        return posixpath.join(self.root, key[:2], key)

    def _ensure_dir(self, sftp: paramiko.SFTPClient, directory: str) -> None:
        try:
            sftp.stat(directory)
        except FileNotFoundError:
            try:
                sftp.mkdir(directory, 0o750)
            except OSError:
                sftp.stat(directory)  # another worker made it first; anything else fails here

    def put(self, key: str, data: bytes) -> None:
        final = self._path(key)
        tmp = posixpath.join(posixpath.dirname(final), temporary_name(key))

        def write(sftp: paramiko.SFTPClient) -> None:
            try:
                self._ensure_dir(sftp, posixpath.dirname(final))
                with sftp.open(tmp, "wb") as fh:
                    fh.write(data)
                    fh.flush()
                    # paramiko has no call for OpenSSH's fsync extension: without it a power cut on the
                    # storage host could lose a file whose row we have already written.
                    sftp._request(CMD_EXTENDED, "fsync@openssh.com", fh.handle)
                sftp.posix_rename(tmp, final)
            except TimeoutError:
                raise
            except OSError as exc:
                if not _alive(sftp):
                    raise
                try:
                    sftp.remove(tmp)
                except OSError:
                    pass  # never created, or the host refuses even that: fsck removes it later
                log.warning("blob store %s: write refused (%s)", self.name, type(exc).__name__)
                raise self._error("the host refused the write (disk full or no permission); nothing was"
                                  " stored") from None

        self._run(write)

    def get(self, key: str) -> bytes:
        path = self._path(key)

        def read(sftp: paramiko.SFTPClient) -> bytes:
            try:
                with sftp.open(path, "rb") as fh:
                    return fh.read()
            except FileNotFoundError:
                if not _alive(sftp):
                    raise
                raise self._error("blob missing from the store", BlobMissing) from None

        return self._run(read)

    def delete(self, key: str) -> None:
        path = self._path(key)

        def remove(sftp: paramiko.SFTPClient) -> None:
            try:
                sftp.remove(path)
            except FileNotFoundError:
                if not _alive(sftp):
                    raise

        self._run(remove)

    def keys(self) -> Iterator[str]:
        return (entry.name for entry in self.scan() if not entry.temporary)

    def scan(self) -> Iterator[StoredFile]:
        def listing(sftp: paramiko.SFTPClient) -> list[StoredFile]:
            found = []
            for shard in sftp.listdir_attr(self.root):
                if len(shard.filename) == 2 and set(shard.filename) <= _SHARD_CHARS and stat.S_ISDIR(shard.st_mode):
                    for entry in sftp.listdir_attr(posixpath.join(self.root, shard.filename)):
                        found.append(StoredFile(entry.filename, float(entry.st_mtime or 0),
                                                entry.filename.startswith(".")))
            return found

        return iter(self._run(listing))

    def remove_temporary(self, name: str) -> None:
        path = posixpath.join(self.root, check_temporary_name(name)[1:3], name)

        def remove(sftp: paramiko.SFTPClient) -> None:
            try:
                sftp.remove(path)
            except FileNotFoundError:
                if not _alive(sftp):
                    raise

        self._run(remove)

    def check(self) -> None:
        """The host answers, accepts our key, and has the store's directory."""

        def look(sftp: paramiko.SFTPClient) -> None:
            try:
                attributes = sftp.stat(self.root)
            except FileNotFoundError:
                if not _alive(sftp):
                    raise
                raise self._error(f"the directory {self.root} does not exist on the host") from None
            if not stat.S_ISDIR(attributes.st_mode or 0):
                raise self._error(f"{self.root} on the host is not a directory")

        self._run(look)
