"""The `followups` command (and `python -m followups`): stop signals are caught first
(followups.stopping), then the command line is imported and run."""

import sys

from followups import stopping


def main() -> None:
    stopping.catch(worker=sys.argv[1:2] == ["worker"])
    from followups.cli import main as run  # noqa: PLC0415 - after catch(): the imports take seconds

    run()


if __name__ == "__main__":
    main()
