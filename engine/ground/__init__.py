"""The ground floor: what every other part of the engine stands on, importing nothing above it.

The workspace's paths (`paths`), its database schema, migrations and transactions (`database`),
the clock and the user records are stamped with (`clock`), the workstation's settings
(`settings`), strict JSON (`strict_json`, for bundles and coefficient files alike), files that
appear whole or not at all (`fileio`), the machine's failures in words (`environment`), which
process owns what (`process_identity`), named fault-injection steps (`faults`) and the files
shipped beside the code (`shipped`).
"""
