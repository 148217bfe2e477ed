"""Inspect tasks, one folder each: ``traitlab/evals/<name>/<name>.py`` holds the @task.

Each task is declared with `traitlab.evals.task` (Inspect's `@task`, with its `-T` arguments
checked against the signature when the task is built); `Count` and `Share` are the argument
types with range limits that several tasks use.
"""

from traitlab.evals._task import Count, Share, task

__all__ = ["Count", "Share", "task"]
