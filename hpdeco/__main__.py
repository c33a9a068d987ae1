"""``python -m hpdeco``: the ``hpdeco`` command (see :mod:`hpdeco.cli`)."""

import sys

from hpdeco.cli import main

sys.exit(main())
