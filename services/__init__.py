"""Business rules that more than one door uses (the API, the CLI, activities): each module owns one
rule and calls the repositories for its SQL. Services never commit: the request or activity that
calls them is the unit of work."""
