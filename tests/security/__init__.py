"""Security tests: fuzzing, signatures, inert names, destination ids, admins, limits."""
