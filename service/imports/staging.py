"""Staging tables of an import: temporary, filled in one go by COPY on PostgreSQL and by
``executemany`` on SQLite, so a batch's rows reach the database in one round trip and are checked and
written from there with set-based SQL. A batch stages and uses them inside its own transaction; on
PostgreSQL they are dropped at its COMMIT, so behind PgBouncer in transaction mode none is left on a
server connection that other clients then get."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from ledger import UTCDateTime


def is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def stage(session: Session, table: str, columns: Sequence[tuple[str, str]], rows: Iterable[tuple]) -> None:
    """(Re)create the temporary ``table`` with ``columns`` (name, SQL type) and load ``rows`` into it."""
    connection = session.connection()
    postgresql = connection.dialect.name == "postgresql"
    # Qualified, so a permanent table of the same name can never be the one dropped.
    connection.exec_driver_sql(f"DROP TABLE IF EXISTS {'pg_temp' if postgresql else 'temp'}.{table}")
    connection.exec_driver_sql(
        f"CREATE TEMP TABLE {table} ({', '.join(f'{c} {t}' for c, t in columns)})"
        + (" ON COMMIT DROP" if postgresql else "")
    )
    names = ", ".join(c for c, _ in columns)
    if postgresql:
        with connection.connection.driver_connection.cursor() as cursor:
            with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            cursor.execute(f"ANALYZE {table}")  # the planner then knows a batch is small: index probes
    else:
        connection.exec_driver_sql(
            f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(columns))})",
            [tuple(v.isoformat() if isinstance(v, dt.date) else v for v in row) for row in rows],  # as SA stores dates
        )


def execute(session: Session, sql: str, **params):
    """Run set-based SQL over staged rows; ``:now`` binds as a UTC timestamp."""
    statement = text(sql)
    if "now" in params:
        statement = statement.bindparams(bindparam("now", type_=UTCDateTime()))
    return session.connection().execute(statement, params)


# Units of the two wallets every resident has, as a table both dialects can join.
UNITS = "(SELECT 'COIN' AS unit UNION ALL SELECT 'HOUR' AS unit)"
