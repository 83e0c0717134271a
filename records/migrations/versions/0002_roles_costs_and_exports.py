"""What later versions added before the schema had revisions: roles, seeds, costs, where a trial ran, exports.

``trials`` gains the role and seed of a trial and the finalist it repeats, its costs (latency, FLOPs) and where it
ran; ``runs`` the objective and pick, a recipe's published figures, the finalists' verdict and where the run's Ray
state and study are; ``exports`` is new. Those versions added these by hand, so a database may have any of them:
only what is missing is added.
"""

import sqlalchemy as sa
from alembic import op

from records.migrations import add_missing_columns

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_TRIALS = (
    ("role", sa.String(20)), ("seed", sa.Integer), ("repeat_of", sa.String(64)), ("latency_ms", sa.Float),
    ("flops", sa.BigInteger), ("node_id", sa.String(64)), ("node_ip", sa.String(64)), ("worker_pid", sa.Integer),
    ("peak_rss_mb", sa.Float), ("worker_failures", sa.Integer),
)
_RUNS = (
    ("objective", sa.String(40)), ("pick", sa.String(20)), ("published", sa.Text), ("finalists", sa.Text),
    ("storage_path", sa.Text), ("optuna_storage", sa.Text),
)


def upgrade() -> None:
    """Add the missing columns of ``trials`` and ``runs``, and the ``exports`` table where it is missing."""
    add_missing_columns("trials", [sa.Column(name, kind) for name, kind in _TRIALS])
    add_missing_columns("runs", [sa.Column(name, kind) for name, kind in _RUNS])
    if sa.inspect(op.get_bind()).has_table("exports"):
        return
    op.create_table(
        "exports",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("run_name", sa.String(200)),
        sa.Column("trial_id", sa.String(64), nullable=False),
        sa.Column("role", sa.String(20)),
        sa.Column("format", sa.String(30), nullable=False),
        sa.Column("path", sa.Text),
        sa.Column("bytes", sa.BigInteger),
        sa.Column("image_size", sa.Integer),
        sa.Column("params", sa.BigInteger),
        sa.Column("flops", sa.BigInteger),
        sa.Column("latency_p50_ms_1t", sa.Float),
        sa.Column("latency_p90_ms_1t", sa.Float),
        sa.Column("latency_p50_ms_all", sa.Float),
        sa.Column("latency_p90_ms_all", sa.Float),
        sa.Column("threads_all", sa.Integer),
        sa.Column("test_accuracy", sa.Float),
        sa.Column("test_f1_macro", sa.Float),
        sa.Column("keras_test_accuracy", sa.Float),
        sa.Column("accuracy_diff_pp", sa.Float),
        sa.Column("parity_ok", sa.Boolean),
        sa.Column("error", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_exports_run_id", "exports", ["run_id"])


def downgrade() -> None:
    """Drop ``exports`` and the added columns."""
    op.drop_index("ix_exports_run_id", table_name="exports")
    op.drop_table("exports")
    for table, columns in (("trials", _TRIALS), ("runs", _RUNS)):
        with op.batch_alter_table(table) as batch:
            for name, _ in columns:
                batch.drop_column(name)
