from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

from office.app import load_all_models

load_all_models()
config = context.config
target_metadata = SQLModel.metadata


def run() -> None:
    engine = config.attributes.get("engine")
    if engine is None:
        from sqlalchemy import create_engine

        url = config.get_main_option("sqlalchemy.url")
        if url is None:
            raise RuntimeError("alembic: no engine and no sqlalchemy.url")
        engine = create_engine(url)
    with engine.connect() as connection:
        from office.migrate import not_virtual

        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=True,
            include_name=not_virtual(connection),
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run()
