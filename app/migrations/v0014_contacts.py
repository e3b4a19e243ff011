"""External contacts with phones, tags, shares, stand-ins, history and imports; switchboard duty and decisions."""
from app.migrations import run_ddl

_TENANT = "tenant_id INTEGER NOT NULL REFERENCES tenant (id) ON DELETE CASCADE"


def upgrade(database, migrator):
    run_ddl(
        database,
        f"""CREATE TABLE contact (
            id {{id}}, {_TENANT}, kind VARCHAR(16) NOT NULL DEFAULT 'customer', name VARCHAR(200) NOT NULL,
            company VARCHAR(200), title VARCHAR(200), email VARCHAR(254),
            owner_id INTEGER NOT NULL REFERENCES person (id) ON DELETE RESTRICT,
            created_by_id INTEGER REFERENCES person (id) ON DELETE SET NULL,
            search_key VARCHAR(400) NOT NULL, created_at {{ts}} NOT NULL, updated_at {{ts}} NOT NULL)""",
        "CREATE INDEX contact_tenant_id ON contact (tenant_id)",
        "CREATE INDEX contact_owner_id ON contact (owner_id)",
        f"""CREATE TABLE contact_phone (
            id {{id}}, {_TENANT}, contact_id INTEGER NOT NULL REFERENCES contact (id) ON DELETE CASCADE,
            label VARCHAR(16) NOT NULL DEFAULT 'mobile', number VARCHAR(40) NOT NULL, normalized VARCHAR(20) NOT NULL)""",
        "CREATE INDEX contact_phone_tenant_id ON contact_phone (tenant_id)",
        "CREATE INDEX contact_phone_contact_id ON contact_phone (contact_id)",
        "CREATE INDEX contact_phone_tenant_id_normalized ON contact_phone (tenant_id, normalized)",
        f"""CREATE TABLE contact_tag (
            id {{id}}, {_TENANT}, name VARCHAR(40) NOT NULL, folded VARCHAR(40) NOT NULL,
            preset {{bool}} NOT NULL DEFAULT {{false}})""",
        "CREATE INDEX contact_tag_tenant_id ON contact_tag (tenant_id)",
        "CREATE UNIQUE INDEX contact_tag_tenant_id_folded ON contact_tag (tenant_id, folded)",
        f"""CREATE TABLE contact_tagging (
            id {{id}}, {_TENANT}, contact_id INTEGER NOT NULL REFERENCES contact (id) ON DELETE CASCADE,
            tag_id INTEGER NOT NULL REFERENCES contact_tag (id) ON DELETE CASCADE)""",
        "CREATE INDEX contact_tagging_tenant_id ON contact_tagging (tenant_id)",
        "CREATE INDEX contact_tagging_tag_id ON contact_tagging (tag_id)",
        "CREATE UNIQUE INDEX contact_tagging_contact_id_tag_id ON contact_tagging (contact_id, tag_id)",
        f"""CREATE TABLE contact_share (
            id {{id}}, {_TENANT}, contact_id INTEGER NOT NULL REFERENCES contact (id) ON DELETE CASCADE,
            person_id INTEGER NOT NULL REFERENCES person (id) ON DELETE CASCADE,
            shared_by_id INTEGER REFERENCES person (id) ON DELETE SET NULL, created_at {{ts}} NOT NULL)""",
        "CREATE INDEX contact_share_tenant_id ON contact_share (tenant_id)",
        "CREATE INDEX contact_share_person_id ON contact_share (person_id)",
        "CREATE UNIQUE INDEX contact_share_contact_id_person_id ON contact_share (contact_id, person_id)",
        f"""CREATE TABLE stand_in (
            id {{id}}, {_TENANT}, owner_id INTEGER NOT NULL REFERENCES person (id) ON DELETE CASCADE,
            delegate_id INTEGER NOT NULL REFERENCES person (id) ON DELETE CASCADE,
            starts_at {{ts}} NOT NULL, ends_at {{ts}} NOT NULL, ended_at {{ts}},
            created_by_id INTEGER REFERENCES person (id) ON DELETE SET NULL, created_at {{ts}} NOT NULL)""",
        "CREATE INDEX stand_in_tenant_id ON stand_in (tenant_id)",
        "CREATE INDEX stand_in_delegate_id ON stand_in (delegate_id)",
        "CREATE INDEX stand_in_owner_id_ends_at ON stand_in (owner_id, ends_at)",
        f"""CREATE TABLE interaction (
            id {{id}}, {_TENANT}, contact_id INTEGER NOT NULL REFERENCES contact (id) ON DELETE CASCADE,
            author_id INTEGER REFERENCES person (id) ON DELETE SET NULL, kind VARCHAR(16) NOT NULL,
            body TEXT NOT NULL DEFAULT '', happened_at {{ts}} NOT NULL, created_at {{ts}} NOT NULL,
            answered {{bool}}, direction VARCHAR(8))""",
        "CREATE INDEX interaction_tenant_id ON interaction (tenant_id)",
        "CREATE INDEX interaction_author_id ON interaction (author_id)",
        "CREATE INDEX interaction_contact_id_happened_at ON interaction (contact_id, happened_at)",
        f"""CREATE TABLE contact_import (
            id {{id}}, {_TENANT}, person_id INTEGER NOT NULL REFERENCES person (id) ON DELETE CASCADE,
            filename VARCHAR(200) NOT NULL, content TEXT NOT NULL, created_at {{ts}} NOT NULL)""",
        "CREATE INDEX contact_import_tenant_id ON contact_import (tenant_id)",
        "CREATE INDEX contact_import_person_id ON contact_import (person_id)",
        f"""CREATE TABLE contact_settings (
            id {{id}}, {_TENANT}, country_code VARCHAR(4) NOT NULL DEFAULT '86', created_at {{ts}} NOT NULL)""",
        "CREATE UNIQUE INDEX contact_settings_tenant_id ON contact_settings (tenant_id)",
        f"""CREATE TABLE duty_person (
            id {{id}}, {_TENANT}, department_id INTEGER REFERENCES department (id) ON DELETE CASCADE,
            person_id INTEGER NOT NULL REFERENCES person (id) ON DELETE CASCADE,
            set_by_id INTEGER REFERENCES person (id) ON DELETE SET NULL, updated_at {{ts}} NOT NULL)""",
        "CREATE INDEX duty_person_tenant_id ON duty_person (tenant_id)",
        "CREATE INDEX duty_person_person_id ON duty_person (person_id)",
        # One duty person per department, and one (department NULL) for the whole company.
        "CREATE UNIQUE INDEX duty_person_tenant_id_department ON duty_person (tenant_id, COALESCE(department_id, 0))",
        f"""CREATE TABLE routing_decision (
            id {{id}}, {_TENANT}, number VARCHAR(40) NOT NULL, normalized VARCHAR(20) NOT NULL,
            contact_id INTEGER REFERENCES contact (id) ON DELETE SET NULL,
            person_id INTEGER REFERENCES person (id) ON DELETE SET NULL, rule VARCHAR(16) NOT NULL,
            steps TEXT NOT NULL, origin VARCHAR(16) NOT NULL DEFAULT 'api',
            requested_by_id INTEGER REFERENCES person (id) ON DELETE SET NULL, created_at {{ts}} NOT NULL)""",
        "CREATE INDEX routing_decision_tenant_id ON routing_decision (tenant_id)",
        "CREATE INDEX routing_decision_contact_id ON routing_decision (contact_id)",
        "CREATE INDEX routing_decision_tenant_id_created_at ON routing_decision (tenant_id, created_at)",
    )
