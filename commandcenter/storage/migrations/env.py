"""Alembic environment for Command Center.

The application runs migrations itself (:func:`commandcenter.storage.database.migrate`) and hands
over an open connection in ``config.attributes["connection"]``. For hand use with the ``alembic``
command, give it an ini file whose ``[alembic]`` section sets ``script_location`` to this folder,
and the database URL as ``-x url=sqlite:///path/to/site.db``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from commandcenter.storage.database import create_engine_for

    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url")
    if not url:
        raise SystemExit("give the database URL: "
                         "alembic -x url=sqlite:///path/to/site.db upgrade head")
    engine = create_engine_for(url)
    try:
        with engine.begin() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported; run against a database")
_run_online()
