"""Inspect entry point: importing it registers the scripted provider, the sandbox, every task.

Each eval lives in ``traitlab/evals/<name>/<name>.py``; `traitlab.evals.discover` finds them, so
adding an eval needs no edit to this file.
"""

import traitlab.sandbox  # noqa: F401  (registers the `bwrap` sandbox)
from traitlab import evals
from traitlab.models import scripted  # noqa: F401  (registers the `scripted` provider)

evals.discover()
