"""Every Block Kit renderer: domain objects in, Slack messages out. Pure.

Each function here is a function of its inputs, the clock included: no I/O,
no store, no Northflank. Outside text (names from Northflank, what people
typed) is escaped for mrkdwn here and nowhere else (mrkdwn.py), and every
message is bounded by construction to fit Slack's limits
(../shared/reference/slack-platform.md: 50 blocks, 3000 characters a
section, 150 a header, and `msg_blocks_too_long` at about 13k in total).
"""
