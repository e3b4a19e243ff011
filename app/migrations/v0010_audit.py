"""The audit log: one append-only table, guarded by triggers that refuse UPDATE and DELETE (and TRUNCATE).

tenant_id is a plain value, not a reference, so an entry outlives the tenant it is about.
"""
import peewee

from app.migrations import run_ddl

_REFUSED = "audit_event is append-only"


def upgrade(database, migrator):
    run_ddl(
        database,
        """CREATE TABLE audit_event (
            id {id}, tenant_id INTEGER, tenant_slug VARCHAR(40), at {ts} NOT NULL,
            actor_id INTEGER, actor_label VARCHAR(200) NOT NULL, via VARCHAR(8) NOT NULL, address VARCHAR(64),
            action VARCHAR(64) NOT NULL, target_type VARCHAR(32), target_id VARCHAR(64), target_label VARCHAR(200),
            changes TEXT, outcome VARCHAR(16) NOT NULL DEFAULT 'ok')""",
        "CREATE INDEX audit_event_tenant_id_at ON audit_event (tenant_id, at)",
        "CREATE INDEX audit_event_at ON audit_event (at)",
        "CREATE INDEX audit_event_action ON audit_event (action)",
    )
    if isinstance(database, peewee.PostgresqlDatabase):
        database.execute_sql(
            "CREATE FUNCTION audit_event_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$"
            f" BEGIN RAISE EXCEPTION '{_REFUSED}'; END $$")
        database.execute_sql("CREATE TRIGGER audit_event_no_change BEFORE UPDATE OR DELETE ON audit_event"
                             " FOR EACH ROW EXECUTE FUNCTION audit_event_refuse_change()")
        database.execute_sql("CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event"
                             " FOR EACH STATEMENT EXECUTE FUNCTION audit_event_refuse_change()")
    else:
        for operation in ("UPDATE", "DELETE"):
            database.execute_sql(f"CREATE TRIGGER audit_event_no_{operation.lower()} BEFORE {operation} ON audit_event"
                                 f" BEGIN SELECT RAISE(ABORT, '{_REFUSED}'); END")
