"""One module per command group; each command takes the parsed arguments and returns an Output."""
