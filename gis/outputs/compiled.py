"""The templates folium and branca compile, kept compiled between processes.

folium and branca define each map element with a jinja2 template written in their code
(``jinja2.Template(text)``) and compile it when the element's class is made or drawn: some 150
templates, ~0.25 s of the national map's ~0.9 s in a new ``gis run`` after a weight change (its
drawings and data being kept already, :mod:`gis.outputs.keep`). jinja2 keeps compiled code only
for templates it loads from files (its bytecode cache, which the report uses); these are made
from text.

:func:`install` replaces ``jinja2.Environment.compile`` in this process (the only place jinja2
offers to reach templates made from text, folium's own ``Environment`` included) with one that,
for a template made from text, takes its compiled code from ``$GIS_CACHE_DIR/compiled_templates``
when it was compiled before: Python's ``marshal`` of the code object jinja2 compiles (what
jinja2's own bytecode cache stores), keyed by the template's text and everything of the
environment the code depends on (:func:`code_key`), in a file for this jinja2 and this Python.
Templates loaded from files (the report's) are compiled as before. :func:`save` adds what was
compiled since. The page is the same either way; a missing, foreign or damaged file only means
compiling.
"""

from __future__ import annotations

import hashlib
import importlib.util
import marshal
import os
import sys
import tempfile
import threading
import types
from pathlib import Path

import jinja2

__all__ = ["code_key", "install", "kept_code_file", "save"]

_LOCK = threading.Lock()
_STATE: dict = {"code": None, "new": False, "used": set()}
"""The kept code by key (loaded on first use), whether this process compiled any since, and the
keys this process used (taken or compiled)."""

_SETTINGS = (
    "block_start_string",
    "block_end_string",
    "variable_start_string",
    "variable_end_string",
    "comment_start_string",
    "comment_end_string",
    "line_statement_prefix",
    "line_comment_prefix",
    "trim_blocks",
    "lstrip_blocks",
    "newline_sequence",
    "keep_trailing_newline",
    "optimized",
    "is_async",
)
"""The environment's settings the compiled code depends on, with more (:func:`code_key`)."""


def kept_code_file() -> Path:
    """The file of compiled templates for this jinja2 and Python, in ``$GIS_CACHE_DIR/compiled_templates``."""
    from gis.outputs.keep import kept_folder

    tag = f"{jinja2.__version__}|{sys.implementation.cache_tag}|{importlib.util.MAGIC_NUMBER.hex()}"
    name = hashlib.blake2b(tag.encode(), digest_size=8).hexdigest()
    return kept_folder("compiled_templates") / f"jinja-{name}.marshal"


def _kept() -> dict[str, bytes]:
    """The kept code by key, read from :func:`kept_code_file` once per process (empty when absent or unreadable)."""
    with _LOCK:
        if _STATE["code"] is None:
            code: dict[str, bytes] = {}
            try:
                loaded = marshal.loads(kept_code_file().read_bytes())
                if isinstance(loaded, dict):
                    code = {k: v for k, v in loaded.items() if isinstance(k, str) and isinstance(v, bytes)}
            except (OSError, EOFError, ValueError, TypeError):
                pass
            _STATE["code"] = code
        return _STATE["code"]


def code_key(env: jinja2.Environment, source: str, defer_init: bool = False) -> str:
    """Hex key of what jinja2's code for the text template ``source`` depends on in ``env``: the
    text and the environment's syntax, filters and tests (which are known at compile time, and
    how each is called), finalize, sandbox, extensions and code generator."""

    def named(value: object) -> str:
        if value is None or isinstance(value, bool | str | int):
            return repr(value)
        qualname = getattr(value, "__qualname__", type(value).__qualname__)
        return f"{getattr(value, '__module__', '')}.{qualname}:{getattr(value, 'jinja_pass_arg', None)}"

    parts = [named(type(env))]
    parts += [repr(getattr(env, setting, None)) for setting in _SETTINGS]
    parts += [named(env.autoescape), named(env.finalize), named(env.code_generator_class)]
    parts += [repr(sorted(env.extensions)), repr(sorted(getattr(env, "intercepted_binops", ())))]
    parts += [repr(sorted(getattr(env, "intercepted_unops", ()))), repr(getattr(env, "sandboxed", False))]
    parts += [repr(sorted((k, named(v)) for k, v in env.filters.items()))]
    parts += [repr(sorted((k, named(v)) for k, v in env.tests.items()))]
    parts += [repr(defer_init), source]
    return hashlib.blake2b("\0".join(parts).encode("utf-8"), digest_size=20).hexdigest()


_COMPILE = jinja2.Environment.compile
"""jinja2's own compile."""


def _kept_compile(
    self: jinja2.Environment,
    source: str | jinja2.nodes.Template,
    name: str | None = None,
    filename: str | None = None,
    raw: bool = False,
    defer_init: bool = False,
) -> str | types.CodeType:
    """jinja2's compile; the code of a template made from text (no name, no file: what
    ``Environment.from_string`` and ``jinja2.Template(text)`` compile) taken from the kept code."""
    if raw or not isinstance(source, str) or name is not None or filename is not None:
        return _COMPILE(self, source, name, filename, raw, defer_init)  # type: ignore[call-overload]
    key = code_key(self, source, defer_init)
    kept = _kept()
    data = kept.get(key)
    with _LOCK:
        _STATE["used"].add(key)
    if data is not None:
        try:
            code = marshal.loads(data)
        except (EOFError, ValueError, TypeError):
            code = None
        if isinstance(code, types.CodeType):
            return code
    code = _COMPILE(self, source, defer_init=defer_init)
    with _LOCK:
        kept[key] = marshal.dumps(code)
        _STATE["new"] = True
    return code


def install() -> None:
    """Compile the templates made from text in this process (folium's and branca's elements)
    through the kept code (:func:`_kept_compile` in place of ``jinja2.Environment.compile``);
    call before folium is imported. Templates jinja2 loads from files are left as they are."""
    jinja2.Environment.compile = _kept_compile  # type: ignore[method-assign,assignment]


def save() -> None:
    """When this process compiled templates, write the code of those it used (taken or compiled)
    to :func:`kept_code_file`, atomically: a map draws the same templates each time, and the few
    carrying one map's text are dropped at the next (so the file does not grow from run to run).
    A folder that cannot be written writes nothing."""
    with _LOCK:
        if not _STATE["new"] or _STATE["code"] is None:
            return
        code = _STATE["code"]
        data = marshal.dumps({key: code[key] for key in _STATE["used"] if key in code})
        _STATE["new"] = False
    target = kept_code_file()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except OSError:
        pass
