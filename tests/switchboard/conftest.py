"""The switchboard routes calls for the contacts' sales team."""
from tests.contacts.conftest import passwords, team  # noqa: F401 - fixtures shared with the contacts tests
