"""One module per command: ``exabench.commands.<name>`` exposes ``command`` (a click command
or group). The CLI (:data:`exabench.cli.COMMANDS`) lists them and imports one only when it
runs, so a module imports the libraries it needs at its top. Modules starting with ``_`` hold
what several commands share."""
