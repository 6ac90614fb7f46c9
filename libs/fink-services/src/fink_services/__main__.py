"""`python -m fink_services up|status|down`."""

from fink_services.cli import main

__all__: list[str] = []

if __name__ == "__main__":
    raise SystemExit(main())
