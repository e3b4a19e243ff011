"""Data residency: each tenant pinned to a blob store, and blobs that a storage check found missing or damaged."""
from app.migrations import run_ddl


def upgrade(database, migrator):
    run_ddl(
        database,
        # Every file written before this version went to the one store there was, named 'local'.
        "ALTER TABLE tenant ADD COLUMN blob_store VARCHAR(64) NOT NULL DEFAULT 'local'",
        "ALTER TABLE blob ADD COLUMN damaged VARCHAR(16)",
        "CREATE INDEX blob_store ON blob (store)",
    )
