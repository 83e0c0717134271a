"""Leaderboards from the results database: ``python -m reports.build`` writes leaderboard.md and index.html.

Modules: :mod:`reports.data` (reading), :mod:`reports.tables` (DataFrames), :mod:`reports.importance`
(Optuna importances), :mod:`reports.plots` (PNG figures), :mod:`reports.compose` (the document),
:mod:`reports.render` (Markdown and HTML), :mod:`reports.build` (the command).
"""

__all__: list[str] = []
