"""Import Mesa's core without the parts a run never touches (about 1-2 s of start-up saved).

``import mesa`` runs ``mesa/__init__.py``, which imports every Mesa feature: spaces (networkx),
the continuous space (scipy.spatial), ``batch_run`` (tqdm, multiprocessing), ``DataCollector``
(pandas) and more. A run needs only ``mesa.Agent``, ``mesa.Model`` and
``mesa.experimental.devs``. :func:`defer_mesa_init` registers ``mesa`` and ``mesa.experimental``
as package shells whose ``__init__`` runs on first attribute access: ``from mesa.model import
Model``, ``mesa.Agent`` and ``mesa.Model`` load just their submodules, while ``mesa.space``,
``mesa.DataCollector``, ``mesa.__version__`` (any name the shell lacks) run the real ``__init__``
in full, so every user of Mesa sees the same package as before.

Mesa's own modules also name their loggers by walking the call stack (``mesa.mesa_logging``:
``inspect.stack()`` in ``create_module_logger()``, ``inspect.getouterframes`` in ``method_logger``),
which reads the source file of every frame on the stack: 60-130 ms when ``mesa.model`` is first
imported deep inside other imports, and ``inspect.getmodule`` then resolves the path of every
loaded module. While this module runs Mesa code (a light submodule or the deferred ``__init__``),
those functions return the same frames without source lines and a frame's module by its name
(:func:`_cheap_stack_inspection`): the same logger names, in well under a millisecond.
"""

from __future__ import annotations

import contextlib
import importlib.util
import inspect
import sys
import types
from collections.abc import Iterator

__all__ = ["defer_mesa_init"]

_PACKAGES = ("mesa", "mesa.experimental")
#: Names served from their own submodule without running the package's ``__init__``.
_LIGHT = {("mesa", "Agent"): "mesa.agent", ("mesa", "Model"): "mesa.model"}
_PUBLIC_DUNDERS = frozenset({"__all__", "__version__", "__title__", "__license__", "__copyright__"})


def _frames_without_source(frame: types.FrameType | None) -> list[inspect.FrameInfo]:
    """``inspect.getouterframes(frame, context=0)`` without its file look-ups (no source lines)."""
    frames = []
    while frame is not None:
        code = frame.f_code
        frames.append(inspect.FrameInfo(frame, code.co_filename, frame.f_lineno, code.co_name, None, None))
        frame = frame.f_back
    return frames


@contextlib.contextmanager
def _cheap_stack_inspection() -> Iterator[None]:
    """Make Mesa's logger set-up cheap within the block.

    ``inspect.stack`` and ``inspect.getouterframes`` skip reading source files, and
    ``inspect.getmodule(frame)`` is the frame's module by name (no scan of every module's file).
    """
    saved = inspect.stack, inspect.getouterframes, inspect.getmodule
    getmodule = inspect.getmodule

    def module_of(obj: object, _filename: str | None = None) -> types.ModuleType | None:
        if isinstance(obj, types.FrameType):
            module = sys.modules.get(obj.f_globals.get("__name__", ""))
            if module is not None:
                return module
        return getmodule(obj, _filename)

    inspect.stack = lambda context=1: _frames_without_source(sys._getframe(1))  # type: ignore[assignment]
    inspect.getouterframes = lambda frame, context=1: _frames_without_source(frame)  # type: ignore[assignment]
    inspect.getmodule = module_of  # type: ignore[assignment]
    try:
        yield
    finally:
        inspect.stack, inspect.getouterframes, inspect.getmodule = saved


class _DeferredPackage(types.ModuleType):
    """A package whose ``__init__`` code runs when a name it does not hold yet is first read."""

    def __getattr__(self, name: str) -> object:
        light = _LIGHT.get((self.__name__, name))
        if light is not None:
            with _cheap_stack_inspection():
                value = getattr(importlib.import_module(light), name)
            self.__dict__[name] = value
            return value
        spec = self.__dict__.get("__spec__")
        dunder = name.startswith("__") and name not in _PUBLIC_DUNDERS
        if dunder or spec is None or self.__dict__.get("_deferred_done", False):
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")
        self.__dict__["_deferred_done"] = True
        with _cheap_stack_inspection():
            spec.loader.exec_module(self)  # the real __init__, once, into this very module object
        return getattr(self, name)


def defer_mesa_init() -> None:
    """Register ``mesa`` and ``mesa.experimental`` as deferred packages (no-op if already imported)."""
    for name in _PACKAGES:
        if name in sys.modules:
            return
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None or spec.submodule_search_locations is None:
            return
        module = _DeferredPackage(name)
        module.__spec__ = spec
        module.__file__ = spec.origin
        module.__path__ = list(spec.submodule_search_locations)
        module.__package__ = name
        module.__loader__ = spec.loader
        sys.modules[name] = module
        parent, _, child = name.rpartition(".")
        if parent:
            sys.modules[parent].__dict__[child] = module
