"""The fault suite: the service and the CLI under faults and hostile input, each test printing
the figures docs/reliability.md quotes (run with `-s` to see them)."""
