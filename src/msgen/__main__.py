"""``python -m msgen``: the same as the ``msgen`` command."""

from msgen.cli import main

if __name__ == "__main__":
    main()
