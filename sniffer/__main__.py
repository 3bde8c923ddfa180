"""`python -m sniffer` entry point."""

from sniffer.cli import main

raise SystemExit(main())
