"""Chat: conversations, members with their read position, messages, the event log, API tokens;
people's search key (pinyin) and working hours."""
import peewee

from app.migrations import run_ddl


def upgrade(database, migrator):
    run_ddl(
        database,
        "ALTER TABLE person ADD COLUMN search_key VARCHAR(400)",
        "ALTER TABLE person ADD COLUMN work_start VARCHAR(5)",
        "ALTER TABLE person ADD COLUMN work_end VARCHAR(5)",
        "ALTER TABLE person ADD COLUMN work_days VARCHAR(20)",
        "ALTER TABLE person ADD COLUMN dnd_until {ts}",
        """CREATE TABLE conversation (
            id {id}, tenant_id INTEGER NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
            kind VARCHAR(16) NOT NULL, title VARCHAR(200), direct_key VARCHAR(40),
            department_id INTEGER REFERENCES department (id) ON DELETE SET NULL,
            created_by_id INTEGER REFERENCES person (id) ON DELETE SET NULL,
            last_message_id INTEGER, last_message_at {ts}, created_at {ts} NOT NULL)""",
        "CREATE INDEX conversation_tenant_id ON conversation (tenant_id)",
        "CREATE INDEX conversation_department_id ON conversation (department_id)",
        "CREATE INDEX conversation_created_by_id ON conversation (created_by_id)",
        "CREATE UNIQUE INDEX conversation_tenant_id_direct_key ON conversation (tenant_id, direct_key)",
        """CREATE TABLE conversation_member (
            id {id}, tenant_id INTEGER NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
            conversation_id INTEGER NOT NULL REFERENCES conversation (id) ON DELETE CASCADE,
            person_id INTEGER NOT NULL REFERENCES person (id) ON DELETE CASCADE,
            last_read_id INTEGER NOT NULL DEFAULT 0, joined_at {ts} NOT NULL)""",
        "CREATE INDEX conversation_member_tenant_id ON conversation_member (tenant_id)",
        "CREATE INDEX conversation_member_person_id ON conversation_member (person_id)",
        "CREATE UNIQUE INDEX conversation_member_conversation_id_person_id ON conversation_member (conversation_id, person_id)",
        """CREATE TABLE message (
            id {id}, tenant_id INTEGER NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
            conversation_id INTEGER NOT NULL REFERENCES conversation (id) ON DELETE CASCADE,
            sender_id INTEGER REFERENCES person (id) ON DELETE SET NULL,
            kind VARCHAR(16) NOT NULL DEFAULT 'text', text TEXT NOT NULL, search_text TEXT NOT NULL,
            reply_to_id INTEGER REFERENCES message (id) ON DELETE SET NULL,
            attachment_id INTEGER REFERENCES blob (id) ON DELETE SET NULL, attachment_name VARCHAR(200),
            created_at {ts} NOT NULL, edited_at {ts}, recalled_at {ts})""",
        "CREATE INDEX message_tenant_id ON message (tenant_id)",
        "CREATE INDEX message_conversation_id_id ON message (conversation_id, id)",
        "CREATE INDEX message_sender_id_created_at ON message (sender_id, created_at)",
        "CREATE INDEX message_reply_to_id ON message (reply_to_id)",
        "CREATE INDEX message_attachment_id ON message (attachment_id)",
        """CREATE TABLE message_mention (
            id {id}, tenant_id INTEGER NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
            message_id INTEGER NOT NULL REFERENCES message (id) ON DELETE CASCADE,
            person_id INTEGER NOT NULL REFERENCES person (id) ON DELETE CASCADE)""",
        "CREATE INDEX message_mention_tenant_id ON message_mention (tenant_id)",
        "CREATE INDEX message_mention_message_id ON message_mention (message_id)",
        "CREATE INDEX message_mention_person_id ON message_mention (person_id)",
        """CREATE TABLE event (
            id {id}, tenant_id INTEGER NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
            audience VARCHAR(16) NOT NULL, audience_id INTEGER, kind VARCHAR(32) NOT NULL,
            payload TEXT NOT NULL, created_at {ts} NOT NULL)""",
        "CREATE INDEX event_tenant_id ON event (tenant_id)",
        "CREATE INDEX event_created_at ON event (created_at)",
        """CREATE TABLE api_token (
            id {id}, tenant_id INTEGER NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
            person_id INTEGER NOT NULL REFERENCES person (id) ON DELETE CASCADE,
            name VARCHAR(100) NOT NULL, prefix VARCHAR(16) NOT NULL, token_hash VARCHAR(64) NOT NULL,
            scopes VARCHAR(400) NOT NULL, created_at {ts} NOT NULL, expires_at {ts}, revoked_at {ts},
            last_used_at {ts})""",
        "CREATE INDEX api_token_tenant_id ON api_token (tenant_id)",
        "CREATE INDEX api_token_person_id ON api_token (person_id)",
        "CREATE UNIQUE INDEX api_token_token_hash ON api_token (token_hash)",
    )
    if isinstance(database, peewee.PostgresqlDatabase):
        database.execute_sql("CREATE INDEX message_search ON message USING GIN (to_tsvector('simple', search_text))")
    else:
        run_ddl(
            database,
            "CREATE VIRTUAL TABLE message_fts USING fts5(search_text, content='message', content_rowid='id')",
            """CREATE TRIGGER message_fts_insert AFTER INSERT ON message BEGIN
                INSERT INTO message_fts (rowid, search_text) VALUES (new.id, new.search_text); END""",
            """CREATE TRIGGER message_fts_delete AFTER DELETE ON message BEGIN
                INSERT INTO message_fts (message_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text); END""",
            """CREATE TRIGGER message_fts_update AFTER UPDATE OF search_text ON message BEGIN
                INSERT INTO message_fts (message_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text);
                INSERT INTO message_fts (rowid, search_text) VALUES (new.id, new.search_text); END""",
        )
