"""The model families a search compares, declared once: their keys, labels and how a trial gets one.

>>> family("custom_cnn"), family("small_resnet"), family("resnet50"), family("resnet50", pretrained=False)
('custom_cnn', 'custom_cnn', 'transfer', 'scratch')
>>> FAMILY_LABELS["scratch"]
'backbone from scratch'
"""

from __future__ import annotations

__all__ = ["CUSTOM_CNN", "FAMILIES", "FAMILY_LABELS", "family", "family_label"]

#: The family of the networks built here and trained from scratch, and the name of its first model, the custom CNN.
CUSTOM_CNN = "custom_cnn"

#: Every family, in the order tables and legends list them, with its label as it reads inside a sentence.
#: A registered backbone without pretrained weights is "scratch": it learns everything from the dataset,
#: so it is never called transfer learning.
FAMILY_LABELS: dict[str, str] = {
    "custom_cnn": "custom CNN",
    "transfer": "transfer learning",
    "scratch": "backbone from scratch",
}
FAMILIES: tuple[str, ...] = tuple(FAMILY_LABELS)


def family(backbone: str, pretrained: bool = True) -> str:
    """The family of a trial's model: ``custom_cnn`` (a network built here, which takes no pretrained weights),
    ``transfer`` (a backbone with pretrained weights) or ``scratch`` (a backbone without).

    The registry answers; a name it does not know (a backbone registered by a module this process did not import,
    read back from a database) is taken for a backbone.
    """
    from benchmarks.models._registry import _MODELS

    model = _MODELS.get(str(backbone))
    if model is not None and not model.pretrainable:
        return "custom_cnn"
    return "transfer" if pretrained else "scratch"


def family_label(key: str, capitalize: bool = False) -> str:
    """``transfer`` -> ``transfer learning`` (``Transfer learning`` with ``capitalize``); unknown keys as they are."""
    label = FAMILY_LABELS.get(str(key), str(key))
    return label[:1].upper() + label[1:] if capitalize else label
