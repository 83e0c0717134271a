"""What a trial reports, declared once: the ranked metric, the checkpoint score, the roles and the config keys.

Ray Tune, the Optuna sampler, ASHA, the results database and the choice of the best trial all rank by one
number, :data:`METRIC` (the best epoch's validation accuracy so far: Ray's ``OptunaSearch`` reads the last
reported value of its metric, so the ranked number is reported under that name every epoch). Checkpoints are
scored by :data:`CHECKPOINT_SCORE`, the epoch's own validation accuracy, so a trial's best checkpoint is its best
epoch's. ``runners`` writes these names and ``reports`` reads them; both import them from here.
"""

from __future__ import annotations

__all__ = ["CHECKPOINT_SCORE", "METRIC", "MODE", "REPEAT_OF_KEY", "ROLES", "SEED_KEY", "TRIAL_ERROR", "TRIAL_ID"]

#: The number every part of a search ranks trials by, and its direction.
METRIC = "best_val_accuracy"
MODE = "max"
#: The epoch's validation accuracy: what picks a trial's best checkpoint (``Result.get_best_checkpoint``).
CHECKPOINT_SCORE = "val_accuracy"

#: What a trial row is for: ``search`` (sampled, or a starting point), ``repeat`` (a finalist trained again with
#: another seed, see runners.finalists) or ``reference`` (a fixed published recipe).
ROLES = ("search", "repeat", "reference")

#: The config keys a repeat carries beside the finalist's hyperparameters.
SEED_KEY = "seed"
REPEAT_OF_KEY = "repeat_of"

#: Keys of a reported result: Ray's id of the trial, and the one-line reason a trial raised.
TRIAL_ID = "trial_id"
TRIAL_ERROR = "trial_error"
