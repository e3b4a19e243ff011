"""A directory sync run: read, plan, check, apply in one transaction, and keep a record of it.

All or nothing: the directory is read completely before the database is
touched, and the plan is applied in one transaction, so a directory that fails
half-way changes nothing. The run record is written outside that transaction
so a failed or aborted run is still on file.
"""
from __future__ import annotations

import contextlib
import gc
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Callable

import peewee
from flask_babel import lazy_gettext as _l

from app.audit import DIRECTORY_SYNC, record
from app.db import db, utcnow
from app.chat.service import sync_department_groups
from app.org.ldap.apply import apply_plan
from app.org.ldap.config import get_config
from app.org.ldap.directory import DirectoryFailure, close, connect
from app.org.ldap.models import DirectoryConfig, SyncRun
from app.org.ldap.photos import MAX_PHOTOS_PER_RUN, PhotoPass, sync_photos
from app.org.ldap.plan import Existing, SyncPlan, compute_plan, load_existing
from app.org.ldap.read import read_directory
from app.org.models import Person
from app.tenancy.models import Tenant

log = logging.getLogger("app.org.ldap")

STORED_PROBLEMS = 1000

GUARD_TEXTS = {
    "share": _l("would deactivate %(count)d of %(active)d active directory people, more than the allowed "
                "%(percent)s%%"),
    "admins": _l("would deactivate every admin of the tenant"),
}


class DirectoryNotConfigured(Exception):
    """The tenant has no directory settings, or they are switched off."""


@dataclass
class SyncResult:
    """The recorded run with the plan it made (the plan is None when the directory could not be read)."""

    run: SyncRun
    plan: SyncPlan | None = None
    guard: list[dict] = field(default_factory=list)
    photos: PhotoPass | None = None


def guard_text(violation: dict) -> str:
    """A guard violation as one line in the reader's language."""
    return str(GUARD_TEXTS[violation["code"]]) % violation.get("args", {})


def check_guard(plan: SyncPlan, existing: Existing, max_share: float) -> list[dict]:
    """The safety rules this plan breaks: too many deactivations, or no admin left."""
    violations = []
    count = len(plan.deactivations)
    if existing.active_directory and count / existing.active_directory > max_share:
        violations.append({"code": "share", "args": {"count": count, "active": existing.active_directory,
                                                     "percent": f"{max_share * 100:g}"}})
    leaving = {pid for pid, *_rest in plan.deactivations}
    if existing.active_admins and existing.active_admins <= leaving:
        violations.append({"code": "admins", "args": {}})
    return violations


def _finish(run: SyncRun, status: str, started: float, *, reason: str | None = None, plan: SyncPlan | None = None,
            guard: list[dict] | None = None, photos: PhotoPass | None = None) -> None:
    run.status = status
    run.reason = reason
    run.finished_at = utcnow()
    run.duration_ms = int((time.monotonic() - started) * 1000)
    if plan is not None:
        run.counts = json.dumps({**plan.counts(), **(photos.counts() if photos else {})})
        run.problems = json.dumps([p.as_dict() for p in plan.problems[:STORED_PROBLEMS]], ensure_ascii=False)
        run.plan = json.dumps({**plan.summary(), "guard": guard or []}, ensure_ascii=False, default=str)
    run.save()


