"""Reference recipe 5, a 20-class image folder: a plain custom CNN trained from scratch.

Published setup: stacked conv + ReLU + max-pool blocks, dense layers; AdamW,
categorical cross-entropy (our sparse categorical cross-entropy is the same loss on
integer labels); an 80/20 split; rotation, flip, shift and zoom augmentation.
Published: about 60% accuracy.

Interpreted: three blocks of 32, 64 and 128 filters without batch norm
(``conv_batchnorm=False``), dense layers of 256 and 128 units, no dropout, AdamW at 1e-3,
batch 32; the 20% is the held-out test split and early stopping watches a further 10%
validation split carved from the training images; "flips" are horizontal and vertical.
The final feature map is pooled to 4x4 before flattening, as in every custom CNN here.
"""

from search_spaces._reference import fixed_space

SPACE = fixed_space(
    "reference_custom_cnn20",
    "reference recipe, image folders (20 classes): custom CNN, 3 conv+ReLU+max-pool blocks, dense 256/128, AdamW",
    [
        {
            "backbone": "custom_cnn",
            "depth": 3,
            "width": 32,
            "conv_batchnorm": False,
            "head_layers": [256, 128],
            "dropout": 0.0,
            "optimizer": "adamw",
            "learning_rate": 1e-3,
            "batch_size": 32,
            "augmentation": "rotation,flip,vertical_flip,translation,zoom",
        }
    ],
    published={"test_accuracy": 0.60, "note": "published as about 60% accuracy"},
    split=(0.1, 0.2),
    folder_names=("*",),
)
