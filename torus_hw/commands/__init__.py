"""CLI subcommands, one module per stage of the pipeline.

Each module has ``register(subparsers)``; heavy imports happen inside the
command functions, never at module level.
"""
