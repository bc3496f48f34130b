"""The `clawling` command line, one module per command group (main.py lists them).
Nothing else imports it; only it and bot/app/ build the app."""
