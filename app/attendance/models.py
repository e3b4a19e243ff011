"""Attendance: a tenant's working times and allowed places, and each person's record of each day."""
from __future__ import annotations

import peewee

from app.db import utcnow
from app.org.models import Person
from app.tenancy.models import Tenant, TenantModel


class AttendanceRule(TenantModel):
    """A tenant's attendance settings; a tenant without one does not take attendance."""

    tenant = peewee.ForeignKeyField(Tenant, on_delete="CASCADE", unique=True)
    enabled = peewee.BooleanField(default=True)
    work_start = peewee.CharField(max_length=5, default="09:00")      # local times, "HH:MM"
    work_end = peewee.CharField(max_length=5, default="18:00")
    work_days = peewee.CharField(max_length=7, default="12345")       # ISO weekdays
    check_in_from = peewee.CharField(max_length=5, default="06:00")
    check_in_until = peewee.CharField(max_length=5, default="12:00")
    check_out_from = peewee.CharField(max_length=5, default="12:00")
    check_out_until = peewee.CharField(max_length=5, default="23:59")
    grace_minutes = peewee.IntegerField(default=0)                     # late or early by this much is on time
    tolerance_m = peewee.IntegerField(default=50)                      # metres beyond a place's radius still allowed
    created_at = peewee.DateTimeField(default=utcnow)
    updated_at = peewee.DateTimeField(default=utcnow)


class AttendancePlace(TenantModel):
    """A place people may check in at: a circle around a point."""

    name = peewee.CharField(max_length=100)
    latitude = peewee.DoubleField()
    longitude = peewee.DoubleField()
    radius_m = peewee.IntegerField()
    created_at = peewee.DateTimeField(default=utcnow)


class AttendanceDay(TenantModel):
    """One person's day: when they checked in and out, from where, and how the day came out."""

    person = peewee.ForeignKeyField(Person, on_delete="CASCADE", index=False)
    day = peewee.DateField()                                           # the local date in the person's time zone
    workday = peewee.BooleanField(default=True)
    check_in_at = peewee.DateTimeField(null=True)
    check_in_place = peewee.ForeignKeyField(AttendancePlace, null=True, on_delete="SET NULL", backref="check_ins")
    check_in_distance_m = peewee.IntegerField(null=True)
    check_out_at = peewee.DateTimeField(null=True)
    check_out_place = peewee.ForeignKeyField(AttendancePlace, null=True, on_delete="SET NULL", backref="check_outs")
    check_out_distance_m = peewee.IntegerField(null=True)
    late_minutes = peewee.IntegerField(default=0)
    early_minutes = peewee.IntegerField(default=0)
    absent = peewee.BooleanField(default=False)
    on_leave = peewee.BooleanField(default=False)
    missed_check_in = peewee.BooleanField(default=False)
    missed_check_out = peewee.BooleanField(default=False)
    closed_at = peewee.DateTimeField(null=True)                        # the day is over and was judged
    corrected_at = peewee.DateTimeField(null=True)                     # an approved correction changed it

    class Meta:
        indexes = ((("person", "day"), True), (("tenant", "day"), False))
