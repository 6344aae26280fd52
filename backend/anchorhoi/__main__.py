"""``python -m anchorhoi`` — the backend's command line (see ``anchorhoi.cli``)."""

from .cli.main import main

if __name__ == "__main__":
    raise SystemExit(main())
