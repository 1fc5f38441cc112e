"""Start the Command Center desktop application: ``python main.py [--wall] [--screen N]``."""

import sys

from commandcenter.cli import main

if __name__ == "__main__":
    raise SystemExit(main(["gui", *sys.argv[1:]]))
