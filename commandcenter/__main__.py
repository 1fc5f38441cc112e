"""``python -m commandcenter`` runs the command-line interface."""

from commandcenter.cli import main

raise SystemExit(main())
