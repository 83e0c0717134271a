"""The project's own Keras layers that saved models contain, registered so ``keras.models.load_model`` finds them.

It imports Keras at module level, so the model package imports it only when it builds a model; code that
loads a saved model or a checkpoint imports it first (as ``runners.trainable.load_checkpoint`` does).
"""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="transfer_search")
class ImagePreprocessing(keras.layers.Layer):
    """A backbone's own input preprocessing, inside the model so saved models take raw pixels."""

    def __init__(self, mode: str = "none", **kwargs):
        super().__init__(**kwargs)
        self.mode = mode

    def call(self, images):
        if self.mode == "none":
            return images
        if self.mode == "unit":
            return images / 255.0
        return keras.applications.imagenet_utils.preprocess_input(images, mode=self.mode)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}
