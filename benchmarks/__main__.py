"""``python -m benchmarks NAME [options]``: run one benchmark; with no name, list them."""

import sys

from benchmarks._common import main

sys.exit(main())
