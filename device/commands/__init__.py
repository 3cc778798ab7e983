"""One module per `digitkiosk` command: HELP, add_arguments(parser), run(args) -> exit status."""
