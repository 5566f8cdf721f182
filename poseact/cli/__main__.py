"""`python -m poseact.cli`: the `poseact` command."""

import sys

from poseact.cli import main

sys.exit(main())
