"""The command line: parse, call the engine or a connector, render with Rich."""
