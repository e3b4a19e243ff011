"""Roles and security policies: a department admin's department, lock-out state on people, a policy per tenant."""
from app.migrations import run_ddl


def upgrade(database, migrator):
    run_ddl(
        database,
        "ALTER TABLE person ADD COLUMN admin_department_id INTEGER REFERENCES department (id) ON DELETE SET NULL",
        "CREATE INDEX person_admin_department_id ON person (admin_department_id)",
        "ALTER TABLE person ADD COLUMN failed_logins INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE person ADD COLUMN locked_at {ts}",
        """CREATE TABLE tenant_policy (
            id {id}, tenant_id INTEGER NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
            data TEXT NOT NULL, updated_at {ts} NOT NULL,
            updated_by_id INTEGER REFERENCES person (id) ON DELETE SET NULL)""",
        "CREATE UNIQUE INDEX tenant_policy_tenant_id ON tenant_policy (tenant_id)",
        "CREATE INDEX tenant_policy_updated_by_id ON tenant_policy (updated_by_id)",
    )
