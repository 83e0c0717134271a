"""How: Ray Tune orchestration (``runners.search``), test evaluation of the best trial, and the results store."""

import os

# TensorFlow's C++ start-up chatter hides the progress lines; TF_CPP_MIN_LOG_LEVEL=0 brings it back.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
