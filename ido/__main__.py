"""`python -m ido` runs the command line."""

from ido.cli import main

main()
