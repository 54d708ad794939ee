"""``ape run demo``: the demo portfolio on an embedded anvil (a thin wrapper over ``pylender.scenarios.demo``)."""

from __future__ import annotations

import logging

from pylender.scenarios.demo import print_demo, run_demo


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    print_demo(run_demo())


if __name__ == "__main__":
    main()
