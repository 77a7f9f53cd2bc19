"""Compile each Jinja template once per run, not once per task and host.

Ansible renders a task's templates in a worker process it forks for that task on that
host, and Jinja compiles a template (parse, generate Python, compile it) each time it is
rendered: a worker's compiled templates die with the worker, so a no-op ``site.yml``
compiled the same few hundred templates again for every host (docs/performance.md, round
fourteen). This callback keeps each compiled template's code in the run's private
temporary directory (Ansible's ``ansible-local-*`` directory of ansible-playbook's process,
removed when the run ends), keyed by everything that decides the compiled code: the
template's text, its name and file, whether it is a template or an expression, the
environment's syntax settings and Ansible's compile-time options. A worker then loads the
code another worker compiled instead of compiling it again; workers that need the same new
template at once (one task on many hosts) wait for the one that compiles it (a lock file
beside the code).

It changes nothing a task does or reports and prints nothing. If the cache cannot be used
(a read or write fails, Ansible or Jinja changed the methods it wraps), the template is
compiled as without it. pi-k8s's ansible.cfg enables it (``callbacks_enabled``).
"""

from __future__ import annotations

import contextvars
import fcntl
import hashlib
import importlib.util
import marshal
import os
import sys
import tempfile
import types
from collections.abc import Callable

from ansible import constants as C
from ansible.plugins.callback import CallbackBase
from ansible.utils.display import Display

DOCUMENTATION = r"""
name: template_cache
type: aggregate
short_description: Compile each Jinja template once per run, not once per task and host
description:
  - Before the first play, makes Ansible's Jinja environment keep the code of each template
    and expression it compiles in the run's private temporary directory
    (C(DEFAULT_LOCAL_TMP), removed when the run ends), so that the worker process forked
    for each task on each host loads it instead of compiling the template again.
  - The cache key is the template's text, name and file, whether it is an expression, the
    environment's syntax settings and Ansible's compile-time options, with the versions of
    Python, Jinja and ansible-core.
  - Changes nothing a task does or reports, and prints nothing. Where the cache cannot be
    used, templates are compiled as without it.
requirements:
  - enable it with C(callbacks_enabled = pik8s.cluster.template_cache) in ansible.cfg
"""

display = Display()

# The key of the expression being compiled (compile_expression hands Jinja's compile a
# parsed tree, not the text the key is made of).
_EXPRESSION_KEY: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "pik8s_template_cache_expression", default=None
)


class CodeCache:
    """Compiled template code by key: in this process's memory, then in ``directory``."""

    def __init__(self, directory: str, salt: str) -> None:
        self.directory = directory
        self.salt = salt
        self.memory: dict[str, types.CodeType] = {}
        self.loaded = 0  # from the directory: another process compiled it
        self.compiled = 0  # not in the cache: compiled here

    def key(self, *parts: object) -> str:
        return hashlib.sha256(repr((self.salt, parts)).encode()).hexdigest()

    def get(self, key: str) -> types.CodeType | None:
        """The code kept for ``key``, or None."""
        code = self.memory.get(key)
        if code is None:
            try:
                with open(os.path.join(self.directory, key), "rb") as file:
                    code = marshal.load(file)
            except (OSError, EOFError, ValueError, TypeError):
                code = None
            if not isinstance(code, types.CodeType):
                return None
            self.memory[key] = code
            self.loaded += 1
        return code

    def get_or_compile(self, key: str, compile_code: Callable[[], object]) -> object:
        """The code kept for ``key``, else ``compile_code()``, kept. One process compiles a
        key at a time: the workers Ansible starts for one task on many hosts at once would
        otherwise each compile the same new template. The others wait (no CPU) and load it."""
        code = self.get(key)
        if code is not None:
            return code
        try:
            lock = os.open(
                os.path.join(self.directory, key + ".lock"), os.O_RDWR | os.O_CREAT, 0o600
            )
        except OSError:
            lock = None
        try:
            if lock is not None:
                fcntl.flock(lock, fcntl.LOCK_EX)
                code = self.get(key)  # compiled while this process waited
            if code is None:
                code = compile_code()
                self.compiled += 1
                self.put(key, code)
            return code
        finally:
            if lock is not None:
                os.close(lock)  # releases the lock

    def put(self, key: str, code: object) -> None:
        if not isinstance(code, types.CodeType):
            return
        self.memory[key] = code
        try:
            handle, temp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-")
            try:
                with os.fdopen(handle, "wb") as file:
                    marshal.dump(code, file)
                os.replace(temp, os.path.join(self.directory, key))
            except BaseException:
                os.unlink(temp)
                raise
        except (OSError, ValueError):
            pass  # this worker keeps it in memory; another compiles it again


