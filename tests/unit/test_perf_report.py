"""The benchmark's results file: each item rewrites its own section and keeps everything else."""

from __future__ import annotations

from perf.report import Row, Section, render, update_results


def _section(key: str, value: str) -> Section:
    return Section(key, f"title {key}", f"python -m perf --only {key}", "setup",
                   [Row("ratio", value, ">= 0.95", value >= "0.95")], machine="cpu", date="today")


def test_a_section_is_replaced_in_place_and_other_sections_are_kept(tmp_path):
    path = tmp_path / "RESULTS.md"
    path.write_text("# Performance results\n\nintro\n\n## Memory over trials\n\nwritten by another tool\n")
    update_results([_section("cache", "0.50"), _section("pipeline", "0.90")], path)
    update_results([_section("pipeline", "0.99")], path)
    text = path.read_text()
    assert "## Memory over trials\n\nwritten by another tool" in text
    assert text.count("<!-- perf:pipeline:start -->") == 1 and "0.90" not in text and "| ratio | 0.99 |" in text
    assert text.index("perf:pipeline:start") < text.index("perf:cache:start")  # benchmark order, whatever the call order
    assert "| ratio | 0.50 | >= 0.95 | NOT met |" in text


def test_a_section_names_its_command_machine_and_date():
    text = render(_section("asha", "1.00"))
    assert "Command: `python -m perf --only asha`" in text
    assert "Machine: cpu" in text and "Date: today" in text


def test_the_cache_item_runs_and_the_cached_head_matches_the_full_model(tmp_path):
    # Not a timing test: the speed figures are whatever this machine gives; the accuracies must agree.
    from helpers import run_cli

    out = tmp_path / "RESULTS.md"
    result = run_cli("perf", "--quick", "--only", "cache", "--workdir", str(tmp_path / "work"),
                     "--out", str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    text = out.read_text()
    assert "## 3. Frozen-backbone feature caching" in text and "Command: `python -m perf --quick" in text
    row = next(line for line in text.splitlines() if line.startswith("| validation accuracy per epoch"))
    assert row.endswith("| equal | met |"), row


def test_an_unknown_item_is_a_one_line_error(tmp_path):
    from helpers import run_cli

    result = run_cli("perf", "--only", "pipline", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == "error: unknown item(s) pipline; choose from pipeline, harness, cache, asha, e2e, gpu, time-to-accuracy"
    result = run_cli("perf", "--only", "harness", "--harness-scales", "short,tiny", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == "error: unknown --harness-scales tiny; choose from short, small"


def test_the_gpu_item_measures_every_variant_once_and_goes_on_where_it_stopped(tmp_path, monkeypatch):
    # On this CPU, through the same code a GPU node runs: only that it measures, reports and resumes is checked.
    import keras

    from perf import gpu_bench

    raw = tmp_path / "gpu.json"
    section, results = gpu_bench.run(models=["custom_cnn"], image_size=16, batch_size=4, steps=2, epochs=2,
                                     eval_batches=(4, 8), raw=raw, command="cmd", log=lambda line: None)
    variants = [v for v in gpu_bench.VARIANTS if keras.backend.backend() == "tensorflow" or not v.tensorflow_only]
    assert set(results) == {f"custom_cnn/{v.key}" for v in variants} | {"custom_cnn/eval"}
    trained = [r for key, r in results.items() if key != "custom_cnn/eval"]
    assert all(r["images_per_second"] > 0 and len(r["epoch_seconds"]) == 2 for r in trained)
    assert set(results["custom_cnn/eval"]) == {"eval_images_per_second_4", "eval_images_per_second_8"}
    measures = [row.measure for row in section.rows]
    assert "custom CNN: mixed float16 / float32, training" in measures
    assert "custom CNN: evaluation, img/s at batch 4 / 8" in measures
    assert section.key == "gpu" and "Keras" in section.setup

    def not_again(*args, **kwargs):
        raise AssertionError("measured again")

    monkeypatch.setattr(gpu_bench, "measure", not_again)
    monkeypatch.setattr(gpu_bench, "measure_evaluation", not_again)
    _, again = gpu_bench.run(models=["custom_cnn"], image_size=16, batch_size=4, steps=2, epochs=2,
                             eval_batches=(4, 8), raw=raw, log=lambda line: None)
    assert again == results


def test_the_gpu_item_without_a_gpu_or_with_an_unknown_model_is_one_line(tmp_path):
    from helpers import run_cli

    for args, message in ((["--only", "gpu"], "error: the gpu item needs a GPU"),
                          (["--only", "gpu", "--gpu-models", "vgg"], "error: unknown --gpu-models vgg")):
        result = run_cli("perf", *args, "--workdir", str(tmp_path / "work"), cwd=tmp_path)
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 2 and len(lines) == 1 and lines[0].startswith(message), result.stderr


def test_the_plain_loop_gets_the_configurations_in_the_order_the_search_started_them():
    from perf.search_bench import in_start_order

    trials = [  # as read back from the database: trial ids are random, start times are not
        {"trial_id": "4bddd1fe", "started_at": "2026-11-23 06:36:52.896303", "config": {"n": 2}},
        {"trial_id": "51ed0ff2", "started_at": "2026-11-23 06:41:11.323448", "config": {"n": 4}},
        {"trial_id": "7371ec59", "started_at": "2026-11-23 06:36:52.862358", "config": {"n": 1}},
        {"trial_id": "73759f55", "started_at": "2026-11-23 06:39:33.633731", "config": {"n": 3}},
    ]
    assert [c["n"] for c in in_start_order(trials)] == [1, 2, 3, 4]
