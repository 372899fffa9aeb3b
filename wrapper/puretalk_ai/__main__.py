"""``python -m puretalk_ai``: the ``puretalk-ai`` command line, where no script is on PATH."""

import sys

from ._cli import main

if __name__ == "__main__":
    sys.exit(main())
