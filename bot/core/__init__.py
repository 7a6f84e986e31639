"""The pure core: what a backup, a watch and an alert are, and every decision about them.

Functions of their inputs (a clock is passed in): no I/O, no database, no
HTTP, no Slack, so most of the logic is tested without any of them. Nothing
here imports another package of bot/ or an I/O library.
"""
