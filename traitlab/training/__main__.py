"""`python -m traitlab.training MODE --config CONFIG.yaml`: the `traitlab train` command as a
module, for launchers that take one (`accelerate launch -m traitlab.training sft --config ...`)."""

import sys

from traitlab.cli import main

if __name__ == "__main__":
    sys.argv[1:1] = ["train"]
    main()
