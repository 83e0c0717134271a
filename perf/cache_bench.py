"""Item 3: epoch time of a frozen-backbone trial without and with the feature cache."""

from __future__ import annotations

import dataclasses
import shutil
import statistics
import time
from pathlib import Path

from benchmarks.datasets import PreparedDataset
from perf.report import Row, Section

TARGET = 10.0
BACKBONE = "resnet50"  # its randomly initialised features still carry some signal, so accuracies are comparable


def save_weights(backbone: str, image_size: int, folder: Path) -> str:
    """Save a randomly initialised ``backbone`` as ``<folder>/<backbone>.weights.h5`` and return its path.

    A local file needs no download of ImageNet weights, and the speed of a frozen backbone does not depend on
    its weights' values.
    """
    import keras

    from benchmarks.models import get_model

    keras.utils.set_random_seed(0)
    shape = (image_size, image_size, 3)
    base = get_model(backbone).constructor()(include_top=False, weights=None, input_shape=shape)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{backbone}.weights.h5"
    base.save_weights(path)
    return str(path)


def _trial(hparams, data, settings) -> dict[str, object]:
    from benchmarks.training import train_trial

    stamps: list[float] = []
    start = time.perf_counter()
    _, history = train_trial(hparams, data, settings, on_epoch=lambda metrics, model: stamps.append(time.perf_counter()))
    epochs = [b - a for a, b in zip([start, *stamps], stamps)]
    return {"total_s": time.perf_counter() - start, "epoch_s": epochs,
            "val_accuracy": [h["val_accuracy"] for h in history]}


def run(
    data: PreparedDataset, *, image_size: int, epochs: int, workdir: Path, command: str
) -> tuple[Section, dict]:
    """Item 3: one frozen-backbone trial without the cache, then two with it; return the section and raw figures.

    The first cached trial computes and writes the features, the second reads them from disk as a new trial
    process would. The ratio of median epoch times (after the first epoch) is judged against :data:`TARGET`,
    and both runs' validation accuracies must agree.
    """
    from benchmarks.features import FeatureCache
    from benchmarks.training import TrainSettings

    weights = save_weights(BACKBONE, image_size, workdir / "weights")
    cache_dir = workdir / "features"
    shutil.rmtree(cache_dir, ignore_errors=True)
    hparams = {"backbone": BACKBONE, "unfrozen_layers": 0, "augmentation": "none", "dropout": 0.2, "dense_units": 256,
               "learning_rate": 1e-3, "batch_size": 32, "optimizer": "adam"}
    # Early stopping off (patience above the epochs): both runs train every epoch.
    settings = TrainSettings(epochs=epochs, image_size=image_size, weights=weights, patience=epochs + 1,
                             cache_dir=str(cache_dir))
    uncached = _trial(hparams, data, dataclasses.replace(settings, feature_cache=False))
    FeatureCache.forget()
    first = _trial(hparams, data, settings)  # computes the features and writes them
    FeatureCache.forget()  # as a new trial process: nothing in memory, the files on disk
    second = _trial(hparams, data, settings)

    def steady(run):  # epochs after the first (which traces, and without the cache also decodes)
        return statistics.median(run["epoch_s"][1:] or run["epoch_s"])

    ratio = steady(uncached) / steady(second)
    same = max(abs(a - b) for a, b in zip(uncached["val_accuracy"], second["val_accuracy"]))
    rows = [
        Row("epoch time without / with the cache", f"{ratio:.0f}x ({steady(uncached):.2f} s / {steady(second):.3f} s)",
            f">= {TARGET:.0f}x", ratio >= TARGET),
        Row("trial without the cache", f"{uncached['total_s']:.1f} s"),
        Row("first cached trial (computes train and validation features)", f"{first['total_s']:.1f} s"),
        Row("next cached trial (features from disk)", f"{second['total_s']:.1f} s"),
        Row("validation accuracy per epoch, without / with",
            " / ".join(f"{a:.4f}" for a in uncached["val_accuracy"]) + " vs "
            + " / ".join(f"{b:.4f}" for b in second["val_accuracy"]),
            "equal", same <= 1e-3),
    ]
    setup = (
        f"A frozen {BACKBONE} trial (unfrozen_layers 0, no augmentation, weights from a local file) on "
        f"{len(data.train)}/{len(data.validation)} {data.name} train/validation images at {image_size}px, {epochs} epochs, "
        "batch 32. Epoch time is the median over epochs after the first, from one `train_trial` epoch callback to the next."
    )
    raw = {"uncached": uncached, "first_cached": first, "second_cached": second}
    return Section("cache", "3. Frozen-backbone feature caching", command, setup, rows), raw
