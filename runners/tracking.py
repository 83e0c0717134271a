"""MLflow tracking (``--mlflow URI``): a parent run per search, a child run per trial and per repeat, the
finalists' intervals and the verdict on the parent, and the best model in the Keras flavour (``--register-model``).

Off unless ``--mlflow`` is given or ``MLFLOW_TRACKING_URI`` is set (``pip install -e ".[mlflow]"``). The
search's experiment in MLflow is ``transfer-search/DATASET``; its parent run is named after the run and tagged
with its ``run_id``, so a resumed search logs on under the same parent.

Ray's integration is used where it fits: every trial, of the search and of the finalists' repeats, is logged
live as it reports by Ray Tune's ``MLflowLoggerCallback`` (``runners.tracking_callback``: one child run each,
nested under the parent by the ``mlflow.parentRunId`` tag; the configuration as parameters, every epoch's
metrics, the end status), extended with the trial's id, role (search or repeat) and whether it completed, was
stopped by the scheduler or failed (a trial that raised reports its error, so Ray alone would call it finished).
Where it does not fit:

- test figures: the best trial and the repeats are tested by the driver after their experiment ended, when
  the callback has closed their runs; they are added to those child runs from the results database;
- Ray's ``setup_mlflow`` logs from inside a trainable: every worker would need to reach the server, and the
  driver already sees every epoch;
- the parent run, the intervals, the verdict and the model are the driver's, after the trials: MLflow's own
  client and ``mlflow.keras`` log them.

A tracking server that fails mid-search costs a warning, never the search: the results database stays the
record of the run.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import re
import sys
from pathlib import Path
from typing import Any

from benchmarks.errors import UserError

__all__ = ["INSTALL", "NoTracking", "Tracker", "check_tracking", "start_tracking", "tracking_uri"]

INSTALL = 'pip install -e ".[mlflow]"'
EXPERIMENT_PREFIX = "transfer-search/"
RUN_ID_TAG = "transfer_search.run_id"
_HEALTH_TIMEOUT_S = 10
# The options a parent run keeps as its parameters.
_PARENT_PARAMS = ("dataset", "space", "budget", "num_samples", "epochs", "image_size", "sampler", "scheduler",
                  "weights", "seed", "repeats", "finalists", "objective", "pick", "export", "gpus_per_trial",
                  "cpus_per_trial", "precision")


def tracking_uri(flag: str | None) -> str | None:
    """The MLflow tracking URI a search logs to: ``--mlflow``, else ``MLFLOW_TRACKING_URI`` where set, else None."""
    return flag or os.environ.get("MLFLOW_TRACKING_URI") or None


def check_tracking(uri: str | None, register_model: str | None) -> None:
    """Check, before any trial, that MLflow is installed and ``uri`` answers; a one-line UserError otherwise."""
    if uri is None:
        if register_model:
            raise UserError("--register-model needs a tracking server: add --mlflow URI (or set MLFLOW_TRACKING_URI)")
        return
    if importlib.util.find_spec("mlflow") is None:
        raise UserError(f"--mlflow needs MLflow, which is not installed: {INSTALL}")
    if re.match(r"https?://", uri):
        import urllib.error
        import urllib.request

        try:
            with urllib.request.urlopen(f"{uri.rstrip('/')}/health", timeout=_HEALTH_TIMEOUT_S) as response:
                response.read()
        except (urllib.error.URLError, OSError, ValueError) as error:
            reason = getattr(error, "reason", None) or error
            raise UserError(f"--mlflow {uri}: the tracking server does not answer ({reason})") from None
        return
    try:
        from mlflow.tracking import MlflowClient

        MlflowClient(tracking_uri=uri).search_experiments(max_results=1)
    except Exception as error:  # noqa: BLE001  (MLflow raises many kinds for a bad store URI)
        raise UserError(f"--mlflow {uri}: {str(error).splitlines()[0][:200]}") from None


def start_tracking(options, run) -> Tracker | NoTracking:
    """The tracker of this search (its parent run started, or found again when resumed); a no-op one without MLflow."""
    if not getattr(options, "mlflow", ""):
        return NoTracking()
    try:
        return Tracker(options, run)
    except Exception as error:  # noqa: BLE001
        _warn(error)
        return NoTracking()


class NoTracking:
    """The tracker of a search that logs to no MLflow server: no callbacks, nothing to log."""

    def callbacks(self) -> list:
        """None."""
        return []

    def finish(self, summary: dict[str, Any], store, data) -> None:
        """Nothing to log."""

    def end(self, status: str) -> None:
        """Nothing to end."""


def _warn(error: BaseException) -> None:
    print(f"warning: mlflow: {type(error).__name__}: {str(error).splitlines()[0][:200] if str(error) else ''}",
          file=sys.stderr, flush=True)


class Tracker:
    """One search in MLflow: its parent run, the callback that logs its trials, and what it logs at the end."""

    def __init__(self, options, run):
        """Open (or, for a resumed run, find again) the parent run of ``run`` in the experiment of its dataset."""
        from mlflow.tracking import MlflowClient

        self.options, self.run = options, run
        self.client = MlflowClient(tracking_uri=options.mlflow)
        self.experiment = EXPERIMENT_PREFIX + run.dataset
        found = self.client.get_experiment_by_name(self.experiment)
        self.experiment_id = found.experiment_id if found else self.client.create_experiment(self.experiment)
        existing = self.client.search_runs([self.experiment_id], f"tags.`{RUN_ID_TAG}` = '{run.run_id}'",
                                           max_results=1)
        if existing:
            self.parent_id = existing[0].info.run_id
            self.client.update_run(self.parent_id, status="RUNNING")
        else:
            parent = self.client.create_run(self.experiment_id, run_name=run.run_name, tags={
                RUN_ID_TAG: run.run_id, "role": "parent", "mlflow.source.name": "runners.search",
                "command": options.command[:5000]})
            self.parent_id = parent.info.run_id
            self.client.log_batch(self.parent_id, params=_params(
                {k: getattr(options, k, None) for k in _PARENT_PARAMS}))
        print(f"mlflow: run {self.parent_id} in experiment {self.experiment!r} at {options.mlflow}", flush=True)

    def callbacks(self) -> list:
        """The Ray Tune callback that logs each search trial as a child run of the parent."""
        from runners.tracking_callback import TrialLogger

        return [TrialLogger(self.options.mlflow, experiment_name=self.experiment,
                            tags={"mlflow.parentRunId": self.parent_id, RUN_ID_TAG: self.run.run_id})]

    def finish(self, summary: dict[str, Any], store, data) -> None:
        """Log the test figures, the best trial's, the finalists' intervals, the verdict and the best model."""
        for step in (self._log_tests, self._log_outcome, self._log_model):
            try:
                step(summary, store, data)
            except Exception as error:  # noqa: BLE001  (a tracking failure never fails a finished search)
                _warn(error)
        self.end("FINISHED")

    def end(self, status: str) -> None:
        """End the parent run with ``status`` (``FINISHED``, ``FAILED`` or ``KILLED``)."""
        try:
            self.client.set_terminated(self.parent_id, status=status)
        except Exception as error:  # noqa: BLE001
            _warn(error)

    def _log_tests(self, summary, store, data) -> None:
        """The test figures of each tested trial and repeat, on its child run (they come after its experiment)."""
        rows = store.trials(run_id=self.run.run_id)
        tested = {r["trial_id"]: r for r in rows.to_dict("records") if _number(r.get("test_accuracy")) is not None}
        children = self.client.search_runs([self.experiment_id], f"tags.`mlflow.parentRunId` = '{self.parent_id}'",
                                           max_results=5000)
        for child in children:
            row = tested.get(child.data.tags.get("trial_id"))
            if row is not None:
                self._log(child.info.run_id, [], [(k, row.get(k), 0) for k in ("test_accuracy", "test_f1_macro")],
                          {"tested": "true", "is_best": str(_flag(row.get("is_best"))).lower()})

    def _log_outcome(self, summary, store, data) -> None:
        """The best trial's validation and test figures, the finalists' intervals and the verdict, on the parent."""
        metrics = [("best_val_accuracy", summary.get("val_accuracy"), 0)]
        metrics += [(f"test_{key}", value, 0) for key, value in (summary.get("test") or {}).items()]
        finalists = summary.get("finalists") or {}
        for finalist in finalists.get("finalists", []):
            name = _key(finalist.get("label") or finalist.get("repeat_of"))
            for metric in ("test_accuracy", "test_f1_macro"):
                for field, value in (finalist.get(metric) or {}).items():
                    metrics.append((f"finalist.{name}.{metric}.{field}", value, 0))
        for metric, difference in (finalists.get("difference") or {}).items():
            for field, value in (difference or {}).items():
                metrics.append((f"difference.{metric}.{field}", value, 0))
        tags = {"best_trial_id": str(summary.get("best_trial_id"))}
        if finalists.get("verdict"):
            tags["verdict"] = str(finalists["verdict"])[:5000]
        self._log(self.parent_id, [], metrics, tags)
        for name, value in (("summary.json", summary), ("environment.json", summary.get("environment"))):
            if value is not None:
                self.client.log_dict(self.parent_id, json.loads(json.dumps(value, default=str)), name)

    def _log_model(self, summary, store, data) -> None:
        """The best model (Keras flavour, raw 0..255 pixels in) and its export files; registered when asked."""
        import keras
        import mlflow
        import mlflow.keras
        import numpy as np
        from mlflow.models import infer_signature

        from benchmarks.pipeline import make_dataset

        folder = Path(self.options.results) / "models" / self.options.name
        model = keras.models.load_model(folder / "model.keras")
        size = int(model.input_shape[1])
        sample = data.test.take(np.arange(min(2, len(data.test))))
        images = next(iter(make_dataset(sample, image_size=size, batch_size=len(sample), training=False)))[0].numpy()
        signature = infer_signature(images, model.predict(images, verbose=0))
        mlflow.set_tracking_uri(self.options.mlflow)
        register = getattr(self.options, "register_model", "") or None
        with mlflow.start_run(run_id=self.parent_id):
            mlflow.keras.log_model(
                model, name="model", signature=signature, registered_model_name=register,
                pip_requirements=[f"keras=={keras.__version__}", f"tensorflow=={_version('tensorflow')}"],
                metadata={"input": f"raw RGB pixels 0..255, {size}x{size}", "classes": list(data.class_names)},
            )
            mlflow.log_artifacts(str(folder), artifact_path="exports")
        if register:
            print(f"mlflow: the best model is registered as {register!r}", flush=True)

    def _log(self, run_id: str, params: list, metrics: list[tuple[str, Any, int]],
             tags: dict[str, str] | None = None) -> None:
        """Log ``params``, the numeric ``metrics`` (name, value, step) and ``tags`` in batches MLflow accepts."""
        from mlflow.entities import Metric, RunTag
        from mlflow.utils.time import get_current_time_millis

        now = get_current_time_millis()
        entries = [Metric(_key(k), _number(v), now, step) for k, v, step in metrics if _number(v) is not None]
        tag_list = [RunTag(k, v) for k, v in (tags or {}).items()]
        for start in range(0, max(len(entries), 1), 1000):  # MLflow takes at most 1,000 metrics a call
            self.client.log_batch(run_id, metrics=entries[start:start + 1000], params=params if start == 0 else [],
                                  tags=tag_list if start == 0 else [])


def _params(values: dict[str, Any]) -> list:
    """``values`` as MLflow parameters (strings of at most 6,000 characters), leaving out Nones."""
    from mlflow.entities import Param

    return [Param(_key(k), str(v)[:6000]) for k, v in sorted(values.items()) if v is not None]


def _key(name: Any) -> str:
    """A metric or parameter name MLflow accepts: letters, digits and ``_-./ `` only."""
    return re.sub(r"[^A-Za-z0-9_\-./ ]+", "_", str(name)).strip() or "_"


def _number(value: Any) -> float | None:
    """``value`` as a finite float, or None for anything else (text, None, NaN, a bool)."""
    import numpy as np

    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _flag(value: Any) -> bool:
    """A stored boolean column's value (True, 1, NaN, None...) as a bool; missing is False."""
    try:
        return bool(value == 1)
    except TypeError:  # pandas' NA
        return False


def _version(package: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"
