"""The approvals org chart, a tenant that takes attendance at one office, and a clock to check in by."""
import datetime

import pytest

from app.attendance import service
from tests.approvals.conftest import LEAVE, client_for, events, org  # noqa: F401 - shared fixtures and helpers

OFFICE = (31.2304, 121.4737)   # People's Square, Shanghai


@pytest.fixture
def rule(org):  # noqa: F811 - the org fixture, imported above
    """Attendance on weekdays 09:00-18:00 Shanghai time, five minutes' grace, one office with a 200 m radius."""
    tenant = org["tenant"]
    tenant.timezone = "Asia/Shanghai"
    tenant.save()
    saved = service.save_rule(tenant, {"enabled": "1", "work_start": "09:00", "work_end": "18:00",
                                       "work_days": ["1", "2", "3", "4", "5"], "check_in_from": "06:00",
                                       "check_in_until": "12:00", "check_out_from": "12:00",
                                       "check_out_until": "23:59", "grace_minutes": "5", "tolerance_m": "50"})
    saved.created_at = datetime.datetime(2025, 1, 1)
    saved.save()
    service.save_place(tenant, None, {"name": "Head office", "latitude": str(OFFICE[0]),
                                      "longitude": str(OFFICE[1]), "radius_m": "200"})
    return saved


def shanghai(year, month, day, hour, minute=0) -> datetime.datetime:
    """A Shanghai wall-clock time as the naive UTC moment the database keeps."""
    return datetime.datetime(year, month, day, hour, minute) - datetime.timedelta(hours=8)
