"""``python -m mock_tfds N MODULE ARGS...``: run a CLI (``runners.search``) with tensorflow-datasets mocked.

Inside ``tfds.testing.mock_data(num_examples=N)`` every tfds dataset has N random examples per split, built
from its features, with no download. The driver reads them and ships them to the trials through Ray's object
store, so a search on ``oxford_flowers102`` runs end to end through the real CLI with no data.
"""

import runpy
import sys

import tensorflow_datasets as tfds

if __name__ == "__main__":
    examples, module, *args = sys.argv[1:]
    sys.argv = [module, *args]
    with tfds.testing.mock_data(num_examples=int(examples)):
        runpy.run_module(module, run_name="__main__", alter_sys=True)
