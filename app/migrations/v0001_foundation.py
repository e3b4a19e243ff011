"""Tenants, host names, departments, people and memberships."""
from app.migrations import run_ddl


def upgrade(database, migrator):
    run_ddl(
        database,
        """CREATE TABLE tenant (
            id {id}, slug VARCHAR(40) NOT NULL, name VARCHAR(200) NOT NULL,
            is_default {bool} NOT NULL DEFAULT {false}, default_locale VARCHAR(16),
            timezone VARCHAR(64), created_at {ts} NOT NULL)""",
        "CREATE UNIQUE INDEX tenant_slug ON tenant (slug)",
        """CREATE TABLE tenant_host (
            id {id}, tenant_id INTEGER NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
            host VARCHAR(253) NOT NULL)""",
        "CREATE UNIQUE INDEX tenant_host_host ON tenant_host (host)",
        "CREATE INDEX tenant_host_tenant_id ON tenant_host (tenant_id)",
        """CREATE TABLE person (
            id {id}, tenant_id INTEGER NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
            login VARCHAR(128) NOT NULL, display_name VARCHAR(200) NOT NULL,
            email VARCHAR(254), mobile VARCHAR(40), title VARCHAR(200), employee_no VARCHAR(64),
            manager_id INTEGER REFERENCES person (id) ON DELETE SET NULL,
            role VARCHAR(16) NOT NULL DEFAULT 'member', is_active {bool} NOT NULL DEFAULT {true},
            deactivated_by VARCHAR(16), source VARCHAR(16) NOT NULL DEFAULT 'local',
            external_id VARCHAR(128), password_hash VARCHAR(255),
            must_change_password {bool} NOT NULL DEFAULT {false},
            session_epoch INTEGER NOT NULL DEFAULT 0, locale VARCHAR(16), timezone VARCHAR(64),
            created_at {ts} NOT NULL, updated_at {ts} NOT NULL, last_login_at {ts})""",
        "CREATE INDEX person_tenant_id ON person (tenant_id)",
        "CREATE INDEX person_manager_id ON person (manager_id)",
        "CREATE UNIQUE INDEX person_tenant_id_login ON person (tenant_id, login)",
        "CREATE UNIQUE INDEX person_tenant_id_external_id ON person (tenant_id, external_id)",
        """CREATE TABLE department (
            id {id}, tenant_id INTEGER NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
            name VARCHAR(200) NOT NULL,
            parent_id INTEGER REFERENCES department (id) ON DELETE RESTRICT,
            sort_order INTEGER NOT NULL DEFAULT 0,
            head_id INTEGER REFERENCES person (id) ON DELETE SET NULL,
            source VARCHAR(16) NOT NULL DEFAULT 'local', external_id VARCHAR(128),
            created_at {ts} NOT NULL)""",
        "CREATE INDEX department_tenant_id ON department (tenant_id)",
        "CREATE INDEX department_parent_id ON department (parent_id)",
        "CREATE INDEX department_head_id ON department (head_id)",
        "CREATE UNIQUE INDEX department_tenant_id_external_id ON department (tenant_id, external_id)",
        """CREATE TABLE membership (
            id {id}, tenant_id INTEGER NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
            person_id INTEGER NOT NULL REFERENCES person (id) ON DELETE CASCADE,
            department_id INTEGER NOT NULL REFERENCES department (id) ON DELETE CASCADE,
            is_primary {bool} NOT NULL DEFAULT {true})""",
        "CREATE INDEX membership_tenant_id ON membership (tenant_id)",
        "CREATE INDEX membership_department_id ON membership (department_id)",
        "CREATE UNIQUE INDEX membership_person_id_department_id ON membership (person_id, department_id)",
    )
