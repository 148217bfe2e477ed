"""Inspect tasks, one folder each: ``traitlab/evals/<name>/<name>.py`` holds the @task."""
