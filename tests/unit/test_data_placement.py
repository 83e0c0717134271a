"""Where the decoded images live: one copy per node shared by its trials, streamed where it does not fit; the
memory estimate counts it; GPU trials are checked against their card; tfds splits are read by the trials."""

from __future__ import annotations

import pickle
import threading
import time

import numpy as np
import pytest
from helpers import SHARED_TFDS, have_shared_cifar10, search_options

from benchmarks.datasets import load_dataset
from benchmarks.decoded import DECODED_DIR_ENV, decoded_bytes, node_copy
from benchmarks.errors import UserError
from benchmarks.memory import GIB, MemoryEstimate
from benchmarks.placement import place

CNN = {"backbone": "custom_cnn", "depth": 2, "width": 8, "dense_units": 16, "dropout": 0.0, "learning_rate": 1e-3,
       "batch_size": 32, "optimizer": "adam", "augmentation": "none"}


@pytest.fixture
def decoded_dir(tmp_path, monkeypatch):
    monkeypatch.setenv(DECODED_DIR_ENV, str(tmp_path / "decoded"))
    return tmp_path / "decoded"


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def _batches(iterable):
    return np.concatenate([x.numpy() for x, _ in iterable]), np.concatenate([y.numpy() for _, y in iterable])


def test_two_trials_on_a_node_share_one_decoded_copy(digits, decoded_dir):
    split = digits.validation
    calls = []

    def decode():  # slow, so that the second asks while the first is still decoding
        calls.append(threading.get_ident())
        time.sleep(0.5)
        for start in range(0, len(split), 100):
            count = min(100, len(split) - start)
            yield np.full((count, 8, 8, 3), start % 251, np.uint8), split.labels[start:start + count]

    results = [None, None]

    def trial(i):
        results[i] = node_copy(split, 8, decode)

    threads = [threading.Thread(target=trial, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1  # decoded once; the other waited for the lock and read the file
    assert sorted(p.name for p in decoded_dir.glob("*.npy") if not p.name.endswith(".labels.npy")).__len__() == 1
    (first, labels), (second, _) = results
    assert isinstance(first, np.memmap) and isinstance(second, np.memmap)  # mapped, not copied
    assert first.filename == second.filename and not first.flags.writeable
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(labels, split.labels)


def test_node_copy_and_streaming_give_the_cached_pipelines_batches(digits, decoded_dir):
    from benchmarks.pipeline import make_dataset

    split = digits.train
    expected = _batches(make_dataset(split, image_size=16, batch_size=64, training=True, seed=3))
    for storage in ("node", "stream"):
        got = _batches(make_dataset(split.stored(storage), image_size=16, batch_size=64, training=True, seed=3))
        np.testing.assert_array_equal(got[0], expected[0])
        np.testing.assert_array_equal(got[1], expected[1])
    assert len(list(decoded_dir.glob("*.labels.npy"))) == 1


def test_the_data_is_cached_once_per_node_where_it_fits_its_share_and_streamed_where_not(digits):
    count = len(digits.train) + len(digits.validation)
    decoded = decoded_bytes(count, 32) + decoded_bytes(count, 16)
    placed, placement = place(digits, [32, 16, 32], node_memory=4 * decoded, share=0.5)
    assert placement.storage == "node" and placement.bytes_per_node == decoded
    assert placement.describe().startswith("cached once per node")
    assert (placed.train.storage, placed.validation.storage, placed.test.storage) == ("node", "node", "stream")
    placed, placement = place(digits, [32, 16], node_memory=4 * decoded, share=0.1)
    assert placement.storage == "stream" and placement.bytes_per_node == 0
    assert placement.describe().startswith("streamed from ") and placed.train.storage == "stream"


def test_a_dataset_over_its_share_streams_and_its_trial_finishes(digits):
    from benchmarks.settings import TrainSettings
    from benchmarks.training import train_trial

    placed, placement = place(digits, [16], node_memory=GIB, share=1e-6)
    assert placement.storage == "stream"
    _, history = train_trial(CNN, placed, TrainSettings(epochs=1, image_size=16, seed=0))
    assert len(history) == 1 and history[0]["val_accuracy"] >= 0


def _options(**overrides):
    return search_options(space="default", **overrides)


def test_the_memory_check_counts_the_decoded_data_once_per_node():
    from runners.tuning import fit_memory

    trial = MemoryEstimate(activations=GIB, parameters=0, runtime=GIB)  # 2 GiB a trial
    largest = (trial, "a 2 GiB trial")
    resources = {"CPU": 16, "memory": 16 * GIB}
    assert fit_memory(resources, _options(), 8, largest=largest) == 8
    # 4 GiB of decoded data on each of 2 nodes leaves 8 GiB: 4 trials, not 8.
    assert fit_memory(resources, _options(), 8, largest=largest, data_bytes=4 * GIB, nodes=2) == 4
    with pytest.raises(UserError, match=r"more than the 0\.0 GiB .* decoded data's 8\.0 GiB on each node.*--data-share"):
        fit_memory(resources, _options(), 8, largest=largest, data_bytes=8 * GIB, nodes=2)


def test_a_gpu_trial_is_checked_against_its_share_of_the_card():
    from runners.tuning import fit_memory

    largest = (MemoryEstimate(activations=5 * GIB, parameters=GIB, runtime=GIB), "a big trial")  # 7 GiB on a card
    resources = {"CPU": 16, "GPU": 4, "memory": 64 * GIB}
    assert fit_memory(resources, _options(gpus_per_trial=0.5), 8, largest=largest, card_bytes=16 * GIB) == 8
    with pytest.raises(UserError, match=r"7\.0 GiB of GPU memory, more than its 0\.25 of a 16\.0 GiB card; "
                                        r"use --gpus-per-trial 0\.5 \(2 trials a card\)"):
        fit_memory(resources, _options(gpus_per_trial=0.25), 16, largest=largest, card_bytes=16 * GIB)
    with pytest.raises(UserError, match=r"more than a card's 4\.0 GiB; lower --image-size"):
        fit_memory(resources, _options(gpus_per_trial=1), 4, largest=largest, card_bytes=4 * GIB)
    # Unknown card memory: only the host is checked (a GPU trial's runtime and input, not its tensors).
    assert fit_memory({**resources, "memory": 4 * GIB}, _options(gpus_per_trial=1), 4, largest=largest) == 4


def test_the_estimate_lines_say_the_data_and_the_memory_per_node(digits):
    from runners.plan import memory_lines

    placement = place(digits, [32], node_memory=64 * GIB)[1]
    largest = (MemoryEstimate(activations=GIB, parameters=0, runtime=GIB), "resnet50 at 32px, batch 64")
    lines = memory_lines(_options(num_samples=8, epochs=2), placement, largest, concurrency=4, nodes=2)
    assert lines[0] == "plan: 8 trials x up to 2 epochs, up to 4 at a time on 2 nodes"
    assert lines[1].startswith("plan: memory per trial ~2.0 GiB (largest: resnet50 at 32px, batch 64), per node ~4.0")
    assert lines[1].endswith(f"(2 trials + the data's {decoded_bytes(len(digits.train) + len(digits.validation), 32) / 2**20:.1f} MiB)")
    assert lines[-1].startswith("data: cached once per node")


@pytest.mark.skipif(not have_shared_cifar10(), reason="../shared/data/tfds has no cifar10")
def test_a_tfds_split_travels_as_record_ids_and_the_trial_reads_its_images(decoded_dir):
    import tensorflow_datasets as tfds

    from benchmarks.pipeline import make_dataset

    data = load_dataset("cifar10", data_dir=str(SHARED_TFDS), max_examples=(200, 50, 50))
    assert data.train.kind == "records" and data.train.source.data_dir == str(SHARED_TFDS)
    assert len(pickle.dumps(data)) < 40 * len(data.train) + 20_000  # ids and labels, never the encoded images
    images, labels = _batches(make_dataset(data.test.stored("node"), image_size=32,
                                           batch_size=64, training=False))
    np.testing.assert_array_equal(labels, data.test.labels)
    wanted = set(data.test.items[:5].tolist())
    ds = tfds.builder("cifar10", data_dir=str(SHARED_TFDS)).as_dataset(
        split="test", read_config=tfds.ReadConfig(add_tfds_id=True), shuffle_files=False)
    direct = {e["tfds_id"]: e["image"] for e in ds.take(2000).as_numpy_iterator() if e["tfds_id"] in wanted}
    for row, item in enumerate(data.test.items[:5]):
        np.testing.assert_array_equal(images[row], direct[item])


def test_data_share_outside_0_to_1_is_a_one_line_error():
    from runners.flags import build_parser
    from runners.options import options_from_args

    with pytest.raises(UserError, match=r"^--data-share must be between 0 and 1, got 1\.5$"):
        options_from_args(build_parser().parse_args(["--data-share", "1.5"]))
    assert options_from_args(build_parser().parse_args(["--data-share", "0", "--plan"])).plan
