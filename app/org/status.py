"""Off-work mode: working hours and do-not-disturb decide whether ordinary messages alert a person."""
from __future__ import annotations

import datetime
import re
import zoneinfo

from flask_babel import lazy_gettext as _l

from app.db import utcnow
from app.org.models import Person
from app.validation import ValidationError

_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
DEFAULT_TIMEZONE = "Asia/Shanghai"


def person_zone(person: Person, fallback: str = DEFAULT_TIMEZONE) -> zoneinfo.ZoneInfo:
    name = person.timezone or getattr(person.tenant, "timezone", None) or fallback
    try:
        return zoneinfo.ZoneInfo(name)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        return zoneinfo.ZoneInfo(fallback)


def is_off_work(person: Person, now: datetime.datetime | None = None) -> bool:
    """True when ordinary messages should not alert the person now (do-not-disturb or outside working hours)."""
    now = now or utcnow()
    if person.dnd_until and person.dnd_until > now:
        return True
    if not (person.work_start and person.work_end):
        return False
    local = now.replace(tzinfo=datetime.timezone.utc).astimezone(person_zone(person))
    if person.work_days and str(local.isoweekday()) not in person.work_days:
        return True
    hhmm = local.strftime("%H:%M")
    if person.work_start <= person.work_end:
        return not (person.work_start <= hhmm < person.work_end)
    return person.work_end <= hhmm < person.work_start   # a night shift across midnight


def next_alert_time(person: Person, now: datetime.datetime | None = None,
                    fallback: str = DEFAULT_TIMEZONE) -> datetime.datetime:
    """The first moment from now (naive UTC) when ordinary messages may alert the person again.

    Off-work time ends when do-not-disturb does or when working hours start, so
    those are the only moments to try; a week ahead covers every pattern of days.
    """
    now = now or utcnow()
    if not is_off_work(person, now):
        return now
    candidates = []
    if person.dnd_until and person.dnd_until > now:
        candidates.append(person.dnd_until)
    if person.work_start and person.work_end:
        zone = person_zone(person, fallback)
        today = now.replace(tzinfo=datetime.timezone.utc).astimezone(zone).date()
        hour, minute = (int(part) for part in person.work_start.split(":"))
        for offset in range(9):
            start = datetime.datetime.combine(today + datetime.timedelta(days=offset), datetime.time(hour, minute),
                                              tzinfo=zone)
            candidates.append(start.astimezone(datetime.timezone.utc).replace(tzinfo=None))
    for moment in sorted(c for c in candidates if c > now):
        if not is_off_work(person, moment):
            return moment
    return now + datetime.timedelta(hours=1)   # nothing found (hours that never come): look again later


def availability(person: Person) -> dict:
    """What senders see: whether the person is off work or in do-not-disturb."""
    dnd = bool(person.dnd_until and person.dnd_until > utcnow())
    return {"off_work": is_off_work(person), "dnd": dnd}


def set_working_hours(person: Person, start: str | None, end: str | None, days: list[str]) -> None:
    """Working hours ("09:00"-"18:00") on ISO weekdays; both empty means always at work."""
    start, end = (start or "").strip(), (end or "").strip()
    if bool(start) != bool(end):
        raise ValidationError("work_start", _l("Give both the start and the end, or neither."))
    for field, value in (("work_start", start), ("work_end", end)):
        if value and not _TIME.match(value):
            raise ValidationError(field, _l("Use the form 09:00."))
    if start and start == end:
        raise ValidationError("work_end", _l("The end must differ from the start."))
    days = sorted({d for d in days if d in "1234567" and len(d) == 1})
    person.work_start, person.work_end = start or None, end or None
    person.work_days = "".join(days) or None
    person.save()


def set_dnd(person: Person, minutes: int | None) -> None:
    """Do not disturb for the next N minutes (None or 0 ends it)."""
    if minutes:
        if not 1 <= minutes <= 7 * 24 * 60:
            raise ValidationError("dnd", _l("Choose a duration from the list."))
        person.dnd_until = utcnow() + datetime.timedelta(minutes=minutes)
    else:
        person.dnd_until = None
    person.save()
