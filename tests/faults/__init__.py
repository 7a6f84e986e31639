"""Fault injection: the whole bot through hundreds of poll cycles of broken answers."""
