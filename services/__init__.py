"""Business rules that more than one door uses (the API, the CLI, the console): each module takes
a session, applies the rules and returns plain results; routers and commands parse, authorize,
call a service and render. Services never commit: the request or command is the unit of work."""
