"""Versioned schema migrations: vNNNN_name.py modules, each with upgrade(database, migrator).

Migrations are frozen: they spell out their DDL instead of importing today's
models, so a database created by version 1 upgrades the same way next year.
"""
from __future__ import annotations

import peewee

_TYPES = {
    "sqlite": {"id": "INTEGER PRIMARY KEY AUTOINCREMENT", "bool": "INTEGER", "ts": "DATETIME",
               "true": "1", "false": "0", "bigint": "INTEGER", "blob": "BLOB"},
    "postgres": {"id": "SERIAL PRIMARY KEY", "bool": "BOOLEAN", "ts": "TIMESTAMP",
                 "true": "TRUE", "false": "FALSE", "bigint": "BIGINT", "blob": "BYTEA"},
}


def run_ddl(database: peewee.Database, *statements: str) -> None:
    """Execute DDL written with {id}, {bool}, {ts}, {true}, {false}, {bigint}, {blob} placeholders."""
    dialect = "postgres" if isinstance(database, peewee.PostgresqlDatabase) else "sqlite"
    for statement in statements:
        database.execute_sql(statement.format(**_TYPES[dialect]))
