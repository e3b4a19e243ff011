"""schemathesis against the OpenAPI document, through the WSGI app, as a populated tenant's token.

Requests are generated from app/api/openapi.yaml (rather than written by hand): every
answer must be documented for its operation and fit its schema, and none may be a 5xx.
"""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                               status_code_conformance)

from tests.openapi import DOCUMENT
from tests.security.conftest import FOREIGN

pytestmark = pytest.mark.slow

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


schema = schemathesis.openapi.from_path(str(DOCUMENT))


@schema.parametrize()
@settings(max_examples=25, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
def test_api_answers_as_documented(case, world):
    side = world.sides[FOREIGN]   # acme, the install's default tenant, is the one localhost reaches
    token = side.actors["owner"].token
    # Sent to the app in this process; localhost is the install's default tenant.
    case.call_and_validate(app=world.app, headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)
