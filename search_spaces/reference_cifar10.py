"""Reference recipe 2, CIFAR-10: MobileNetV2 with its last 20 layers fine-tuned, a batch-normed dense head.

Published setup: MobileNetV2 with ImageNet weights, dense layers with batch norm and
dropout, the last 20 backbone layers fine-tuned, Adam at 1e-4; rotation, shift, shear,
zoom and flip augmentation; pixels scaled to 0..1 (not MobileNetV2's own -1..1).
Published result: "competitive", no figure.

Interpreted: two dense layers of 256 and 128 units, dropout 0.5, batch 32; the 20 layers
fine-tune from the first epoch at 1e-4 (``head_first=False``); "flips" are horizontal
and vertical; image size and epochs are not published, so the budget's apply.
"""

from search_spaces._reference import fixed_space

SPACE = fixed_space(
    "reference_cifar10",
    "reference recipe, CIFAR-10: MobileNetV2 last 20 layers fine-tuned, dense+BN+dropout head, Adam 1e-4, 0..1 pixels",
    [
        {
            "backbone": "mobilenet_v2",
            "unfrozen_layers": 20,
            "head_first": False,
            "head_layers": [256, 128],
            "head_batchnorm": True,
            "dropout": 0.5,
            "preprocessing": "unit",
            "optimizer": "adam",
            "learning_rate": 1e-4,
            "batch_size": 32,
            "augmentation": "rotation,translation,shear,zoom,flip,vertical_flip",
        }
    ],
    published={"note": "published as competitive, without a figure"},
    datasets=("cifar10",),
)
