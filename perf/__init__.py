"""The performance benchmark: ``python -m perf`` measures trial speed as ratios taken in one run.

Items: ``pipeline`` (input pipeline against the same batches in memory), ``harness`` (``runners.search``
against a plain Keras loop), ``cache`` (frozen-backbone feature caching), ``asha`` (ASHA against FIFO),
``e2e`` (a whole search on CIFAR-10, custom CNN and backbones side by side), ``gpu`` (trial settings on a
GPU node) and ``time-to-accuracy`` (the custom CNN's search at CIFAR-10's own 32 px against 96 px, by name:
two whole searches, ``--tta-samples`` runs it shorter). Each prints a table and
rewrites its own section of ``benchmarks/RESULTS.md``. ``python -m perf.memory_over_trials``
measures host memory over a long search (its own section there).

Unlike the ML core (the rest of ``benchmarks/``, ``search_spaces/``), which never imports ``runners`` or this
package, the speed tooling may import ``runners``: it times the real search.
"""
