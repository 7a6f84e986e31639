"""`python -m bot`: the command line (bot/runtime/cli.py)."""

import sys

from bot.runtime.cli import main

if __name__ == "__main__":
    sys.exit(main())
