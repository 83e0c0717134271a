"""tfds names: a malformed name, or an unknown version, config or option, is a one-line error that says the fix.

No test here reads tfds data or reaches the network: the builders fail before anything is prepared.
"""

from __future__ import annotations

import pytest
import tensorflow_datasets as tfds

from benchmarks.datasets import load_dataset
from benchmarks.errors import UserError

CASES = {
    "cifar10:99.9.9": r"tfds dataset 'cifar10' has no version 99\.9\.9; it has 3\.0\.2: write cifar10 for the latest or cifar10:3\.0\.2",
    "my/ds:1.2/x=1": r"'my/ds:1\.2/x=1' is not a tensorflow-datasets name: write dataset\[/config\]\[:x\.y\.z\], e\.g\. cifar10",
    "cifar10:": r"'cifar10:' is not a tensorflow-datasets name",
    "cifar10:abc": r"'cifar10:abc' has a version that is not x\.y\.z: write dataset",
    "cifar10/plain_text": r"tfds dataset 'cifar10' has no config 'plain_text'; it has none: write cifar10$",
    "cifar10/x=1": r"tfds dataset 'cifar10' does not take the option\(s\) x given in 'cifar10/x=1'",
    "CIFAR10": r"unknown dataset 'CIFAR10'.*did you mean cifar10",
}


@pytest.fixture
def no_community_lists(monkeypatch):
    """Fail any look-up of tfds's community datasets: their list is on the network."""
    original = tfds.list_builders

    def local_only(*args, with_community_datasets=True, **kwargs):
        assert not with_community_datasets, "listing community datasets would reach the network"
        return original(*args, with_community_datasets=False, **kwargs)

    monkeypatch.setattr(tfds, "list_builders", local_only)


@pytest.mark.parametrize("name", list(CASES))
def test_bad_tfds_names_are_one_line_errors_with_the_fix(name, no_community_lists):
    with pytest.raises(UserError, match=CASES[name]) as caught:
        load_dataset(name)
    assert "\n" not in str(caught.value)


def test_a_config_that_does_not_exist_names_the_ones_that_do(no_community_lists):
    with pytest.raises(UserError, match=r"has no config 'nope'; its configs are .*: write [a-z_0-9]+/"):
        load_dataset("imagenet2012_corrupted/nope")


def test_a_good_version_still_loads():
    with tfds.testing.mock_data(num_examples=60):
        data = load_dataset("cifar10:3.0.2", validation_fraction=0.2)
    assert data.num_classes == 10 and len(data.validation) == 12
