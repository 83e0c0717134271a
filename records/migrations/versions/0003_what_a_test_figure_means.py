"""What a test figure means: the test split's fingerprint and labels, the protocol, each model's predictions.

``runs`` gains ``test_fingerprint``, ``test_labels``, ``protocol`` and ``environment`` (the versions, commit and
machine it ran with); ``trials`` gains ``test_predictions``. The version that introduced them added them by hand,
so only what is missing is added.
"""

import sqlalchemy as sa
from alembic import op

from records.migrations import add_missing_columns

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_RUNS = (("test_fingerprint", sa.String(64)), ("test_labels", sa.Text), ("protocol", sa.Text),
         ("environment", sa.Text))
_TRIALS = (("test_predictions", sa.Text),)


def upgrade() -> None:
    """Add the missing columns."""
    add_missing_columns("runs", [sa.Column(name, kind) for name, kind in _RUNS])
    add_missing_columns("trials", [sa.Column(name, kind) for name, kind in _TRIALS])


def downgrade() -> None:
    """Drop the added columns."""
    for table, columns in (("trials", _TRIALS), ("runs", _RUNS)):
        with op.batch_alter_table(table) as batch:
            for name, _ in columns:
                batch.drop_column(name)
