"""Reference recipe 3, ants vs bees: a frozen MobileNetV2 feature extractor and a linear classifier.

Published setup: MobileNetV2 as a frozen feature extractor (1280 pooled features) at
224x224, dropout 0.5, a 2-way dense softmax; Adam; early stopping with patience 3 on
validation loss, up to 20 epochs; a 90/10 train/test split. Published: accuracy 92.5%,
precision 92.69%, F1 0.9253.

Interpreted: Adam at its default 1e-3, batch 32 (not published); the 10% test split is
held out and early stopping watches a further 10% validation split carved from the
training images (with the named ``hymenoptera`` download its ``val`` folder is used).
"""

from search_spaces._reference import fixed_space

SPACE = fixed_space(
    "reference_hymenoptera",
    "reference recipe, ants vs bees: frozen MobileNetV2 features, dropout 0.5, linear softmax, Adam",
    [
        {
            "backbone": "mobilenet_v2",
            "unfrozen_layers": 0,
            "head": "linear",
            "dropout": 0.5,
            "optimizer": "adam",
            "learning_rate": 1e-3,
            "batch_size": 32,
            "augmentation": "none",
        }
    ],
    published={"test_accuracy": 0.925, "precision": 0.9269, "f1": 0.9253},
    image_size=224,
    epochs=20,
    patience=3,
    split=(0.1, 0.1),
    datasets=("hymenoptera",),
    folder_names=("hymenoptera",),
)
