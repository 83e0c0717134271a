"""What runners write and reports read: the results store, the Optuna study storage and what a trial reports.

``runners`` (which searches) and ``reports`` (which publish) both import this package; it imports only the core
(``benchmarks``), so neither of them needs the other.
"""
