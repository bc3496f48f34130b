"""The procrastinate queue's own tables and functions, for task steps on `clawling worker`
processes (issue 20). PostgreSQL only: on SQLite the queue cannot be configured and this
migration does nothing.

The schema is procrastinate's, applied as the pinned release (pyproject.toml) ships it;
moving to a newer release means a new migration of ours that applies the SQL migrations
it ships in between. Downgrading drops every object whose name starts with
`procrastinate_`, jobs included.

Revision ID: 0017_worker
Revises: 0016_notify
Create Date: 2026-12-05
"""

from collections.abc import Sequence

from alembic import op
from procrastinate.schema import SchemaManager
from sqlalchemy import Connection
from sqlalchemy.util import await_

revision: str = "0017_worker"
down_revision: str | None = "0016_notify"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DROP = """
DROP TABLE IF EXISTS procrastinate_events, procrastinate_periodic_defers,
    procrastinate_jobs, procrastinate_workers CASCADE;
DO $$
DECLARE found record;
BEGIN
    FOR found IN
        SELECT p.oid::regprocedure AS signature FROM pg_proc p
        JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate\\_%'
    LOOP
        EXECUTE 'DROP FUNCTION ' || found.signature || ' CASCADE';
    END LOOP;
END $$;
DROP TYPE IF EXISTS procrastinate_job_status, procrastinate_job_event_type,
    procrastinate_job_to_defer_v1 CASCADE;
"""


def _script(bind: Connection, sql: str) -> None:
    """Several statements at once, as the driver gets them (the schema's `:` and `%` are
    SQL, not parameters). asyncpg prepares what SQLAlchemy sends, and a prepared statement
    holds one command, so its own `execute` (the simple protocol) runs the script."""
    if bind.dialect.driver == "asyncpg":
        await_(bind.connection.driver_connection.execute(sql))
    else:
        bind.exec_driver_sql(sql)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        _script(bind, SchemaManager.get_schema())


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        _script(bind, _DROP)
