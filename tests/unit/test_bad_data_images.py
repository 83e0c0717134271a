"""Images decode the same in the scan (Pillow) and in the trials (tf.data); what neither can read is skipped by name."""

from __future__ import annotations

import logging
import os

import numpy as np
from helpers import make_class_folders, write_png_header
from PIL import Image

from benchmarks.datasets import load_dataset
from benchmarks.datasets._types import Split
from benchmarks.pipeline import make_dataset

SIZE = 24  # make_class_folders' images: resizing to their own size leaves the pixels as they are


def pixels(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)


def decoded(split: Split) -> dict[str, np.ndarray]:
    """Every image of ``split`` as the trials see it, by file name."""
    images = np.concatenate([x.numpy() for x, _ in make_dataset(split, image_size=SIZE, batch_size=64, training=False)])
    assert len(images) == len(split)
    return dict(zip(split.items, images.astype(np.uint8)))


def everything(data) -> Split:
    return Split(
        np.concatenate([data.train.items, data.validation.items, data.test.items]),
        np.concatenate([data.train.labels, data.validation.labels, data.test.labels]),
        "files",
    )


# Files Pillow reads that TensorFlow decodes otherwise or not at all, and how Pillow sees them.
ODD = {
    "one_bit.bmp": lambda p, path: Image.fromarray(p).convert("1").save(path),
    "palette.bmp": lambda p, path: Image.fromarray(p).convert("P").save(path),  # TensorFlow: grey palette indices
    "tiff.jpg": lambda p, path: Image.fromarray(p).save(path, format="TIFF"),
    "cmyk.jpg": lambda p, path: Image.fromarray(p).convert("CMYK").save(path, quality=95),
    "webp.png": lambda p, path: Image.fromarray(p).save(path, format="WEBP", lossless=True),
}


def test_what_pillow_reads_the_trials_read_alike(tmp_path):
    root = make_class_folders(tmp_path / "d", {"ants": 8, "bees": 8})
    for seed, (name, save) in enumerate(ODD.items()):
        save(pixels(seed), root / "ants" / name)
    data = load_dataset(str(root))
    assert sum(len(data.split(s)) for s in ("train", "validation", "test")) == 16 + len(ODD)
    seen = decoded(everything(data))
    for item, image in seen.items():
        with Image.open(item) as reference:
            expected = np.asarray(reference.convert("RGB"))
        assert np.abs(image.astype(int) - expected).max() <= 1, item
    copies = [item for item in seen if "converted" in item]
    assert len(copies) == len(ODD)  # the JPEG and PNG images are read where they are


def test_a_16_bit_png_is_left_to_tensorflow_which_scales_it(tmp_path):
    root = make_class_folders(tmp_path / "d", {"ants": 6, "bees": 6})
    grey = (np.arange(SIZE * SIZE, dtype=np.uint16).reshape(SIZE, SIZE) * 97)
    Image.fromarray(grey).save(root / "ants" / "deep.png")  # mode I;16: Pillow's convert("RGB") would clip it
    data = load_dataset(str(root))
    seen = decoded(everything(data))
    item = next(i for i in seen if i.endswith("deep.png"))
    assert np.abs(seen[item][..., 0].astype(int) - (grey >> 8)).max() <= 1


def test_a_decompression_bomb_is_skipped_with_its_name(tmp_path, caplog):
    root = make_class_folders(tmp_path / "d", {"ants": 6, "bees": 6})
    write_png_header(root / "bees" / "huge.png", 14000, 14000)
    with caplog.at_level(logging.WARNING):
        data = load_dataset(str(root))
    assert sum(len(data.split(s)) for s in ("train", "validation", "test")) == 12
    assert "huge.png" in caplog.text


def test_a_whole_image_past_the_bomb_limit_is_skipped_with_its_name(tmp_path, caplog, monkeypatch):
    """Pillow's limit itself skips it, not missing pixel data: a valid image, with the limit lowered below it."""
    root = make_class_folders(tmp_path / "d", {"ants": 6, "bees": 6})
    Image.fromarray(np.zeros((60, 60, 3), dtype=np.uint8)).save(root / "ants" / "wide.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 3,600 pixels: over twice the limit, as 14000x14000 is
    with caplog.at_level(logging.WARNING):
        data = load_dataset(str(root))
    assert sum(len(data.split(s)) for s in ("train", "validation", "test")) == 12
    assert "skipping 1 unreadable or corrupt image file(s)" in caplog.text and "wide.png" in caplog.text


def test_names_that_are_not_utf8_are_read_and_shown_escaped(tmp_path, caplog):
    root = make_class_folders(tmp_path / "d", {"ants": 6, "bees": 6})
    raw = os.fsencode(root)
    os.mkdir(raw + b"/w\xe4sps")  # a Latin-1 folder name
    for i in range(6):
        Image.fromarray(pixels(i)).save(raw + b"/w\xe4sps/b\xe9e%d.png" % i, format="PNG")
    with open(raw + b"/ants/caf\xe9.png", "wb") as f:
        Image.fromarray(pixels(9)).save(f, format="PNG")
    (root / "bees" / "broken.png").write_bytes(b"not a png")
    with open(raw + b"/bees/br\xf6ken.png", "wb") as f:
        f.write(b"not a png either")
    with caplog.at_level(logging.WARNING):
        data = load_dataset(str(root))
    assert data.class_names == ("ants", "bees", "w\\xe4sps")
    split = everything(data)
    assert len(split) == 19 and np.bincount(split.labels).tolist() == [7, 6, 6]
    for item in split.items:
        item.encode("utf-8")  # trials get UTF-8 paths (copies where needed)
    assert len(decoded(split)) == 19
    assert "br\\xf6ken.png" in caplog.text and "broken.png" in caplog.text


def test_a_dataset_folder_named_not_in_utf8_gets_a_printable_name(tmp_path):
    root = os.fsencode(tmp_path) + b"/insekt\xe9n"
    make_class_folders(tmp_path / os.fsdecode(b"insekt\xe9n"), {"ants": 6, "bees": 6})
    data = load_dataset(os.fsdecode(root))
    assert data.name == "insekt\\xe9n"
    assert len(decoded(everything(data))) == 12


def test_the_pipeline_reads_a_file_name_that_is_not_utf8(tmp_path):
    path = os.fsencode(tmp_path) + b"/\xff.png"
    with open(path, "wb") as f:
        Image.fromarray(pixels(1)).save(f, format="PNG")
    split = Split(np.array([os.fsdecode(path)], dtype=object), np.array([0]), "files")
    np.testing.assert_array_equal(next(iter(decoded(split).values())), pixels(1))


def test_files_gone_since_the_scan_are_skipped_with_their_names(image_folder, caplog):
    data = load_dataset(str(image_folder))
    gone = data.test.items[:2]
    for item in gone:
        os.remove(item)
    with caplog.at_level(logging.WARNING):
        batches = list(make_dataset(data.test, image_size=16, batch_size=64, training=False))
    labels = np.concatenate([y.numpy() for _, y in batches])
    np.testing.assert_array_equal(labels, data.test.labels[2:])
    assert "2 image file(s) gone since the dataset was scanned" in caplog.text
    assert all(os.path.basename(g) in caplog.text for g in gone)


