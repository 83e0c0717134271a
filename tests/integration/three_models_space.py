"""A test-only space: trials take turns as a small custom CNN, a MobileNetV2 and an EfficientNetB0, only the learning
rate searched, so a three-trial search with per-backbone finalists ranks three models on every dataset."""

from search_spaces import SearchSpace

COMMON = {"dense_units": 32, "dropout": 0.0, "optimizer": "adam", "augmentation": "none", "batch_size": 32}
BACKBONES = ("custom_cnn", "mobilenet_v2", "efficientnet_b0")


def suggest(trial, pretrained=True):
    trial.suggest_float("learning_rate", 1e-3, 2e-3, log=True)
    backbone = BACKBONES[trial.number % len(BACKBONES)]
    if backbone == "custom_cnn":
        return {"backbone": backbone, "depth": 2, "width": 16, **COMMON}
    return {"backbone": backbone, "unfrozen_layers": 0, **COMMON}


SPACE = SearchSpace("three_models", "a custom CNN, a MobileNetV2 and an EfficientNetB0 in turn", suggest, BACKBONES)
