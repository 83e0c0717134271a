"""A test-only space searched as the default space searches (search_spaces._common.suggest_all: each family half the
trials), over the two networks built here and MobileNetV2, the cheapest backbone to train from scratch in an
end-to-end test. Its two starting points are the small ResNet and MobileNetV2, so a 4-trial search trains the
small ResNet for certain: the second from-scratch network reaches the verdict and the report with no edit of its own.
"""

from search_spaces import SearchSpace
from search_spaces._common import one_per_backbone, suggest_all

BACKBONES = ("custom_cnn", "small_resnet", "mobilenet_v2")


def suggest(trial, pretrained=True):
    return suggest_all(trial, BACKBONES, pretrained)


SPACE = SearchSpace("families", "the default space's suggestion over both custom networks and MobileNetV2", suggest,
                    BACKBONES, starting_points=one_per_backbone(("small_resnet", "mobilenet_v2")))
