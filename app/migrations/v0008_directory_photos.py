"""Directory photos: each synced person's photo, checked and kept in the blob store, linked from their entry."""
from app.migrations import run_ddl


def upgrade(database, migrator):
    run_ddl(
        database,
        "ALTER TABLE directory_entry ADD COLUMN photo_blob_id INTEGER REFERENCES blob (id) ON DELETE SET NULL",
        "CREATE INDEX directory_entry_photo_blob_id ON directory_entry (photo_blob_id)",
    )
