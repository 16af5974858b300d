"""Auto-checks for the book's exercises: ``gn.exercises.check_*``.

Each check runs a student's answer against the package's reference and
returns ``True`` or raises :class:`ExerciseCheckError` with a message that says
what is wrong and how to look for the mistake (never a bare assertion).
One module per chapter; everything public is re-exported here.
"""
import importlib
import pkgutil

from ._base import ExerciseCheckError

__all__ = ["ExerciseCheckError"]
for _info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
    if _info.name.startswith("ch"):
        _mod = importlib.import_module(f"{__name__}.{_info.name}")
        for _name in getattr(_mod, "__all__", []):
            globals()[_name] = getattr(_mod, _name)
            __all__.append(_name)
