"""Reference recipe 1, Oxford Flowers 102: MobileNetV2 features, a 512-unit dense head.

Published setup: MobileNetV2 with ImageNet weights at 224x224, global average pooling,
dense 512 ReLU, dropout, 102-way softmax; Adam at 1e-3 with learning-rate decay and
early stopping, batch 16, up to 30 epochs; flip, brightness, contrast and crop
augmentation; about 6,149 train / 1,020 validation / 1,020 test images, which is our
``oxford_flowers102`` protocol. Published: test accuracy 94.63%, validation 94.42%,
precision 0.95, recall 0.94, F1 0.94.

Interpreted: the dropout rate is not published (0.5 here); the backbone stays frozen
(fine-tuning is not mentioned); "learning-rate decay" is our halving on a validation-loss
plateau.
"""

from search_spaces._reference import fixed_space

SPACE = fixed_space(
    "reference_flowers102",
    "reference recipe, Oxford Flowers 102: frozen MobileNetV2, dense 512 + dropout, Adam 1e-3, batch 16",
    [
        {
            "backbone": "mobilenet_v2",
            "unfrozen_layers": 0,
            "dense_units": 512,
            "dropout": 0.5,
            "optimizer": "adam",
            "learning_rate": 1e-3,
            "batch_size": 16,
            "augmentation": "flip,brightness,contrast,crop",
        }
    ],
    published={"test_accuracy": 0.9463, "val_accuracy": 0.9442, "precision": 0.95, "recall": 0.94, "f1": 0.94},
    image_size=224,
    epochs=30,
    datasets=("oxford_flowers102",),
)
