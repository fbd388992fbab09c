from alembic import context

from followups.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    engine = config.attributes["engine"]
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch migrations rebuild a table (copy, drop, rename); with foreign keys on,
            # dropping a table that others reference fails. The pragma only takes effect
            # outside a transaction, so it is set on the driver connection before ours begins.
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
        try:
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                render_as_batch=sqlite,
                compare_type=True,
            )
            with context.begin_transaction():
                context.run_migrations()
        finally:
            if sqlite:
                connection.commit()
                connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")


run_migrations_online()
