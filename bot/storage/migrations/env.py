"""Alembic environment: runs the migrations on the engine the service hands over."""

from alembic import context

from bot.storage.models import Base

target_metadata = Base.metadata


def run_migrations() -> None:
    """Run migrations online, on the engine in the config's attributes."""
    engine = context.config.attributes["engine"]
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations()
