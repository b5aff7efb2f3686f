"""The `collect` command line."""
