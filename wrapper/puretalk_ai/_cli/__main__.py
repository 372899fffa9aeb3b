"""`python -m puretalk_ai._cli` runs the CLI."""

import sys

from . import main

if __name__ == "__main__":
    sys.exit(main())
