"""Subcommands: one module per `sniffer` subcommand, each with add_parser(sub) and run(args)."""
