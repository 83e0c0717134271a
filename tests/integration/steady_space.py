"""A test-only space: one small custom CNN whose learning rate is searched, so every trial learns and takes
about the same time (fault-tolerance tests time their kills by it)."""

from search_spaces import SearchSpace


def suggest(trial, pretrained=True):
    trial.suggest_float("learning_rate", 1e-3, 5e-3, log=True)
    return {
        "backbone": "custom_cnn", "depth": 2, "width": 16, "dense_units": 32, "dropout": 0.0,
        "optimizer": "adam", "augmentation": "none", "batch_size": 32,
    }


SPACE = SearchSpace("steady", "one small CNN, learning rate searched", suggest, ("custom_cnn",))
