"""The composition root: configuration, logging, metrics, health, the scheduler, the
server and the command line. The one place that knows every layer and wires a process
(`python -m bot run`, `list`, `check`, `db upgrade`) together from them.
"""
