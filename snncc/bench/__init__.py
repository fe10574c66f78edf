"""``snncc bench``: workload suites × chips × mappers × seeds, run here or on a Dask cluster.

:mod:`~snncc.bench.suites` defines the suites and their tasks, :mod:`~snncc.bench.runner` runs
them into flat rows, :mod:`~snncc.bench.results` writes CSV/JSON, a Markdown summary and plots,
and :mod:`~snncc.bench.claims` sets the seed papers' claims beside what was measured.
"""

from snncc.bench.runner import run_task, run_tasks
from snncc.bench.suites import SUITES, Suite, Task

__all__ = ["SUITES", "Suite", "Task", "run_task", "run_tasks"]
