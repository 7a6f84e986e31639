"""Crash tests: the bot as a real process, killed with SIGKILL at random moments."""
