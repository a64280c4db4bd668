"""The command line: ``python main.py COMMAND ...`` (see ``app.cli.main``)."""
