"""A test-only space: even trials are a small custom CNN, odd trials a MobileNetV2, nothing searched but the
learning rate, so one short search has a trial of each family."""

from search_spaces import SearchSpace

COMMON = {"dense_units": 32, "dropout": 0.0, "optimizer": "adam", "augmentation": "none", "batch_size": 16}


def suggest(trial, pretrained=True):
    trial.suggest_float("learning_rate", 1e-3, 2e-3, log=True)
    if trial.number % 2 == 0:
        return {"backbone": "custom_cnn", "depth": 2, "width": 16, **COMMON}
    return {"backbone": "mobilenet_v2", "unfrozen_layers": 0, **COMMON}


SPACE = SearchSpace("two_families", "a custom CNN, then a MobileNetV2", suggest, ("custom_cnn", "mobilenet_v2"))
