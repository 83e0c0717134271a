"""Image-folder datasets: class-per-folder trees, split subfolders, and zips of either."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import zipfile
import zlib
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath

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

# Pillow formats that tf.io.decode_image decodes as Pillow does, with those modes (None: in every mode). The scan
# converts other images Pillow reads to PNG: TensorFlow fails on TIFF (even named .jpg) and 1-bit BMPs, reads
# 8-bit palette BMPs as grey levels, and older versions read no WebP; CMYK JPEGs and all BMPs are converted to be safe.
_DECODED_ALIKE: dict[str, frozenset[str] | None] = {
    "PNG": None,  # libpng expands every PNG; it also scales 16-bit samples, which Pillow's convert clips
    "GIF": None,  # both read the first frame
    "JPEG": frozenset({"L", "RGB"}),
    "MPO": frozenset({"L", "RGB"}),  # a camera's multi-picture JPEG: both read its first picture
}


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


def shown(path: str | os.PathLike) -> str:
    """``path`` printable in a message or log line: bytes of a name that is not UTF-8 as ``\\xff`` escapes."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def shown_list(paths: Sequence[str | os.PathLike], most: int = 10) -> str:
    """The first ``most`` of ``paths``, :func:`shown` and comma-separated, then how many more there are."""
    more = f" and {len(paths) - most} more" if len(paths) > most else ""
    return ", ".join(shown(p) for p in paths[:most]) + more


def _file_key(path: Path) -> str:
    """A short key for ``path`` as it is now: its absolute path, size and modification time."""
    stat = path.stat()
    return hashlib.sha1(os.fsencode(f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}")).hexdigest()[:12]


def _ignored(relative: Path) -> bool:
    """Whether a path inside a class folder is hidden (``.DS_Store``, ``._img.jpg``, ``.thumbs/``) or macOS metadata."""
    return any(part.startswith(".") or part in _IGNORED_DIRS for part in relative.parts)


def _image_files(path: Path) -> list[Path]:
    return sorted(
        p
        for p in path.rglob("*")
        if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS and not _ignored(p.relative_to(path))
    )


def _nested_zips(path: Path) -> list[Path]:
    """The zip archives under ``path`` (hidden ones left out): a dataset zipped inside another zip, say."""
    return sorted(
        p for p in path.rglob("*") if p.suffix.lower() == ".zip" and p.is_file() and not _ignored(p.relative_to(path))
    )


def _holds_zips(where: str, folder: Path) -> UserError | None:
    """The one-line error for a folder or zip that holds zip archives where images should be; None if it holds none."""
    zips = _nested_zips(folder)
    if not zips:
        return None
    return UserError(
        f"{where} holds zip archive(s) instead of images ({shown_list([z.relative_to(folder) for z in zips], 3)}); "
        f"pass the one that holds the dataset, e.g. --dataset {shown(zips[0])}"
    )


def _escapes(name: str) -> bool:
    """Whether a zip member named ``name`` would land outside the extraction folder (``..``, absolute, a drive)."""
    path = PurePosixPath(name.replace("\\", "/"))
    return path.is_absolute() or ".." in path.parts or bool(path.parts and ":" in path.parts[0])


def _checked_members(archive: zipfile.ZipFile, path: Path) -> list[zipfile.ZipInfo]:
    """The archive's members, after a one-line error if it holds no files or a member would land outside its folder."""
    members = archive.infolist()
    if not any(not m.is_dir() for m in members):
        raise UserError(f"{shown(path)} is an empty zip archive; zip the dataset folder (one subfolder per class) again")
    escaping = [m.filename for m in members if _escapes(m.filename)]
    if escaping:
        raise UserError(
            f"{shown(path)} has member(s) that would be written outside the extraction folder "
            f"({', '.join(repr(n) for n in escaping[:3])}); zip the dataset folder with relative paths only"
        )
    return members


def _extract_all(path: Path, into: Path) -> None:
    """Extract the zip at ``path`` into ``into`` member by member, so that one that cannot be read is named."""
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise UserError(f"{shown(path)} is not a readable zip archive; re-download it or unzip it by hand") from None
    with archive:
        for member in _checked_members(archive, path):
            try:
                archive.extract(member, into)
            except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as error:
                # bad CRC or compressed data, a truncated member, Deflate64 or another method, a password
                raise UserError(
                    f"{shown(path)} has a member that cannot be extracted, {member.filename!r} "
                    f"({str(error).splitlines()[0]}); re-download the archive or zip the dataset folder again"
                ) from None


def extract_zip(path: Path, cache_dir: Path | None = None) -> Path:
    """Extract a zip once into the cache, keyed by its path, size and modification time.

    An empty archive and a member whose name leads out of the folder (``../evil.png``, absolute paths)
    are one-line errors before anything is written; a member that cannot be read (bad CRC, bad compressed
    data) is one too, and the scratch folder the archive was being extracted into is removed.
    """
    target = (cache_dir or default_cache_dir()) / "extracted" / f"{path.stem}-{_file_key(path)}"
    marker = target / ".complete"
    if marker.exists():
        return target
    partial = target.with_name(f"{target.name}.{os.getpid()}.part")
    shutil.rmtree(partial, ignore_errors=True)
    log.info("extracting %s to %s", path, target)
    try:
        _extract_all(path, partial)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    (partial / marker.name).touch()
    shutil.rmtree(target, ignore_errors=True)  # an extraction interrupted before this version
    partial.rename(target)
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


def _decoded_alike(path: Path) -> bool | None:
    """Whether ``tf.io.decode_image`` reads ``path`` as Pillow does; None where Pillow cannot read it whole.

    Pillow fully decodes every image once here: ``verify()`` misses truncated pixel data, and a
    decompression bomb (over ``Image.MAX_IMAGE_PIXELS`` twice, a 14000x14000 PNG say) fails to open.
    """
    try:
        with Image.open(path) as image:
            image.verify()
        with Image.open(path) as image:
            image.load()
            modes = _DECODED_ALIKE.get(image.format or "", frozenset())
            return modes is None or image.mode in modes
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError):
        return None


