"""deploycheck's benchmark suite: run with ``python -m benchmarks`` (or ``tox -e bench``).

One module per benchmark, each exposing ``NAME``, ``TITLE`` and ``run(ctx) -> Section``
(see :mod:`benchmarks.harness`). Not part of the test run: speed goals live here, and
the tests only check that the harness computes and renders correctly.
"""

from __future__ import annotations

__all__ = ["BENCHMARKS"]

#: benchmark name -> module, in report order
BENCHMARKS: dict[str, str] = {
    "suite": "benchmarks.bench_suite",
    "verify": "benchmarks.bench_verify",
    "drift": "benchmarks.bench_drift",
    "sync": "benchmarks.bench_sync",
    "scale": "benchmarks.bench_scale",
    "sot": "benchmarks.bench_sot",
    "startup": "benchmarks.bench_startup",
    "gradual": "benchmarks.bench_gradual",
}
