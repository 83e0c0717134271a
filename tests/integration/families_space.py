"""A test-only space searched as the default space searches (search_spaces._common.suggest_all: each family half the
trials), over the custom CNN and MobileNetV2 only, the cheapest backbone to train from scratch in an end-to-end test."""

from search_spaces import SearchSpace
from search_spaces._common import one_per_backbone, suggest_all

BACKBONES = ("custom_cnn", "mobilenet_v2")


def suggest(trial, pretrained=True):
    return suggest_all(trial, BACKBONES, pretrained)


SPACE = SearchSpace("families", "the default space's suggestion over the custom CNN and MobileNetV2", suggest,
                    BACKBONES, starting_points=one_per_backbone(BACKBONES))
