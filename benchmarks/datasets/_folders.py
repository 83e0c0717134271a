"""Image-folder datasets: class-per-folder trees, split subfolders, and zips of either."""

from __future__ import annotations

import hashlib
import logging
import os
import zipfile
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from benchmarks.datasets._types import PreparedDataset, Split, carve
from benchmarks.errors import UserError

log = logging.getLogger(__name__)

# Formats that tf.io.decode_image reads; other files in a class folder are ignored.
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif"})

# Split folder names, lower-cased; Fruits-360 uses "Training" and "Test".
_SPLIT_ALIASES = {
    "train": "train",
    "training": "train",
    "val": "validation",
    "valid": "validation",
    "validation": "validation",
    "test": "test",
    "testing": "test",
}
_IGNORED_DIRS = {"__MACOSX"}


def default_cache_dir() -> Path:
    """Where archives are downloaded and extracted (``$TRANSFER_SEARCH_CACHE`` overrides it)."""
    root = os.environ.get("TRANSFER_SEARCH_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "transfer-search"
    )
    return Path(root)


def _subdirs(path: Path) -> list[Path]:
    return sorted(
        p for p in path.iterdir() if p.is_dir() and not p.name.startswith(".") and p.name not in _IGNORED_DIRS
    )


def _image_files(path: Path) -> list[Path]:
    return sorted(
        p
        for p in path.rglob("*")
        if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith(".")
    )


def extract_zip(path: Path, cache_dir: Path | None = None) -> Path:
    """Extract a zip once into the cache, keyed by its path, size and modification time."""
    stat = path.stat()
    key = hashlib.sha1(f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:12]
    target = (cache_dir or default_cache_dir()) / "extracted" / f"{path.stem}-{key}"
    marker = target / ".complete"
    if marker.exists():
        return target
    try:
        with zipfile.ZipFile(path) as archive:
            log.info("extracting %s to %s", path, target)
            archive.extractall(target)
    except zipfile.BadZipFile:
        raise UserError(f"{path} is not a readable zip archive; re-download it or unzip it by hand") from None
    marker.touch()
    return target


def find_root(path: Path) -> Path:
    """Descend through wrapper folders (an archive's top folder, say) to the dataset root."""
    while True:
        children = _subdirs(path)
        has_images = any(p.suffix.lower() in IMAGE_EXTENSIONS for p in path.iterdir() if p.is_file())
        wrapper = len(children) == 1 and children[0].name.lower() not in _SPLIT_ALIASES
        if wrapper and not has_images and _subdirs(children[0]):
            path = children[0]
        else:
            return path


def _readable(path: Path) -> bool:
    try:
        with Image.open(path) as image:
            image.verify()
        with Image.open(path) as image:  # verify() misses truncated pixel data
            image.load()
        return True
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return False


def _drop_unreadable(files: list[Path]) -> list[Path]:
    with ThreadPoolExecutor(max_workers=8) as pool:
        ok = list(pool.map(_readable, files))
    bad = [f for f, good in zip(files, ok) if not good]
    if bad:
        shown = ", ".join(str(b) for b in bad[:10]) + (f" and {len(bad) - 10} more" if len(bad) > 10 else "")
        log.warning("skipping %d unreadable or corrupt image file(s): %s", len(bad), shown)
    return [f for f, good in zip(files, ok) if good]


def _scan_classes(root: Path, class_names: Iterable[str] | None = None) -> tuple[list[str], Split]:
    """Read one class-per-folder tree into a split of file paths."""
    classes = [d.name for d in _subdirs(root)] if class_names is None else list(class_names)
    if class_names is not None:
        unknown = sorted({d.name for d in _subdirs(root)} - set(classes))
        if unknown:
            raise UserError(
                f"{root} has class folder(s) not in the training split: {', '.join(unknown[:5])}; "
                "every split must use the same class folders"
            )
    items: list[str] = []
    labels: list[int] = []
    for index, name in enumerate(classes):
        folder = root / name
        files = _drop_unreadable(_image_files(folder)) if folder.is_dir() else []
        if not files and class_names is None:
            raise UserError(
                f"class folder {folder} has no readable images ({', '.join(sorted(IMAGE_EXTENSIONS))}); "
                "add images or remove the folder"
            )
        items.extend(str(f) for f in files)
        labels.extend([index] * len(files))
    split = Split(np.array(items, dtype=object), np.array(labels, dtype=np.int64), "files")
    return classes, split


def load_image_folder(
    path: str | os.PathLike,
    *,
    name: str | None = None,
    validation_fraction: float = 0.15,
    test_fraction: float = 0.15,
    seed: int = 0,
    cache_dir: Path | None = None,
) -> PreparedDataset:
    """Load a folder (or a ``.zip`` of one) with one subfolder per class, or split subfolders.

    With split subfolders (``train``/``Training``, ``val``/``valid``/``validation``,
    ``test``/``Test``) those splits are used and any missing one is carved from
    train; with class subfolders only, all three splits are carved, stratified
    and seeded.
    """
    source = Path(path).expanduser().absolute()  # trials read the files from other working directories
    if not source.exists():
        raise UserError(f"dataset path {source} does not exist; pass an existing folder, a .zip, or a dataset name")
    if source.is_file():
        if source.suffix.lower() != ".zip":
            raise UserError(f"{source} is a file but not a .zip; pass a folder of class subfolders or a zip of one")
        source = extract_zip(source, cache_dir)
    root = find_root(source)
    name = name or Path(path).stem
    children = _subdirs(root)
    if not children:
        raise UserError(f"{root} has no subfolders; put the images of each class in a subfolder named after the class")

    splits = {_SPLIT_ALIASES[c.name.lower()]: c for c in children if c.name.lower() in _SPLIT_ALIASES}
    if splits and "train" not in splits:
        raise UserError(f"{root} has split folders ({', '.join(sorted(splits))}) but no train/Training folder")
    if splits:
        class_names, train = _scan_classes(splits["train"])
        given = {
            s: _scan_classes(splits[s], class_names)[1] for s in ("validation", "test") if s in splits
        }
    else:
        class_names, train = _scan_classes(root)
        given = {}
    if "test" not in given:
        train, given["test"] = carve(train, test_fraction, seed, "test")
    if "validation" not in given:
        train, given["validation"] = carve(train, validation_fraction / (1 - test_fraction), seed, "validation")

    data = PreparedDataset(name, tuple(class_names), train, given["validation"], given["test"])
    data.check()
    return data
