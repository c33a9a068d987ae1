"""``python -m hpdeco.cli``: the ``hpdeco`` command, as ``python -m hpdeco`` runs it."""

import sys

from hpdeco.cli import main

sys.exit(main())
