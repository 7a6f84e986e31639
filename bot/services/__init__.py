"""The use cases: list backups, watch destinations, poll, deliver, act on alerts, follow up.

Each takes domain objects and returns them (an outcome, a report, a message
as data), talking to the adapters below it: the Northflank client and the
store. What a surface shows is not decided here; the Slack adapter renders
the outcomes, and `chat.py` is the port it implements to post messages.
"""