def _rgb(image: Image.Image) -> Image.Image:
    """``image`` as 8-bit RGB, 16-bit samples scaled down as TensorFlow scales them (Pillow's ``convert`` clips them)."""
    if image.mode.startswith("I;16"):
        image = Image.fromarray((np.asarray(image) >> 8).astype(np.uint8))
    return image.convert("RGB")


def _converted(path: Path, folder: Path) -> Path:
    """A PNG copy of ``path`` in ``folder`` that TensorFlow decodes as Pillow does, made once per version of the file."""
    target = folder / f"{_file_key(path)}.png"
    if not target.exists():
        folder.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(f".{os.getpid()}.part")  # other processes may convert the same file
        with Image.open(path) as image:
            _rgb(image).save(partial, format="PNG")
        os.replace(partial, target)
    return target


def _utf8(path: Path) -> bool:
    """Whether ``path`` is valid UTF-8, as file names passed to TensorFlow (and hashed by feature caches) must be."""
    try:
        str(path).encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def _trial_file(path: Path, converted: Path) -> Path | None:
    """The file trials read for ``path``: itself, its PNG copy in ``converted``, or None if it cannot be read.

    A copy where TensorFlow would decode it otherwise than Pillow, or where its path is not UTF-8.
    """
    alike = _decoded_alike(path)
    if alike is None:
        return None
    return path if alike and _utf8(path) else _converted(path, converted)


