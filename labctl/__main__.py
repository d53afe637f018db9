"""``python -m labctl``: the same command line as the ``labctl`` script."""

try:
    from labctl.cli import main
except KeyboardInterrupt:   # Ctrl-C while Python imports labctl: nothing started yet
    raise SystemExit(130) from None

main()
