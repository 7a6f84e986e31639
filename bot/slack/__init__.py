"""The Slack adapter: the only package that speaks Slack.

`app.py` builds the Bolt app; `listeners/` ack each request and delegate to
`answers.py` and the services; `render/` turns domain objects into Block Kit;
`sender.py` posts and edits channel messages for delivery (the port in
bot/services/chat.py); `responder.py` answers through response_url.
"""
