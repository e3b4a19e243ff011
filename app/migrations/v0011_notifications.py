"""Notifications per person, email preferences and settings, the email outbox, and DING email escalation."""
from app.migrations import run_ddl


def upgrade(database, migrator):
    run_ddl(
        database,
        """CREATE TABLE notification (
            id {id}, tenant_id INTEGER NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
            person_id INTEGER NOT NULL REFERENCES person (id) ON DELETE CASCADE,
            kind VARCHAR(32) NOT NULL, params TEXT NOT NULL, link VARCHAR(300), ref VARCHAR(64),
            email {bool} NOT NULL DEFAULT {false}, created_at {ts} NOT NULL, read_at {ts})""",
        "CREATE INDEX notification_tenant_id ON notification (tenant_id)",
        "CREATE INDEX notification_person_id_read_at ON notification (person_id, read_at)",
        "CREATE INDEX notification_person_id_created_at ON notification (person_id, created_at)",
        """CREATE TABLE notification_preference (
            id {id}, tenant_id INTEGER NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
            person_id INTEGER NOT NULL REFERENCES person (id) ON DELETE CASCADE,
            daily_digest {bool} NOT NULL DEFAULT {false}, last_digest_at {ts})""",
        "CREATE INDEX notification_preference_tenant_id ON notification_preference (tenant_id)",
        "CREATE UNIQUE INDEX notification_preference_person_id ON notification_preference (person_id)",
        """CREATE TABLE email_settings (
            id {id}, tenant_id INTEGER NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
            enabled {bool} NOT NULL DEFAULT {false}, from_address VARCHAR(254), from_name VARCHAR(200),
            ding_delay_minutes INTEGER NOT NULL DEFAULT 10, digest_time VARCHAR(5) NOT NULL DEFAULT '08:00')""",
        "CREATE UNIQUE INDEX email_settings_tenant_id ON email_settings (tenant_id)",
        """CREATE TABLE outgoing_email (
            id {id}, tenant_id INTEGER NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
            person_id INTEGER NOT NULL REFERENCES person (id) ON DELETE CASCADE,
            notification_id INTEGER REFERENCES notification (id) ON DELETE SET NULL,
            kind VARCHAR(32) NOT NULL, params TEXT NOT NULL, link VARCHAR(300), to_address VARCHAR(254) NOT NULL,
            urgent {bool} NOT NULL DEFAULT {false}, dedupe_key VARCHAR(100), message_id VARCHAR(250) NOT NULL,
            state VARCHAR(16) NOT NULL DEFAULT 'queued', attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at {ts} NOT NULL, claim VARCHAR(32), lease_until {ts}, created_at {ts} NOT NULL,
            handed_at {ts}, sent_at {ts}, detail VARCHAR(300))""",
        "CREATE INDEX outgoing_email_tenant_id ON outgoing_email (tenant_id)",
        "CREATE INDEX outgoing_email_person_id ON outgoing_email (person_id)",
        "CREATE INDEX outgoing_email_notification_id ON outgoing_email (notification_id)",
        "CREATE UNIQUE INDEX outgoing_email_message_id ON outgoing_email (message_id)",
        "CREATE INDEX outgoing_email_state_next_attempt_at ON outgoing_email (state, next_attempt_at)",
        "CREATE UNIQUE INDEX outgoing_email_tenant_id_dedupe_key ON outgoing_email (tenant_id, dedupe_key)",
        "ALTER TABLE ding_recipient ADD COLUMN escalated_at {ts}",
    )
