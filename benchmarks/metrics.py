"""Held-out test metrics, computed with scikit-learn."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn import metrics

__all__ = ["classification_metrics"]


def classification_metrics(y_true: np.ndarray, probabilities: np.ndarray, class_names: Sequence[str]) -> dict[str, Any]:
    """Accuracy, macro and weighted precision/recall/F1, top-5 (over 5 classes), confusion matrix, per-class report."""
    labels = np.arange(len(class_names))
    y_pred = probabilities.argmax(axis=1)
    result: dict[str, Any] = {"accuracy": float(metrics.accuracy_score(y_true, y_pred)), "examples": int(len(y_true))}
    for average in ("macro", "weighted"):
        p, r, f, _ = metrics.precision_recall_fscore_support(
            y_true, y_pred, labels=labels, average=average, zero_division=0
        )
        result[f"precision_{average}"] = float(p)
        result[f"recall_{average}"] = float(r)
        result[f"f1_{average}"] = float(f)
    if len(class_names) > 5:
        result["top5_accuracy"] = float(metrics.top_k_accuracy_score(y_true, probabilities, k=5, labels=labels))
    result["confusion_matrix"] = metrics.confusion_matrix(y_true, y_pred, labels=labels).tolist()
    result["per_class"] = metrics.classification_report(
        y_true, y_pred, labels=labels, target_names=list(class_names), output_dict=True, zero_division=0
    )
    return result