@contextlib.contextmanager
def _no_cyclic_gc():
    """The run builds hundreds of thousands of small objects and no cycles; repeated full
    collections over them would make the run grow faster than the directory."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _read_plan_apply(tenant, config, kind, dry_run, force, progress, progress_every) -> tuple[SyncPlan, list[dict]]:
    conn = connect(config)
    try:
        snapshot = read_directory(conn, config, since=config.high_water_mark if kind == "incremental" else None,
                                  progress=progress, progress_every=progress_every)
    finally:
        close(conn)
    with db.atomic() as transaction:
        # Touching the settings row first makes a second sync of the tenant wait for this one.
        DirectoryConfig.update(updated_at=DirectoryConfig.updated_at).where(DirectoryConfig.id == config.id).execute()
        existing = load_existing(tenant)
        plan = compute_plan(snapshot, existing)
        guard = check_guard(plan, existing, config.max_deactivation_share)
        if dry_run or (guard and not force):
            transaction.rollback()
        else:
            apply_plan(tenant, plan, existing)
            fields = [DirectoryConfig.high_water_mark]
            config.high_water_mark = plan.mark
            if kind == "full":
                config.last_full_sync_at = utcnow()
                fields.append(DirectoryConfig.last_full_sync_at)
            config.save(only=fields)
    return plan, guard


def run_sync(tenant: Tenant, *, kind: str = "full", dry_run: bool = False, force: bool = False, origin: str = "cli",
             started_by: Person | None = None, progress: Callable[[int], None] | None = None,
             progress_every: int = 10000, photo_limit: int = MAX_PHOTOS_PER_RUN) -> SyncResult:
    """Sync the tenant's org chart from its directory (or only plan it, dry_run), then its photos; record the run."""
    config = get_config(tenant)
    if config is None or not config.enabled:
        raise DirectoryNotConfigured(tenant.slug)
    if kind == "incremental" and not config.high_water_mark:
        kind = "full"  # nothing to be incremental from yet
    run = SyncRun.create(tenant=tenant, origin=origin, started_by=started_by, kind=kind, dry_run=dry_run,
                         forced=force, status="running")
    started = time.monotonic()
    try:
        with _no_cyclic_gc():
            plan, guard = _read_plan_apply(tenant, config, kind, dry_run, force, progress, progress_every)
    except DirectoryFailure as failure:
        log.warning("directory sync of tenant %s failed: %s", tenant.slug, failure.reason())
        _finish(run, "failed", started, reason=failure.reason())
        _audit(tenant, run, started_by)
        return SyncResult(run)
    except peewee.DatabaseError as exc:
        log.error("directory sync of tenant %s failed in the database: %s", tenant.slug, type(exc).__name__)
        _finish(run, "failed", started, reason=type(exc).__name__)
        _audit(tenant, run, started_by)
        return SyncResult(run)
    status = "aborted" if guard and not force else "ok"
    photos = None
    if status == "ok" and not dry_run:
        sync_department_groups(tenant)  # department group chats follow the new org chart
        # After the commit: a photo pass that fails keeps the org chart it follows.
        photos = sync_photos(tenant, config, photo_limit)
        plan.problems.extend(photos.problems)
    _finish(run, status, started, plan=plan, guard=guard, photos=photos,
            reason="guard" if status == "aborted" else None)
    _audit(tenant, run, started_by)
    log.info("directory sync of tenant %s (%s%s): %s %s", tenant.slug, kind, ", dry run" if dry_run else "",
             status, run.counts)
    return SyncResult(run, plan, guard, photos)


def _audit(tenant: Tenant, run: SyncRun, started_by: Person | None) -> None:
    """One audit entry per run, with its counts: by the schedule, an admin, or the command line."""
    actor = DIRECTORY_SYNC if run.origin == "schedule" else started_by
    record("directory.sync", target=run, tenant=tenant, actor=actor,
           outcome={"ok": "ok", "aborted": "refused"}.get(run.status, "failed"),
           changes={"kind": run.kind, "dry_run": run.dry_run, "forced": run.forced, "status": run.status,
                    "reason": run.reason, "counts": json.loads(run.counts)})


def record_directory_test(tenant: Tenant, config: DirectoryConfig, *, report=None, failure=None) -> None:
    """Audit a connection test: what it found, or the kind of failure (never the directory's error text)."""
    if failure is not None:
        changes = {"error": failure.kind, "error_class": failure.error_class}
    else:
        changes = {"server": report.server, "people": report.people, "departments": report.departments}
    record("directory.test", target=config, tenant=tenant, outcome="ok" if failure is None else "failed",
           changes=changes)


def scheduled_tenants() -> list[Tenant]:
    """Tenants whose directory is configured, switched on and scheduled."""
    return list(Tenant.select().join(DirectoryConfig, on=(DirectoryConfig.tenant == Tenant.id))
                .where((DirectoryConfig.enabled == True) & (DirectoryConfig.schedule_enabled == True))  # noqa: E712
                .order_by(Tenant.slug))
