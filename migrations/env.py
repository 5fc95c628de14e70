"""Alembic environment: batch mode (SQLite), the shared naming convention, type comparison."""

from alembic import context
from sqlalchemy import create_engine, pool

from ledger.models import Base
from service.domains import import_models

import_models()
target_metadata = Base.metadata
config = context.config


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    # A migration prepares nothing on the server: behind PgBouncer in transaction mode a prepared
    # statement would stay on the server connection after this one closes (docs/scaling.md).
    postgresql = url.startswith("postgresql")
    engine = create_engine(url, poolclass=pool.NullPool, connect_args={"prepare_threshold": None} if postgresql else {})
    with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            # A batch table rebuild fails while other tables reference it with foreign keys on.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()  # end the autobegun transaction so Alembic commits its own
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=True,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `greencoin migrate`")
run_migrations_online()
