"""Business rules that more than one door uses (the API, the CLI, the console, activities): each
module owns one rule, takes a session and calls the repositories for its SQL; routers and commands
parse, authorize, call a service and render. Services never commit: the request, command or
activity that calls them is the unit of work."""