def _salt() -> str:
    import jinja2  # pylint: disable=import-outside-toplevel
    from ansible import release  # pylint: disable=import-outside-toplevel

    return repr((sys.version, importlib.util.MAGIC_NUMBER, jinja2.__version__, release.__version__))


def install(directory: str) -> CodeCache:
    """Wrap AnsibleEnvironment's compile and compile_expression with a cache in ``directory``."""
    # pylint: disable=import-outside-toplevel,protected-access
    from ansible._internal._templating import _jinja_bits
    from jinja2.environment import TemplateExpression

    env_class = _jinja_bits.AnsibleEnvironment
    if getattr(env_class, "_pik8s_template_cache", None) is not None:
        return env_class._pik8s_template_cache
    fields = _jinja_bits._TEMPLATE_OVERRIDE_FIELD_NAMES
    compile_context = _jinja_bits._TemplateCompileContext
    config = _jinja_bits._TemplateConfig
    original_compile = env_class.compile
    original_expression = env_class.compile_expression
    cache = CodeCache(directory, _salt())

    def settings(env: object) -> tuple:
        context = compile_context.current(optional=True)
        return (
            type(env).__qualname__,
            tuple(getattr(env, name) for name in fields),
            context.escape_backslashes if context else None,
            bool(config.allow_embedded_templates),
            tuple(sorted(env.extensions)),
            env.optimized,
            env.is_async,
            repr(env.autoescape),
            env.code_generator_class.__qualname__,
        )

    def compile(self, source, name=None, filename=None, raw=False, defer_init=False):
        if raw or self._debuggable_template_source:
            return original_compile(self, source, name, filename, raw, defer_init)
        if isinstance(source, str):
            key = cache.key("template", source, name, filename, defer_init, settings(self))
        else:
            key = _EXPRESSION_KEY.get()
            _EXPRESSION_KEY.set(None)  # the expression's one tree; anything nested is not it
        if not key:
            return original_compile(self, source, name, filename, raw, defer_init)
        return cache.get_or_compile(
            key, lambda: original_compile(self, source, name, filename, raw, defer_init)
        )

    def compile_expression(self, source, undefined_to_none=True):
        if self._debuggable_template_source or not isinstance(source, str):
            return original_expression(self, source, undefined_to_none)
        key = cache.key("expression", source, settings(self))
        code = cache.get(key)
        if code is None:
            token = _EXPRESSION_KEY.set(key)
            try:
                return original_expression(self, source, undefined_to_none)
            finally:
                _EXPRESSION_KEY.reset(token)
        template = self.template_class.from_code(self, code, self.make_globals(None), None)
        return TemplateExpression(template, undefined_to_none)

    env_class.compile = compile
    env_class.compile_expression = compile_expression
    env_class._pik8s_template_cache = cache
    return cache


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "pik8s.cluster.template_cache"
    CALLBACK_NEEDS_ENABLED = True

    def v2_playbook_on_start(self, playbook: object) -> None:
        try:
            directory = os.path.join(C.DEFAULT_LOCAL_TMP, "pik8s-templates")
            os.makedirs(directory, mode=0o700, exist_ok=True)
            install(directory)
        except Exception as exc:  # an optimisation must never fail a run
            display.vvv(f"pik8s.cluster.template_cache: templates compile as usual ({exc})")
