"""`python -m ido` runs the command line (how `ido run --processes` starts its workers)."""

try:
    from ido.cli import main

    main()
except KeyboardInterrupt:  # before the command took over (while importing): no traceback
    raise SystemExit(130) from None
