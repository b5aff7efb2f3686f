"""The strategy language: YAML strategies (the *.yaml files beside this package) and the code that
loads, checks and compiles them into a `domain.strategy.CompiledStrategy`."""