def _readable_files(files: list[Path], converted: Path) -> list[Path]:
    """The files trials read for ``files`` (:func:`_trial_file`); unreadable ones are left out with a warning naming them.

    Converting in the scan keeps TensorFlow's decoders in the trials: on 256-pixel JPEGs and PNGs they
    decode and resize twice as fast as Pillow in a ``tf.numpy_function`` (1.05 against 2.0 ms per JPEG,
    1.6 against 3.1 ms per PNG, fastest of 7 passes of 400 on a busy 2-core VM), and every trial decodes
    its splits, while a file is converted once for every run: 400 1-bit BMPs of 256 pixels took 21 ms
    each to scan and convert, 0.6 ms each to scan again (PNGs that need no copy: 5 to 10 ms each).
    See :data:`_DECODED_ALIKE` for what is converted.
    """
    with ThreadPoolExecutor(max_workers=8) as pool:
        found = list(pool.map(lambda f: _trial_file(f, converted), files))
    bad = [f for f, use in zip(files, found) if use is None]
    if bad:
        log.warning("skipping %d unreadable or corrupt image file(s): %s", len(bad), shown_list(bad))
    copies = sum(use is not None and use != f for f, use in zip(files, found))
    if copies:
        log.info("converted %d image(s) TensorFlow does not decode as Pillow does, or not named in UTF-8, to PNG in %s",
                 copies, converted)
    return [use for use in found if use is not None]


def _scan_classes(
    root: Path, converted: Path, class_names: Iterable[str] | None = None
) -> tuple[list[str], Split]:
    """Read one class-per-folder tree into a split of file paths (copies in ``converted`` where needed)."""
    folders = {shown(d.name): d for d in _subdirs(root)}  # class names stay printable whatever the folder's name
    classes = list(folders) if class_names is None else list(class_names)
    if class_names is not None:
        unknown = sorted(set(folders) - set(classes))
        if unknown:
            raise UserError(
                f"{shown(root)} has class folder(s) not in the training split: {', '.join(unknown[:5])}; "
                "every split must use the same class folders"
            )
    items: list[str] = []
    labels: list[int] = []
    for index, name in enumerate(classes):
        folder = folders.get(name)
        files = _readable_files(_image_files(folder), converted) if folder else []
        if not files and class_names is None:
            if nested := _holds_zips(f"class folder {shown(folder)}", folder):
                raise nested
            raise UserError(
                f"class folder {shown(folder)} has no readable images ({', '.join(sorted(IMAGE_EXTENSIONS))}); "
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
    converted = (cache_dir or default_cache_dir()) / "converted"
    root = find_root(source)
    name = name or shown(Path(path).stem)
    children = _subdirs(root)
    if not children:
        if nested := _holds_zips(shown(Path(path).expanduser().absolute()), root):
            raise nested
        raise UserError(f"{root} has no subfolders; put the images of each class in a subfolder named after the class")

    splits = {_SPLIT_ALIASES[c.name.lower()]: c for c in children if c.name.lower() in _SPLIT_ALIASES}
    if splits and "train" not in splits:
        raise UserError(f"{root} has split folders ({', '.join(sorted(splits))}) but no train/Training folder")
    if splits:
        class_names, train = _scan_classes(splits["train"], converted)
        given = {
            s: _scan_classes(splits[s], converted, class_names)[1] for s in ("validation", "test") if s in splits
        }
    else:
        class_names, train = _scan_classes(root, converted)
        given = {}
    if "test" not in given:
        train, given["test"] = carve(train, test_fraction, seed, "test")
    if "validation" not in given:
        # --val-fraction is a share of all the images, whether the test split was carved or given as a folder.
        share = validation_fraction * (len(train) + len(given["test"])) / max(len(train), 1)
        if share >= 1:
            raise UserError(f"--val-fraction {validation_fraction:g} of all {len(train) + len(given['test'])} images "
                            f"needs more than the {len(train)} train images; lower it or add a validation folder")
        train, given["validation"] = carve(train, share, seed, "validation")

    data = PreparedDataset(name, tuple(class_names), train, given["validation"], given["test"])
    data.check()
    return data
