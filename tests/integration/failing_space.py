"""A test-only space: the first trial diverges (NaN loss), the others train normally."""

from search_spaces import SearchSpace


def suggest(trial, pretrained=True):
    trial.suggest_categorical("batch_size", [16, 32])
    return {
        "backbone": "custom_cnn", "depth": 2, "width": 8, "dense_units": 32, "dropout": 0.0,
        "optimizer": "adam", "augmentation": "none",
        "learning_rate": 1e30 if trial.number == 0 else 3e-3,
    }


SPACE = SearchSpace("failing", "first trial diverges", suggest, ("custom_cnn",))
