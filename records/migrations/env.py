"""Alembic's environment for the results database: the revisions run on the connection the caller passes in.

``records.migrations.upgrade`` passes it (``config.attributes["connection"]``), inside its transaction; there is
no ``alembic.ini`` and no offline (SQL script) mode.
"""

from alembic import context

context.configure(connection=context.config.attributes["connection"],
                  version_table=context.config.get_main_option("version_table"), render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
