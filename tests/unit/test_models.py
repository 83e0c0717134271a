"""The model zoo: registry, custom CNN, freezing, and weights from a local file."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from benchmarks.errors import UserError
from helpers import save_backbone_weights
from benchmarks.models import (
    CUSTOM_CNN,
    backbone_of,
    build_model,
    check_weights,
    get_model,
    list_backbones,
    list_models,
    register_backbone,
    resolve_weights,
    set_unfrozen_layers,
)

HEAD = {"dropout": 0.2, "dense_units": 32}


def trainable_count(model) -> int:
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def test_registry_lists_the_backbones():
    assert {"mobilenet_v2", "efficientnet_b0", "resnet50"} <= set(list_backbones())
    assert list_models()[0] == CUSTOM_CNN
    with pytest.raises(ValueError, match="already registered"):
        register_backbone("mobilenet_v2", "MobileNetV2", "tf")
    with pytest.raises(ValueError, match="unknown model"):
        get_model("vgg99")


@pytest.mark.parametrize("depth", [2, 4])
def test_custom_cnn_depth_and_width(depth):
    model = build_model({"backbone": CUSTOM_CNN, "depth": depth, "width": 8, **HEAD}, num_classes=3, image_size=32)
    convs = [l for l in model.layers if isinstance(l, keras.layers.Conv2D)]
    assert [c.filters for c in convs] == [8 * 2**i for i in range(depth)]
    assert any(isinstance(l, keras.layers.BatchNormalization) for l in model.layers)
    assert model.output_shape == (None, 3)
    assert backbone_of(model) is None


def test_pretrained_backbone_starts_frozen_and_unfreezes_trailing_layers(tmp_path):
    path = save_backbone_weights(tmp_path)
    model = build_model({"backbone": "mobilenet_v2", **HEAD}, num_classes=5, image_size=32, weights=path)
    base = backbone_of(model)
    head_only = trainable_count(model)
    assert head_only == 1280 * 32 + 32 + 32 * 5 + 5  # dense + classifier
    assert set_unfrozen_layers(base, 10) == 10
    trainable_layers = [l for l in base.layers if l.trainable and l.weights]
    assert len(trainable_layers) == 10
    assert not any(isinstance(l, keras.layers.BatchNormalization) for l in trainable_layers)
    # the trailing ones: the last weighted non-BN layer trains, the first does not
    weighted = [l for l in base.layers if l.weights and not isinstance(l, keras.layers.BatchNormalization)]
    assert weighted[-1].trainable and not weighted[0].trainable
    assert trainable_count(model) > head_only
    assert set_unfrozen_layers(base, 0) == 0 and trainable_count(model) == head_only


def test_backbone_without_weights_trains_whole():
    model = build_model({"backbone": "mobilenet_v2", **HEAD}, num_classes=5, image_size=32, weights=None)
    assert trainable_count(model) > 2_000_000


def test_weights_are_loaded_from_a_local_file(tmp_path):
    path = save_backbone_weights(tmp_path)
    reference = get_model("mobilenet_v2").constructor()(include_top=False, weights=None, input_shape=(32, 32, 3))
    reference.load_weights(path)
    model = build_model({"backbone": "mobilenet_v2", **HEAD}, num_classes=2, image_size=32, weights=path)
    for loaded, expected in zip(backbone_of(model).get_weights(), reference.get_weights()):
        np.testing.assert_array_equal(loaded, expected)
    # a folder of <backbone>.weights.h5 works the same
    assert resolve_weights(str(tmp_path), "mobilenet_v2") == path
    check_weights(["custom_cnn", "mobilenet_v2"], str(tmp_path), 32)


def test_weights_errors_are_one_line_user_errors(tmp_path, monkeypatch):
    with pytest.raises(UserError, match="is not 'imagenet', 'none'"):
        resolve_weights(str(tmp_path / "missing.h5"), "resnet50")
    with pytest.raises(UserError, match="has no resnet50.weights.h5"):
        resolve_weights(str(tmp_path), "resnet50")
    wrong = save_backbone_weights(tmp_path)  # MobileNetV2 weights for a ResNet50
    with pytest.raises(UserError, match="cannot load .* weights for resnet50.*--weights none"):
        check_weights(["resnet50"], wrong, 32)


def test_offline_imagenet_weights_say_how_to_fix(monkeypatch):
    def offline(*args, **kwargs):
        raise Exception("URL fetch failure on https://storage.googleapis.com/...: <urlopen error [Errno -3]>")

    monkeypatch.setattr(keras.utils, "get_file", offline)
    import keras.src.utils.file_utils as file_utils

    monkeypatch.setattr(file_utils, "get_file", offline)
    with pytest.raises(UserError, match=r"imagenet weights for efficientnet_b0 .*--weights none.*~/.keras/models"):
        check_weights(["custom_cnn", "efficientnet_b0"], "imagenet", 32)


def _names(model, kind) -> list[str]:
    return [l.name for l in model.layers if isinstance(l, kind)]


def test_default_head_is_one_dense_layer_dropout_and_the_classifier():
    model = build_model({"backbone": CUSTOM_CNN, "depth": 2, "width": 8, **HEAD}, num_classes=3, image_size=32)
    assert [l.name for l in model.layers][-4:] == ["flatten", "dense", "dropout", "classifier"]
    assert model.get_layer("dense").units == 32


def test_head_layers_with_batch_norm():
    hp = {"backbone": CUSTOM_CNN, "depth": 2, "width": 8, "dropout": 0.3, "head_layers": [32, 16], "head_batchnorm": True}
    model = build_model(hp, num_classes=4, image_size=32)
    assert _names(model, keras.layers.Dense) == ["dense", "dense_2", "classifier"]
    assert [model.get_layer(n).units for n in ("dense", "dense_2")] == [32, 16]
    assert _names(model, keras.layers.Dropout) == ["dropout", "dropout_2"]
    assert [n for n in _names(model, keras.layers.BatchNormalization) if n.startswith("dense_bn")] == ["dense_bn", "dense_bn_2"]


def test_linear_head_is_the_stock_top_on_pooled_features(tmp_path):
    path = save_backbone_weights(tmp_path)
    stock = build_model({"backbone": "mobilenet_v2", "head": "linear", "dropout": 0.0}, num_classes=5, image_size=32, weights=path)
    assert [l.name for l in stock.layers][-2:] == ["pool", "classifier"]
    assert trainable_count(stock) == 1280 * 5 + 5  # only the classifier trains on the frozen backbone
    with_dropout = build_model({"backbone": "mobilenet_v2", "head": "linear", "dropout": 0.5}, num_classes=2, image_size=32)
    assert [l.name for l in with_dropout.layers][-3:] == ["pool", "dropout", "classifier"]
    with pytest.raises(ValueError, match="unknown head"):
        build_model({"backbone": CUSTOM_CNN, "depth": 2, "width": 8, "head": "fancy"}, num_classes=2, image_size=32)


def test_preprocessing_override_and_a_custom_cnn_without_batch_norm():
    model = build_model({"backbone": "mobilenet_v2", **HEAD}, num_classes=2, image_size=32)
    assert model.get_layer("preprocessing").mode == "tf"  # MobileNetV2's own -1..1
    unit = build_model({"backbone": "mobilenet_v2", "preprocessing": "unit", **HEAD}, num_classes=2, image_size=32)
    assert unit.get_layer("preprocessing").mode == "unit"
    plain = build_model({"backbone": CUSTOM_CNN, "depth": 3, "width": 8, "conv_batchnorm": False, **HEAD},
                        num_classes=2, image_size=32)
    assert not _names(plain, keras.layers.BatchNormalization)
    assert all(l.use_bias for l in plain.layers if isinstance(l, keras.layers.Conv2D))
