"""The v0014 migration and the contacts and switchboard models describe the same tables."""
import peewee
import pytest

from app.contacts.models import (Contact, ContactImport, ContactPhone, ContactSettings, ContactShare, ContactTag,
                                 ContactTagging, Interaction, StandIn)
from app.db import db
from app.switchboard.models import DutyPerson, RoutingDecision

MODELS = (Contact, ContactPhone, ContactTag, ContactTagging, ContactShare, StandIn, Interaction, ContactImport,
          ContactSettings, DutyPerson, RoutingDecision)


def test_migrated_tables_match_the_models(app):
    for model in MODELS:
        table = model._meta.table_name
        columns = {c.name for c in db.get_columns(table)}
        assert columns == {f.column_name for f in model._meta.sorted_fields}, table
        indexes = {i.name for i in db.get_indexes(table)}
        for field in model._meta.sorted_fields:
            if isinstance(field, peewee.ForeignKeyField) and field.index:
                assert f"{table}_{field.column_name}" in indexes, (table, field.column_name)


def test_one_duty_person_per_department_and_one_for_the_company(app, tenant):
    from tests.conftest import make_person

    person = make_person(tenant, "duty", password=None)
    DutyPerson.create(tenant=tenant, department=None, person=person)
    with pytest.raises(peewee.IntegrityError):
        with db.atomic():
            DutyPerson.create(tenant=tenant, department=None, person=person)
