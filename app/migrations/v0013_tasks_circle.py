"""Tasks with their assignees and timeline; the work circle's posts, departments, images, likes and comments."""
from app.migrations import run_ddl


def upgrade(database, migrator):
    run_ddl(
        database,
        """CREATE TABLE task (
            id {id}, tenant_id INTEGER NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
            creator_id INTEGER NOT NULL REFERENCES person (id) ON DELETE CASCADE,
            title VARCHAR(200) NOT NULL, description TEXT NOT NULL DEFAULT '',
            priority INTEGER NOT NULL DEFAULT 2, status VARCHAR(16) NOT NULL DEFAULT 'todo',
            percent INTEGER NOT NULL DEFAULT 0, due_at {ts},
            source_message_id INTEGER REFERENCES message (id) ON DELETE SET NULL,
            created_at {ts} NOT NULL, updated_at {ts} NOT NULL, completed_at {ts}, last_reminded_at {ts})""",
        "CREATE INDEX task_tenant_id ON task (tenant_id)",
        "CREATE INDEX task_creator_id_created_at ON task (creator_id, created_at)",
        "CREATE INDEX task_due_at ON task (due_at)",
        "CREATE INDEX task_source_message_id ON task (source_message_id)",
        """CREATE TABLE task_assignee (
            id {id}, tenant_id INTEGER NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
            task_id INTEGER NOT NULL REFERENCES task (id) ON DELETE CASCADE,
            person_id INTEGER NOT NULL REFERENCES person (id) ON DELETE CASCADE,
            assigned_at {ts} NOT NULL)""",
        "CREATE INDEX task_assignee_tenant_id ON task_assignee (tenant_id)",
        "CREATE UNIQUE INDEX task_assignee_task_id_person_id ON task_assignee (task_id, person_id)",
        "CREATE INDEX task_assignee_person_id ON task_assignee (person_id)",
        """CREATE TABLE task_comment (
            id {id}, tenant_id INTEGER NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
            task_id INTEGER NOT NULL REFERENCES task (id) ON DELETE CASCADE,
            author_id INTEGER NOT NULL REFERENCES person (id) ON DELETE CASCADE,
            text TEXT NOT NULL DEFAULT '', status VARCHAR(16), percent INTEGER, created_at {ts} NOT NULL)""",
        "CREATE INDEX task_comment_tenant_id ON task_comment (tenant_id)",
        "CREATE INDEX task_comment_task_id_id ON task_comment (task_id, id)",
        "CREATE INDEX task_comment_author_id ON task_comment (author_id)",
        """CREATE TABLE circle_post (
            id {id}, tenant_id INTEGER NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
            author_id INTEGER NOT NULL REFERENCES person (id) ON DELETE CASCADE,
            text TEXT NOT NULL DEFAULT '', to_all {bool} NOT NULL DEFAULT {true}, created_at {ts} NOT NULL)""",
        "CREATE INDEX circle_post_tenant_id ON circle_post (tenant_id)",
        "CREATE INDEX circle_post_author_id_created_at ON circle_post (author_id, created_at)",
        "CREATE INDEX circle_post_created_at ON circle_post (created_at)",
        """CREATE TABLE circle_post_department (
            id {id}, tenant_id INTEGER NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
            post_id INTEGER NOT NULL REFERENCES circle_post (id) ON DELETE CASCADE,
            department_id INTEGER NOT NULL REFERENCES department (id) ON DELETE CASCADE)""",
        "CREATE INDEX circle_post_department_tenant_id ON circle_post_department (tenant_id)",
        "CREATE UNIQUE INDEX circle_post_department_post_id_department_id"
        " ON circle_post_department (post_id, department_id)",
        "CREATE INDEX circle_post_department_department_id ON circle_post_department (department_id)",
        """CREATE TABLE circle_image (
            id {id}, tenant_id INTEGER NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
            post_id INTEGER NOT NULL REFERENCES circle_post (id) ON DELETE CASCADE,
            blob_id INTEGER NOT NULL REFERENCES blob (id) ON DELETE CASCADE,
            thumb_id INTEGER NOT NULL REFERENCES blob (id) ON DELETE CASCADE,
            position INTEGER NOT NULL DEFAULT 0, width INTEGER NOT NULL, height INTEGER NOT NULL)""",
        "CREATE INDEX circle_image_tenant_id ON circle_image (tenant_id)",
        "CREATE INDEX circle_image_post_id_position ON circle_image (post_id, position)",
        "CREATE INDEX circle_image_blob_id ON circle_image (blob_id)",
        "CREATE INDEX circle_image_thumb_id ON circle_image (thumb_id)",
        """CREATE TABLE circle_like (
            id {id}, tenant_id INTEGER NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
            post_id INTEGER NOT NULL REFERENCES circle_post (id) ON DELETE CASCADE,
            person_id INTEGER NOT NULL REFERENCES person (id) ON DELETE CASCADE,
            created_at {ts} NOT NULL)""",
        "CREATE INDEX circle_like_tenant_id ON circle_like (tenant_id)",
        "CREATE UNIQUE INDEX circle_like_post_id_person_id ON circle_like (post_id, person_id)",
        "CREATE INDEX circle_like_person_id ON circle_like (person_id)",
        """CREATE TABLE circle_comment (
            id {id}, tenant_id INTEGER NOT NULL REFERENCES tenant (id) ON DELETE CASCADE,
            post_id INTEGER NOT NULL REFERENCES circle_post (id) ON DELETE CASCADE,
            author_id INTEGER NOT NULL REFERENCES person (id) ON DELETE CASCADE,
            text TEXT NOT NULL, created_at {ts} NOT NULL)""",
        "CREATE INDEX circle_comment_tenant_id ON circle_comment (tenant_id)",
        "CREATE INDEX circle_comment_post_id_id ON circle_comment (post_id, id)",
        "CREATE INDEX circle_comment_author_id ON circle_comment (author_id)",
    )
