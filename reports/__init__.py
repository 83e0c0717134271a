"""Leaderboards from the results database: ``python -m reports.build`` writes leaderboard.md and index.html.

Modules: :mod:`reports.data` (reading), :mod:`reports.trials` (the shared selections of trials),
:mod:`reports.sections` (one module per report section, listed in order: its DataFrames, text and plot),
:mod:`reports.tables` (every section's DataFrames in one import), :mod:`reports.importance` (Optuna
importances), :mod:`reports.plots` (the figures' style), :mod:`reports.compose` (the document),
:mod:`reports.render` (Markdown and HTML), :mod:`reports.build` (the command).
"""

__all__: list[str] = []
