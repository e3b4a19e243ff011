"""Blobs (every file the product keeps) and brand versions with their assets."""
from app.migrations import run_ddl


def upgrade(database, migrator):
    run_ddl(
        database,
        """CREATE TABLE blob (
            id {id}, tenant_id INTEGER NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
            key VARCHAR(80) NOT NULL, store VARCHAR(64) NOT NULL, size {bigint} NOT NULL,
            sha256 VARCHAR(64) NOT NULL, content_type VARCHAR(100) NOT NULL, created_at {ts} NOT NULL)""",
        "CREATE UNIQUE INDEX blob_key ON blob (key)",
        "CREATE INDEX blob_tenant_id ON blob (tenant_id)",
        """CREATE TABLE brand_version (
            id {id}, tenant_id INTEGER NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
            number INTEGER NOT NULL, settings TEXT NOT NULL, css TEXT NOT NULL, css_hash VARCHAR(64) NOT NULL,
            is_current {bool} NOT NULL DEFAULT {false}, created_by_id INTEGER REFERENCES person (id) ON DELETE SET NULL,
            note VARCHAR(200), created_at {ts} NOT NULL)""",
        "CREATE INDEX brand_version_tenant_id ON brand_version (tenant_id)",
        "CREATE INDEX brand_version_created_by_id ON brand_version (created_by_id)",
        "CREATE UNIQUE INDEX brand_version_tenant_id_number ON brand_version (tenant_id, number)",
        """CREATE TABLE brand_asset (
            id {id}, tenant_id INTEGER NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
            version_id INTEGER NOT NULL REFERENCES brand_version (id) ON DELETE CASCADE,
            name VARCHAR(64) NOT NULL, blob_id INTEGER NOT NULL REFERENCES blob (id) ON DELETE RESTRICT,
            url_hash VARCHAR(64) NOT NULL)""",
        "CREATE INDEX brand_asset_tenant_id ON brand_asset (tenant_id)",
        "CREATE INDEX brand_asset_blob_id ON brand_asset (blob_id)",
        "CREATE UNIQUE INDEX brand_asset_version_id_name ON brand_asset (version_id, name)",
    )
