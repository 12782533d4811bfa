"""`python -m authctl`, the same as the `authctl` console script."""

import sys

from authctl.cli import main

sys.exit(main())
