"""Failed logins, kept in the database so throttling holds across workers and nodes."""
from app.migrations import run_ddl


def upgrade(database, migrator):
    run_ddl(
        database,
        """CREATE TABLE login_failure (
            id {id}, tenant_id INTEGER NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
            login VARCHAR(128) NOT NULL, address VARCHAR(64) NOT NULL, at {ts} NOT NULL)""",
        "CREATE INDEX login_failure_tenant_id ON login_failure (tenant_id)",
        "CREATE INDEX login_failure_login ON login_failure (login)",
        "CREATE INDEX login_failure_address ON login_failure (address)",
        "CREATE INDEX login_failure_at ON login_failure (at)",
    )
