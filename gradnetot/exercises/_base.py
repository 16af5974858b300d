"""Shared pieces for exercise checks."""


class ExerciseCheckError(AssertionError):
    """An exercise answer is wrong; the message explains what to look at."""


def fail(message):
    raise ExerciseCheckError(message)
