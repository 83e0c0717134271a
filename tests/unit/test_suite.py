"""runners.suite: what cannot be had is skipped with a line, the rest runs reference then search, then the report.

The runs themselves are replaced by a recorder (a real run is tests/integration/test_reference_cli.py);
the network is "down" so that skipping is tested offline and deterministically.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import SHARED_TFDS, have_shared_cifar10, make_class_folders

from benchmarks.errors import UserError
from runners import suite
from records.store import default_db_url


@pytest.fixture
def recorder(monkeypatch):
    calls = {"runs": [], "report": []}
    from benchmarks.datasets import _network

    def no_network(host, port, timeout):
        raise OSError("no network")

    monkeypatch.setattr(_network, "connect", no_network)
    monkeypatch.setattr(suite, "_run", lambda argv: calls["runs"].append(argv))

    def report(url, out_dir):
        calls["report"].append((url, str(out_dir)))
        return 0

    monkeypatch.setattr(suite, "_report", report)
    return calls


def test_unavailable_datasets_are_skipped_and_the_rest_runs(recorder, tmp_path, capsys):
    folder = make_class_folders(tmp_path / "my_images", {"a": 4, "b": 4})
    code = suite.main(["--datasets", "hymenoptera", "oxford_flowers102", "--folders", str(folder), str(tmp_path / "nope"),
                       "--data-dir", str(tmp_path / "tfds"), "--budget", "smoke", "--weights", "none", "--epochs", "1"])
    out = capsys.readouterr().out
    assert code == 0
    assert ("skip hymenoptera: not downloaded yet and https://download.pytorch.org/tutorial/hymenoptera_data.zip "
            "cannot be reached: download.pytorch.org:443 (no network)") in out
    assert "skip oxford_flowers102: tfds dataset 'oxford_flowers102' is not prepared in" in out and f"skip {tmp_path / 'nope'}: no such folder" in out
    reference, search = recorder["runs"]
    assert reference[:4] == ["--dataset", str(folder), "--space", "reference"]
    assert search[:8] == ["--dataset", str(folder), "--space", "default", "--val-fraction", "0.1", "--test-fraction", "0.2"]
    for argv in (reference, search):
        assert {"--budget", "smoke", "--weights", "none", "--epochs", "1"} <= set(argv)
    assert recorder["report"] == [(default_db_url("results"), str(Path("results") / "report"))]
    assert f"ran 1 dataset(s): {folder}; skipped hymenoptera, oxford_flowers102, {tmp_path / 'nope'}" in out


def test_a_failing_run_is_reported_and_the_next_one_still_runs(recorder, monkeypatch, tmp_path, capsys):
    def run(argv):
        if "reference" in argv:
            raise UserError("no reference recipe for dataset 'x'")
        recorder["runs"].append(argv)

    monkeypatch.setattr(suite, "_run", run)
    folder = make_class_folders(tmp_path / "x", {"a": 4, "b": 4})
    assert suite.main(["--datasets", "--folders", str(folder), "--num-samples", "2"]) == 0
    assert f"skip {folder} reference recipe: no reference recipe" in capsys.readouterr().out
    (search,) = recorder["runs"]
    assert search[2:4] == ["--space", "default"] and search[8:10] == ["--num-samples", "2"]


def test_nothing_available_is_a_one_line_error(recorder, capsys):
    assert suite.main(["--datasets", "fruits360"]) == 2
    captured = capsys.readouterr()
    assert captured.err.strip().splitlines() == ["error: no dataset could be run (1 skipped); see the skip lines above"]
    assert recorder["runs"] == [] and recorder["report"] == []


def test_ctrl_c_stops_the_suite(recorder, monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(suite, "_run", lambda argv: (_ for _ in ()).throw(KeyboardInterrupt))
    folder = make_class_folders(tmp_path / "x", {"a": 4, "b": 4})
    assert suite.main(["--datasets", "--folders", str(folder), str(folder)]) == 130
    assert "interrupted" in capsys.readouterr().err


def test_a_bad_search_flag_stops_before_anything_runs(recorder, capsys):
    with pytest.raises(SystemExit) as exit_:
        suite.main(["--datasets", "--epochz", "1"])
    assert exit_.value.code == 2 and recorder["runs"] == []


@pytest.mark.skipif(not have_shared_cifar10(), reason="no prepared CIFAR-10 in ../shared/data/tfds")
def test_a_prepared_tfds_dataset_is_available_offline(recorder):
    assert suite.unavailable("cifar10", str(SHARED_TFDS)) is None
