"""`python -m bot.cli` runs the `clawling` command line."""

from bot.cli.main import main

main()
