"""Directory sync: per-tenant directory settings, per-person directory facts, and the record of every run."""
from app.migrations import run_ddl


def upgrade(database, migrator):
    run_ddl(
        database,
        """CREATE TABLE directory_config (
            id {id}, tenant_id INTEGER NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
            enabled {bool} NOT NULL DEFAULT {true}, preset VARCHAR(16) NOT NULL DEFAULT 'openldap',
            server_uris TEXT NOT NULL, security VARCHAR(16) NOT NULL DEFAULT 'none',
            ca_file VARCHAR(1024), bind_dn VARCHAR(1024), bind_password_encrypted TEXT,
            bind_password_file VARCHAR(1024), user_base_dns TEXT NOT NULL, user_filter VARCHAR(1024),
            department_source VARCHAR(16) NOT NULL DEFAULT 'ou', department_base_dn VARCHAR(1024),
            department_filter VARCHAR(1024), mapping TEXT NOT NULL,
            page_size INTEGER NOT NULL DEFAULT 500, connect_timeout INTEGER NOT NULL DEFAULT 5,
            receive_timeout INTEGER NOT NULL DEFAULT 30, schedule_enabled {bool} NOT NULL DEFAULT {false},
            max_deactivation_share DOUBLE PRECISION NOT NULL DEFAULT 0.1,
            high_water_mark VARCHAR(64), last_full_sync_at {ts}, updated_at {ts} NOT NULL)""",
        "CREATE UNIQUE INDEX directory_config_tenant_id ON directory_config (tenant_id)",
        """CREATE TABLE directory_entry (
            id {id}, tenant_id INTEGER NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
            person_id INTEGER NOT NULL REFERENCES person (id) ON DELETE CASCADE,
            dn VARCHAR(1024) NOT NULL, photo_sha256 VARCHAR(64), photo_size INTEGER)""",
        "CREATE INDEX directory_entry_tenant_id ON directory_entry (tenant_id)",
        "CREATE UNIQUE INDEX directory_entry_person_id ON directory_entry (person_id)",
        """CREATE TABLE sync_run (
            id {id}, tenant_id INTEGER NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
            origin VARCHAR(16) NOT NULL, started_by_id INTEGER REFERENCES person (id) ON DELETE SET NULL,
            kind VARCHAR(16) NOT NULL, dry_run {bool} NOT NULL DEFAULT {false},
            forced {bool} NOT NULL DEFAULT {false}, status VARCHAR(16) NOT NULL DEFAULT 'running',
            reason VARCHAR(1024), started_at {ts} NOT NULL, finished_at {ts}, duration_ms INTEGER,
            counts TEXT NOT NULL, problems TEXT NOT NULL, plan TEXT NOT NULL)""",
        "CREATE INDEX sync_run_tenant_id ON sync_run (tenant_id)",
        "CREATE INDEX sync_run_started_by_id ON sync_run (started_by_id)",
        "CREATE INDEX sync_run_tenant_id_started_at ON sync_run (tenant_id, started_at)",
    )
