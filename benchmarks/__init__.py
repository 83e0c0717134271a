"""What is measured: datasets and their protocols, the model zoo, augmentation,
the training recipe of one trial and its metrics.

Nothing here knows about Ray or Optuna: a trial can be trained in a plain
Python loop with :func:`benchmarks.training.train_trial`.
"""
