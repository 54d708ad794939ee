"""``ape run demo``: the demo portfolio on an embedded anvil (a thin wrapper over ``pylender.scenarios.demo``)."""

from __future__ import annotations

import logging

from pylender.cli.reports import print_demo
from pylender.scenarios.demo import run_demo


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    print_demo(run_demo())


if __name__ == "__main__":
    main()
