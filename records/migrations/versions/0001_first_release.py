"""The first release's schema: ``trials`` (one row per trial) and ``runs`` (one row per search).

Frozen as that release created it; later revisions change it. The hyperparameters with a column of their own were
then ``learning_rate``, ``batch_size``, ``optimizer``, ``dropout``, ``dense_units``, ``augmentation``,
``unfrozen_layers``, ``depth`` and ``width``.
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``trials`` and ``runs`` as the first release did."""
    op.create_table(
        "trials",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("run_name", sa.String(200), nullable=False),
        sa.Column("trial_id", sa.String(64), nullable=False),
        sa.Column("dataset", sa.String(200), nullable=False),
        sa.Column("space", sa.String(100)),
        sa.Column("budget", sa.String(20)),
        sa.Column("family", sa.String(20)),
        sa.Column("backbone", sa.String(50)),
        sa.Column("is_reference", sa.Boolean, nullable=False),
        sa.Column("is_best", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("val_accuracy", sa.Float),
        sa.Column("val_loss", sa.Float),
        sa.Column("test_accuracy", sa.Float),
        sa.Column("test_f1_macro", sa.Float),
        sa.Column("epochs", sa.Integer),
        sa.Column("wall_seconds", sa.Float),
        sa.Column("params", sa.BigInteger),
        sa.Column("trainable_params", sa.BigInteger),
        sa.Column("image_size", sa.Integer),
        sa.Column("weights", sa.String(500)),
        sa.Column("learning_rate", sa.Float),
        sa.Column("batch_size", sa.Integer),
        sa.Column("optimizer", sa.String),
        sa.Column("dropout", sa.Float),
        sa.Column("dense_units", sa.Integer),
        sa.Column("augmentation", sa.String),
        sa.Column("unfrozen_layers", sa.Integer),
        sa.Column("depth", sa.Integer),
        sa.Column("width", sa.Integer),
        sa.Column("config", sa.Text),
        sa.Column("history", sa.Text),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("run_id", "trial_id", name="one_row_per_trial"),
    )
    op.create_index("ix_trials_run_id", "trials", ["run_id"])
    op.create_index("ix_trials_dataset", "trials", ["dataset"])
    op.create_table(
        "runs",
        sa.Column("run_id", sa.String(32), primary_key=True),
        sa.Column("run_name", sa.String(200), nullable=False),
        sa.Column("dataset", sa.String(200), nullable=False),
        sa.Column("dataset_summary", sa.Text),
        sa.Column("class_names", sa.Text),
        sa.Column("space", sa.String(100)),
        sa.Column("budget", sa.String(20)),
        sa.Column("sampler", sa.String(20)),
        sa.Column("scheduler", sa.String(20)),
        sa.Column("seed", sa.Integer),
        sa.Column("num_samples", sa.Integer),
        sa.Column("max_concurrent", sa.Integer),
        sa.Column("epochs", sa.Integer),
        sa.Column("image_size", sa.Integer),
        sa.Column("weights", sa.String(500)),
        sa.Column("command", sa.Text),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("trials_total", sa.Integer),
        sa.Column("trials_failed", sa.Integer),
        sa.Column("best_trial_id", sa.String(64)),
        sa.Column("test_metrics", sa.Text),
        sa.Column("model_path", sa.Text),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
    )


def downgrade() -> None:
    """Drop both tables."""
    op.drop_table("runs")
    op.drop_index("ix_trials_dataset", table_name="trials")
    op.drop_index("ix_trials_run_id", table_name="trials")
    op.drop_table("trials")
