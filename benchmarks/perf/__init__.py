"""The performance benchmark: ``python -m benchmarks.perf`` measures trial speed as ratios taken in one run.

Items: ``pipeline`` (input pipeline against the same batches in memory), ``harness`` (``runners.search``
against a plain Keras loop), ``cache`` (frozen-backbone feature caching), ``asha`` (ASHA against FIFO),
``e2e`` (a whole search on CIFAR-10, custom CNN and backbones side by side). Each prints a table and
rewrites its own section of ``benchmarks/RESULTS.md``.
"""
