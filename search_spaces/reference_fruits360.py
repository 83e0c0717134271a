"""Reference recipe 4, Fruits-360: MobileNetV2 at 100x100, a modified head and the stock head.

Published setup: MobileNetV2 at 100x100 on 131 classes, batch norm and dropout, Adam
with an adaptive learning rate, batch 32, up to 50 epochs; flip, rotation, translation,
scaling and salt-and-pepper augmentation. Published: train 97.00%, validation 84.72%,
test 80.94%. The setup compared the stock pretrained head with a modified head, so this
space runs both, one trial each:

- trial 0, ``modified head``: dense 256 ReLU, batch norm, dropout 0.5, softmax;
- trial 1, ``stock head``: the ``keras.applications`` top, global average pooling and a
  softmax classifier (``head="linear"``, no dropout).

Interpreted: the published figures are taken as the modified head's (the setup's own
proposal); the dense width and dropout rate are not published; "adaptive learning rate"
is Adam at 1e-3 halved on a validation-loss plateau; the backbone stays frozen; "flips"
are horizontal and vertical, "scaling" is random zoom.
"""

from search_spaces._reference import fixed_space

_COMMON = {
    "backbone": "mobilenet_v2",
    "unfrozen_layers": 0,
    "optimizer": "adam",
    "learning_rate": 1e-3,
    "batch_size": 32,
    "augmentation": "flip,vertical_flip,rotation,translation,zoom,salt_and_pepper",
}

SPACE = fixed_space(
    "reference_fruits360",
    "reference recipe, Fruits-360: MobileNetV2 at 100px, modified head (dense+BN+dropout) and stock head, Adam",
    [
        {**_COMMON, "variant": "modified head", "head_layers": [256], "head_batchnorm": True, "dropout": 0.5},
        {**_COMMON, "variant": "stock head", "head": "linear", "dropout": 0.0},
    ],
    published={"train_accuracy": 0.97, "val_accuracy": 0.8472, "test_accuracy": 0.8094,
               "note": "figures as published for the modified head"},
    image_size=100,
    epochs=50,
    datasets=("fruits360",),
    folder_names=("fruit",),
)
