"""Fake results for the report tests: runs, trials, repeats and Optuna studies written as a search writes them."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path
from typing import Any

from benchmarks.models import family as family_of
from records.store import ResultsStore

_T0 = dt.datetime(2024, 5, 1, 9, 0, tzinfo=dt.UTC)
_POLICIES = ("none", "flip", "light", "color", "strong")
_PARAMS = {"custom_cnn": 180_000, "mobilenet_v2": 2_422_339, "efficientnet_b0": 4_213_670, "resnet50": 23_788_163}


def _history(val_accuracy: float, epochs: int, family: str, lr: float, params: int) -> list[dict[str, Any]]:
    rows = []
    for epoch in range(1, epochs + 1):
        progress = epoch / epochs
        val = round(val_accuracy * (0.6 + 0.4 * progress), 4)
        phase = "train" if family == "custom_cnn" else ("head" if epoch <= max(1, epochs // 2) else "finetune")
        rows.append(
            {
                "epoch": epoch,
                "phase": phase,
                "loss": round((2.2 - 1.5 * val_accuracy) * (1.05 - progress) + 0.1, 4),
                "accuracy": round(min(0.999, val + 0.04 * progress), 4),
                "val_loss": round((2.0 - 1.2 * val_accuracy) * (1.1 - progress) + 0.2, 4),
                "val_accuracy": val,
                "learning_rate": lr if phase != "finetune" else lr / 10,
                "params": params,
                "trainable_params": params if phase != "head" else params // 10,
            }
        )
    return rows


def _test_metrics(accuracy: float, f1: float, class_names: list[str], per_class_examples: int = 20) -> dict[str, Any]:
    n = len(class_names)
    correct = round(accuracy * per_class_examples)
    matrix = []
    for i in range(n):
        row = [0] * n
        row[i] = correct
        row[(i + 1) % n] += per_class_examples - correct
        matrix.append(row)
    per_class: dict[str, Any] = {
        name: {"precision": accuracy, "recall": accuracy, "f1-score": f1, "support": per_class_examples}
        for name in class_names
    }
    per_class["accuracy"] = accuracy
    per_class["macro avg"] = {
        "precision": accuracy,
        "recall": accuracy,
        "f1-score": f1,
        "support": n * per_class_examples,
    }
    per_class["weighted avg"] = dict(per_class["macro avg"])
    metrics = {
        "accuracy": accuracy,
        "examples": n * per_class_examples,
        "precision_macro": accuracy,
        "recall_macro": accuracy,
        "f1_macro": f1,
        "precision_weighted": accuracy,
        "recall_weighted": accuracy,
        "f1_weighted": f1,
        "confusion_matrix": matrix,
        "per_class": per_class,
    }
    if n > 5:
        metrics["top5_accuracy"] = min(1.0, accuracy + 0.05)
    return metrics


class FakeResults:
    """Writes runs and trials like a search would, with deterministic, realistic values."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.url = f"sqlite:///{self.path}"
        self.store = ResultsStore(self.url)
        self._clock = _T0

    def trial(self, run_id: str, run_name: str, dataset: str, spec: dict[str, Any], *, space: str) -> dict[str, Any]:
        """A full trials row from a short spec (trial_id, backbone, val_accuracy, status, weights, role, …).

        The family follows the backbone and ``weights`` (``none``: ``scratch``) as a search stores it; any other
        key (``family``, ``role``, ``seed``, ``repeat_of``, ``test_accuracy`` …) is stored as given, so an older
        database's row (family ``transfer`` with weights none, role NULL) can be written too.
        """
        spec = dict(spec)
        trial_id = spec.pop("trial_id")
        backbone = spec.pop("backbone")
        status = spec.pop("status", "completed")
        weights = spec.pop("weights", None if backbone == "custom_cnn" else "imagenet")
        is_reference = spec.pop("is_reference", False)
        family = family_of(backbone, pretrained=weights not in (None, "none"))
        rng = random.Random(f"{run_id}/{trial_id}")
        lr = spec.pop("learning_rate", round(10 ** rng.uniform(-4, -2), 6))
        config: dict[str, Any] = {
            "backbone": backbone,
            "learning_rate": lr,
            "batch_size": spec.pop("batch_size", rng.choice([16, 32, 64])),
            "optimizer": spec.pop("optimizer", rng.choice(["adam", "adamw"])),
            "augmentation": spec.pop("augmentation", rng.choice(_POLICIES)),
            "dense_units": spec.pop("dense_units", rng.choice([128, 256, 512])),
            "dropout": spec.pop("dropout", round(rng.uniform(0, 0.5), 3)),
        }
        if family == "custom_cnn":
            config["depth"] = spec.pop("depth", rng.randint(2, 4))
            config["width"] = spec.pop("width", rng.choice([16, 32, 64]))
        else:
            config["unfrozen_layers"] = spec.pop("unfrozen_layers", rng.choice([0, 10, 20, 30, 40]))
        epochs = 0 if status == "failed" else (spec.pop("epochs", 3 if status == "stopped" else 6))
        spec.pop("epochs", None)
        params = spec.pop("params", _PARAMS.get(backbone, 1_000_000))
        wall = spec.pop("wall_seconds", round(15.0 * epochs * (1 + params / 5e6), 1) if epochs else 2.0)
        val = spec.pop("val_accuracy", None)
        started = self._clock
        self._clock = started + dt.timedelta(seconds=max(wall, 1) + 5)
        row: dict[str, Any] = {
            "run_id": run_id,
            "run_name": run_name,
            "trial_id": trial_id,
            "dataset": dataset,
            "space": space,
            "budget": "smoke",
            "family": family,
            "backbone": backbone,
            "is_reference": is_reference,
            "role": "reference" if is_reference else "search",
            "is_best": False,
            "status": status,
            "error": spec.pop(
                "error", "ResourceExhaustedError: OOM when allocating tensor" if status == "failed" else None
            ),
            "val_accuracy": None if status == "failed" else val,
            "val_loss": None if status == "failed" or val is None else round(1.2 - val, 4),
            "epochs": epochs or None,
            "wall_seconds": wall,
            "params": None if status == "failed" else params,
            "trainable_params": None if status == "failed" else params,
            "image_size": 64,
            "weights": weights,
            **config,
            "config": config,
            "history": None if status == "failed" or val is None else _history(val, epochs, family, lr, params),
            "started_at": started,
            "finished_at": started + dt.timedelta(seconds=wall),
        }
        row.update(spec)
        return row

    def run(
        self,
        run_id: str,
        dataset: str,
        trials: list[dict[str, Any]],
        *,
        run_name: str | None = None,
        space: str = "default",
        class_names: list[str] | None = None,
        test: tuple[float, float] | None = (0.8, 0.78),
        status: str = "finished",
        repeats: dict[str, list[tuple[float | None, float | None, float | None]]] | None = None,
        study: bool = True,
        identity: dict[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """Store a run and its trials; the best finished trial gets ``is_best`` and the ``test`` (accuracy, macro F1).

        ``study``: also store the run's Optuna study beside the database, as a search does (False: a run recorded
        before studies were stored).

        ``repeats`` maps a finalist (a trial_id of ``trials``) to its repeats, one (val accuracy, test accuracy,
        macro F1) each: trained after the search with seeds 1, 2, … (see :meth:`repeat_rows`).

        ``identity``: what the run says its test figures mean (``test_fingerprint``, ``protocol``), as a search
        stores it; without it the run is one from before they were stored, comparable with no other.
        """
        run_name = run_name or run_id
        class_names = class_names or ["cat", "dog", "horse"]
        started = self._clock
        self.store.start_run(
            run_id=run_id, run_name=run_name, dataset=dataset, space=space, budget="smoke", sampler="tpe",
            scheduler="asha", seed=0, num_samples=len(trials), epochs=6, image_size=64,
            class_names=class_names, started_at=started, command=f"transfer-search --dataset {dataset}",
            **(identity or {}),
        )  # fmt: skip
        rows = [self.trial(run_id, run_name, dataset, spec, space=space) for spec in trials]
        done = [r for r in rows if r["status"] != "failed" and r["val_accuracy"] is not None]
        best = max(done, key=lambda r: r["val_accuracy"]) if done else None
        if best is not None and test is not None:
            best.update(is_best=True, test_accuracy=test[0], test_f1_macro=test[1])
        for finalist, scores in (repeats or {}).items():
            rows += self.repeat_rows(next(r for r in rows if r["trial_id"] == finalist), scores, space=space)
        for row in rows:
            self.store.record_trial(row)
        self.store.update_run(
            run_id,
            optuna_storage=self.study(run_name, [r for r in rows if r.get("role") != "repeat"]) if study else None,
            status=status,
            finished_at=self._clock,
            trials_total=len(rows),
            trials_failed=sum(r["status"] == "failed" for r in rows),
            best_trial_id=best["trial_id"] if best else None,
            test_metrics=_test_metrics(test[0], test[1], class_names)
            if best is not None and test is not None
            else None,
            model_path=f"/results/models/{run_id}.keras" if best is not None else None,
        )
        self.store.engine.dispose()
        return rows

    def study(self, run_name: str, rows: list[dict[str, Any]]) -> str:
        """Store the run's Optuna study as a search does: each row's hyperparameters suggested through the default
        space (so the distributions are the space's own), its value, and its state (stopped: PRUNED). Returns
        the storage URL."""
        import optuna

        from search_spaces import get_space

        url = f"sqlite:///{self.path.parent / 'optuna.db'}"
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        study = optuna.create_study(storage=url, study_name=run_name, direction="maximize")
        pretrained = any(r.get("weights") not in (None, "none") for r in rows)
        study.set_user_attr("weights", "imagenet" if pretrained else "none")
        suggest = get_space("default").suggest
        states = {"completed": optuna.trial.TrialState.COMPLETE, "stopped": optuna.trial.TrialState.PRUNED}
        for row in rows:
            study.enqueue_trial({k: v for k, v in row["config"].items() if v is not None})
            trial = study.ask()
            suggest(trial, pretrained=row.get("weights") not in (None, "none"))
            state = states.get(row["status"], optuna.trial.TrialState.FAIL)
            if state == optuna.trial.TrialState.PRUNED:
                trial.report(row["val_accuracy"], row["epochs"] or 1)
            study.tell(trial, row["val_accuracy"] if state == optuna.trial.TrialState.COMPLETE else None, state=state)
        return url

    def repeat_rows(
        self, finalist: dict[str, Any], scores: list[tuple[float | None, float | None, float | None]], *, space: str
    ) -> list[dict[str, Any]]:
        """Rows of role ``repeat`` retraining ``finalist`` (a search trial's row) with seeds 1, 2, …

        Each score is (val accuracy, test accuracy, macro F1): no val accuracy is a failed repeat, no test
        accuracy an untested one. Trial ids are ``<finalist>-s<seed>``.
        """
        rows = []
        for seed, (val, test, f1) in enumerate(scores, start=1):
            spec = {
                "trial_id": f"{finalist['trial_id']}-s{seed}", "backbone": finalist["backbone"],
                "weights": finalist["weights"], "family": finalist["family"], "role": "repeat", "seed": seed,
                "repeat_of": finalist["trial_id"], "val_accuracy": val, "status": "failed" if val is None else "completed",
                "test_accuracy": test, "test_f1_macro": f1,
            }  # fmt: skip
            rows.append(self.trial(finalist["run_id"], finalist["run_name"], finalist["dataset"], spec, space=space))
        return rows


BEANS = ["angular_leaf_spot", "bean_rust", "healthy"]
DIGITS = [str(i) for i in range(10)]


def populate_rich(fake: FakeResults) -> FakeResults:
    """Two datasets, four runs: both families, stopped and failed trials, a reference recipe.

    beans: best transfer r1/t02 mobilenet_v2 0.90 (test 0.88, F1 0.87); best custom CNN r2/c01 0.78
    (test 0.74, F1 0.73); reference r3/ref-mobilenet 0.86. digits: custom CNN d01 0.97 (test 0.95) beats
    transfer d03 0.93 (not evaluated).
    """
    fake.run(
        "r1", "beans",
        [
            {"trial_id": "t01", "backbone": "custom_cnn", "val_accuracy": 0.70, "params": 120_000, "wall_seconds": 40.0},
            {"trial_id": "t02", "backbone": "mobilenet_v2", "val_accuracy": 0.90, "wall_seconds": 120.0},
            {"trial_id": "t03", "backbone": "efficientnet_b0", "val_accuracy": 0.60, "status": "stopped"},
            {"trial_id": "t04", "backbone": "custom_cnn", "val_accuracy": 0.75, "params": 250_000, "wall_seconds": 60.0},
            {"trial_id": "t05", "backbone": "resnet50", "status": "failed"},
            {"trial_id": "t06", "backbone": "mobilenet_v2", "val_accuracy": 0.85},
            {"trial_id": "t07", "backbone": "custom_cnn", "val_accuracy": 0.55, "status": "stopped"},
            {"trial_id": "t08", "backbone": "efficientnet_b0", "val_accuracy": 0.88},
        ],
        run_name="beans-search", class_names=BEANS, test=(0.88, 0.87),
    )  # fmt: skip
    fake.run(
        "r2", "beans",
        [
            {"trial_id": "c01", "backbone": "custom_cnn", "val_accuracy": 0.78, "params": 300_000, "wall_seconds": 90.0},
            {"trial_id": "c02", "backbone": "custom_cnn", "val_accuracy": 0.72},
            {"trial_id": "c03", "backbone": "custom_cnn", "status": "failed", "error": "ValueError: bad | pipe <b>x</b>"},
        ],
        run_name="beans-cnn", space="custom_cnn", class_names=BEANS, test=(0.74, 0.73),
    )  # fmt: skip
    fake.run(
        "r3", "beans",
        [{"trial_id": "ref-mobilenet", "backbone": "mobilenet_v2", "val_accuracy": 0.86, "is_reference": True}],
        run_name="beans-reference", space="reference", class_names=BEANS, test=(0.84, 0.83),
    )  # fmt: skip
    fake.run(
        "r4", "digits",
        [
            {"trial_id": "d01", "backbone": "custom_cnn", "val_accuracy": 0.97, "params": 90_000, "wall_seconds": 30.0},
            {"trial_id": "d02", "backbone": "custom_cnn", "val_accuracy": 0.91, "status": "stopped"},
            {"trial_id": "d03", "backbone": "mobilenet_v2", "val_accuracy": 0.93, "wall_seconds": 200.0},
            {"trial_id": "d04", "backbone": "resnet50", "val_accuracy": 0.89},
            {"trial_id": "d05", "backbone": "custom_cnn", "val_accuracy": 0.95},
            {"trial_id": "d06", "backbone": "efficientnet_b0", "val_accuracy": 0.90},
        ],
        run_name="digits-search", class_names=DIGITS, test=(0.95, 0.94),
    )  # fmt: skip
    return fake


#: Two flowers runs that tested on the same images after the same protocol (a custom-CNN space, then a transfer one).
FLOWERS_IDENTITY = {
    "test_fingerprint": "5eed0f10e15a11e5",
    "protocol": {"budget": "smoke", "epochs": 6, "image_size": {"custom_cnn": 64, "transfer": 64},
                 "weights": "imagenet", "train_examples": 600, "validation_examples": 120},
}


def populate_finalists(fake: FakeResults) -> FakeResults:
    """Three datasets whose finalists were repeated (or not), with the scores the headline must show.

    flowers: flowers-old repeated custom CNN c1 (test 0.80, 0.82, 0.84) and mobilenet_v2 t1 (0.60, 0.61, 0.62);
    the later flowers-new searched backbones only and repeated resnet50 t9 (0.90, 0.91, 0.92; a fourth repeat
    failed). Both tested on the same images after the same protocol (:data:`FLOWERS_IDENTITY`), so the headline
    pools them: flowers-old/c1 against flowers-new/t9, transfer learning better by 9.0 pp (95% CI 4.8 to 13.2).
    Macro F1 is test accuracy minus 0.01. 5 search trials, 10 repeats.
    digits: no repeats (the best-trial comparison). cifar: trained without weights, one repeat per finalist.
    """
    fake.run(
        "fl-old", "flowers",
        [
            {"trial_id": "c1", "backbone": "custom_cnn", "val_accuracy": 0.80},
            {"trial_id": "t1", "backbone": "mobilenet_v2", "val_accuracy": 0.85},
            {"trial_id": "c2", "backbone": "custom_cnn", "val_accuracy": 0.70},
        ],
        run_name="flowers-old", test=(0.85, 0.84), identity=FLOWERS_IDENTITY,
        repeats={"c1": [(0.79, 0.80, 0.79), (0.80, 0.82, 0.81), (0.81, 0.84, 0.83)],
                 "t1": [(0.84, 0.60, 0.59), (0.85, 0.61, 0.60), (0.86, 0.62, 0.61)]},
    )  # fmt: skip
    fake.run(
        "fl-new", "flowers",
        [
            {"trial_id": "t9", "backbone": "resnet50", "val_accuracy": 0.93},
            {"trial_id": "t8", "backbone": "efficientnet_b0", "val_accuracy": 0.88},
        ],
        run_name="flowers-new", space="transfer", test=(0.92, 0.91), identity=FLOWERS_IDENTITY,
        repeats={"t9": [(0.92, 0.90, 0.89), (0.93, 0.91, 0.90), (0.94, 0.92, 0.91), (None, None, None)]},
    )  # fmt: skip
    fake.run(
        "dg", "digits",
        [
            {"trial_id": "d1", "backbone": "custom_cnn", "val_accuracy": 0.97},
            {"trial_id": "d2", "backbone": "mobilenet_v2", "val_accuracy": 0.93},
        ],
        run_name="digits-search", class_names=DIGITS, test=(0.95, 0.94),
    )  # fmt: skip
    fake.run(
        "cf", "cifar",
        [
            {"trial_id": "a", "backbone": "custom_cnn", "val_accuracy": 0.50},
            {"trial_id": "b", "backbone": "mobilenet_v2", "val_accuracy": 0.40, "weights": "none"},
        ],
        run_name="cifar-scratch", test=(0.49, 0.48),
        repeats={"a": [(0.50, 0.48, 0.47)], "b": [(0.41, 0.39, 0.38)]},
    )  # fmt: skip
    return fake
