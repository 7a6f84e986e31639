"""The Northflank adapter: the official SDK over one pooled httpx client with a retrying,
rate-limit-aware transport. Every response becomes a domain object (bot.core.backups)
or one of our own errors (errors.py), never an SDK type.
"""
