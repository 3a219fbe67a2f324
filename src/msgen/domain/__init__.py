"""A service's domain: entities with typed fields, parsed from ``msgen.yaml`` and the CLI."""
