"""The charts adapter: a health report (bot.core.reports) drawn to PNG bytes.

Data in, bytes out, with matplotlib's Agg backend and its object-oriented API
(`Figure` and `FigureCanvasAgg`), never pyplot: pyplot keeps global state that
is not thread-safe, and reports are drawn in worker threads, two at once if
two people ask. It imports only the core; an import-linter layer holds it
beside the Northflank and store adapters.
"""
