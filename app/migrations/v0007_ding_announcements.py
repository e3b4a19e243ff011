"""DINGs with their recipients; announcements with their departments and read confirmations."""
from app.migrations import run_ddl


def upgrade(database, migrator):
    run_ddl(
        database,
        """CREATE TABLE ding (
            id {id}, tenant_id INTEGER NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
            sender_id INTEGER NOT NULL REFERENCES person (id) ON DELETE CASCADE,
            text TEXT NOT NULL, created_at {ts} NOT NULL, send_at {ts}, sent_at {ts}, stopped_at {ts},
            remind_minutes INTEGER NOT NULL DEFAULT 5)""",
        "CREATE INDEX ding_tenant_id ON ding (tenant_id)",
        "CREATE INDEX ding_sender_id_created_at ON ding (sender_id, created_at)",
        "CREATE INDEX ding_send_at ON ding (send_at)",
        """CREATE TABLE ding_recipient (
            id {id}, tenant_id INTEGER NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
            ding_id INTEGER NOT NULL REFERENCES ding (id) ON DELETE CASCADE,
            person_id INTEGER NOT NULL REFERENCES person (id) ON DELETE CASCADE,
            confirmed_at {ts}, last_alert_at {ts}, alerts INTEGER NOT NULL DEFAULT 0)""",
        "CREATE INDEX ding_recipient_tenant_id ON ding_recipient (tenant_id)",
        "CREATE UNIQUE INDEX ding_recipient_ding_id_person_id ON ding_recipient (ding_id, person_id)",
        "CREATE INDEX ding_recipient_person_id_confirmed_at ON ding_recipient (person_id, confirmed_at)",
        "CREATE INDEX ding_recipient_confirmed_at_last_alert_at ON ding_recipient (confirmed_at, last_alert_at)",
        """CREATE TABLE announcement (
            id {id}, tenant_id INTEGER NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
            author_id INTEGER NOT NULL REFERENCES person (id) ON DELETE CASCADE,
            title VARCHAR(200) NOT NULL, body TEXT NOT NULL, important {bool} NOT NULL DEFAULT {false},
            to_all {bool} NOT NULL DEFAULT {false}, created_at {ts} NOT NULL)""",
        "CREATE INDEX announcement_tenant_id ON announcement (tenant_id)",
        "CREATE INDEX announcement_author_id ON announcement (author_id)",
        "CREATE INDEX announcement_created_at ON announcement (created_at)",
        """CREATE TABLE announcement_department (
            id {id}, tenant_id INTEGER NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
            announcement_id INTEGER NOT NULL REFERENCES announcement (id) ON DELETE CASCADE,
            department_id INTEGER NOT NULL REFERENCES department (id) ON DELETE CASCADE)""",
        "CREATE INDEX announcement_department_tenant_id ON announcement_department (tenant_id)",
        "CREATE UNIQUE INDEX announcement_department_announcement_id_department_id"
        " ON announcement_department (announcement_id, department_id)",
        "CREATE INDEX announcement_department_department_id ON announcement_department (department_id)",
        """CREATE TABLE announcement_read (
            id {id}, tenant_id INTEGER NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
            announcement_id INTEGER NOT NULL REFERENCES announcement (id) ON DELETE CASCADE,
            person_id INTEGER NOT NULL REFERENCES person (id) ON DELETE CASCADE,
            confirmed_at {ts} NOT NULL)""",
        "CREATE INDEX announcement_read_tenant_id ON announcement_read (tenant_id)",
        "CREATE UNIQUE INDEX announcement_read_announcement_id_person_id ON announcement_read (announcement_id, person_id)",
        "CREATE INDEX announcement_read_person_id ON announcement_read (person_id)",
    )
