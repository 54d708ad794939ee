"""``python -m pylender.cli``."""

from pylender.cli import main

main()
