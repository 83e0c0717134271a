"""What is measured: datasets and their protocols, the model zoo, augmentation, one trial's training and metrics.

Nothing here knows about Ray or Optuna: a trial can be trained in a plain
Python loop with :func:`benchmarks.training.train_trial`. Nothing under ``benchmarks/`` imports ``runners``,
except :mod:`perf`, the project's measurement of its own speed, which times the real search; the
rest of ``benchmarks/`` never imports it (``tests/unit/test_architecture.py`` checks both).
"""
