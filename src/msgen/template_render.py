"""A copier-compatible renderer for msgen's own templates, in memory.

``msgen update`` after a domain-only change (``msgen add field``) needs the template's files
rendered twice, with the answers before and after the change, and nothing else of copier's
update machinery. This module renders them without copier, the way ``copier copy`` does:

- the questions of ``copier.yml``; an answer given is cast to its question's type, a question
  not answered gets its default (rendered when it is a string, then cast);
- a Jinja sandbox over the template's root with copier's default extension (the Ansible core
  filters: ``to_nice_yaml``, ``regex_search``...) and the template's ``_envops``
  (``keep_trailing_newline`` on unless they say otherwise);
- every file under ``_subdirectory``: each path segment rendered as a template, a segment
  rendered empty drops the file, names ending in ``_templates_suffix`` are rendered and lose
  the suffix (a plain sibling of a templated file is skipped), other files are copied;
- the answers file rendered with ``_copier_answers`` (``_src_path``, then every non-secret
  answer of a question that is asked).

It covers the settings msgen's templates use and nothing more: :func:`load_template` returns
None for a template with any other setting (tasks, migrations, exclusions, extensions,
symlinks...), and the caller then lets copier do the work. The test suite compares its output
with ``copier copy`` byte for byte.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jinja2
    from jinja2 import BytecodeCache, Environment
    from jinja2.bccache import Bucket

__all__ = ["Template", "TemplateFile", "load_template"]

_SUPPORTED_SETTINGS = frozenset(
    {"_min_copier_version", "_subdirectory", "_templates_suffix", "_answers_file", "_envops"}
)
_SUPPORTED_TYPES = frozenset({"str", "int", "float", "bool", "yaml", "json"})
_EXTENSIONS = ("jinja2_ansible_filters.AnsibleCoreFiltersExtension",)


def _to_bool(value: Any) -> bool:
    """copier's ``cast_to_bool``: a number, a YAML boolean or null word, else ``bool()``."""
    try:
        return bool(float(value))
    except (TypeError, ValueError):
        pass
    if isinstance(value, str):
        lower = value.strip().lower()
        if lower in {"", "n", "no", "f", "false", "off", "~", "null", "none"}:
            return False
        if lower in {"y", "yes", "t", "true", "on"}:
            return True
    return bool(value)


def _to_str(value: Any) -> Any:
    """copier's ``cast_to_str``: numbers become their text, bytes are decoded."""
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return value.decode()
    return value


def _cast(type_name: str, value: Any) -> Any:
    """An answer cast to its question's type, as copier casts it."""
    import json

    import yaml

    if type_name in {"yaml", "json"}:
        if not isinstance(value, str):
            return value  # already data (copier keeps it as it is)
        return yaml.safe_load(value) if type_name == "yaml" else json.loads(value)
    casts: dict[str, Callable[[Any], Any]] = {
        "bool": _to_bool,
        "int": int,
        "float": float,
        "str": _to_str,
    }
    return casts[type_name](value)


_SEGMENT = "\0segment:"
"""Template names for path segments: the source follows the prefix."""


def _loader(root: Path) -> jinja2.BaseLoader:
    """copier's loader (the template's root), which also serves path segments by name."""
    from jinja2 import BaseLoader, FileSystemLoader

    files = FileSystemLoader([str(root)])

    class Loader(BaseLoader):
        def get_source(
            self, environment: Environment, template: str
        ) -> tuple[str, str | None, Callable[[], bool] | None]:
            if template.startswith(_SEGMENT):
                return template.removeprefix(_SEGMENT), None, lambda: True
            return files.get_source(environment, template)

    return Loader()


def _bytecode_cache(envops: Mapping[str, Any]) -> BytecodeCache | None:
    """Compiled templates kept between runs (``~/.cache/msgen/jinja-*``), when writable.

    Compiling the domain's templates costs more than rendering them. Jinja checks each
    cached entry against its source's digest; the directory's name digests what else shapes
    the compiled code (Jinja's version, the environment's options), so no entry is reused
    across them. Entries are written to a temporary name and renamed.
    """
    import hashlib
    import json

    import jinja2
    from jinja2 import FileSystemBytecodeCache

    class QuietCache(FileSystemBytecodeCache):
        """A cache that never fails a render: an entry it cannot read or write is skipped."""

        def load_bytecode(self, bucket: Bucket) -> None:
            with contextlib.suppress(OSError):
                super().load_bytecode(bucket)

        def dump_bytecode(self, bucket: Bucket) -> None:
            with contextlib.suppress(OSError):
                super().dump_bytecode(bucket)

    try:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    except RuntimeError:  # no home directory
        return None
    key = json.dumps(
        [jinja2.__version__, sys.version, "sandbox", _EXTENSIONS, sorted(envops.items())],
        default=str,
    )
    directory = Path(base) / "msgen" / f"jinja-{hashlib.sha256(key.encode()).hexdigest()[:16]}"
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    if not os.access(directory, os.W_OK):
        return None
    return QuietCache(str(directory))


def _to_nice_yaml(value: Any, indent: int = 4, *args: Any, **kw: Any) -> str:
    """The Ansible filter ``to_nice_yaml`` with libyaml's emitter: the same text, faster.

    The filter calls ``yaml.dump`` (the pure Python ``yaml.Dumper``); ``yaml.CDumper`` has
    the same representers and emits the same text (a test compares the answers file with
    copier's), in a third of the time: the answers of a big domain are 100 KB of YAML.
    """
    import yaml

    text = yaml.dump(
        value,
        Dumper=yaml.CDumper,
        indent=indent,
        allow_unicode=True,
        default_flow_style=False,
        **kw,
    )
    return str(text)


@dataclass(frozen=True, slots=True)
class TemplateFile:
    """One file of the template: where it comes from, and whether Jinja renders it."""

    source: str
    """Path relative to the template's root (the loader's root)."""
    parts: tuple[str, ...]
    """The destination path's segments, still templates (suffix removed)."""
    templated: bool


@dataclass(slots=True)
class Template:
    """A template directory msgen can render without copier."""

    root: Path
    subdirectory: str
    suffix: str
    answers_file: str
    envops: dict[str, Any]
    questions: dict[str, dict[str, Any]]
    files: tuple[TemplateFile, ...]
    _env: Environment | None = field(default=None, repr=False)
    _segments: dict[str, jinja2.Template] = field(default_factory=dict, repr=False)

    @property
    def env(self) -> Environment:
        """The Jinja sandbox copier would render this template with (built once)."""
        if self._env is None:
            from jinja2.sandbox import SandboxedEnvironment

            self._env = SandboxedEnvironment(
                loader=_loader(self.root),
                extensions=list(_EXTENSIONS),
                bytecode_cache=_bytecode_cache(self.envops),
                **self.envops,
            )
            import yaml

            if getattr(yaml, "__with_libyaml__", False):
                self._env.filters["to_nice_yaml"] = _to_nice_yaml
        return self._env

    def remembered(self) -> tuple[str, ...]:
        """The questions whose answers go into the answers file."""
        return tuple(
            name
            for name, question in self.questions.items()
            if question.get("when", True) is not False and not question.get("secret")
        )

    def context(
        self, answers: Mapping[str, Any], *, src_path: str, dst_name: str, check: bool = False
    ) -> dict[str, Any]:
        """The render context of ``answers`` (the recorded ones, or the new ones).

        ``check``: refuse the answers copier would refuse first (see :meth:`_values`).
        """
        values = self._values(answers, check=check)
        remembered: dict[str, Any] = {"_src_path": src_path}
        remembered.update((name, values[name]) for name in self.remembered())
        conf = {
            "answers_file": PurePath(self.answers_file),
            "src_path": PurePath(self.root),
            "sep": os.sep,
        }
        return {
            **values,
            "_src_path": src_path,
            "_copier_answers": remembered,
            "_copier_conf": conf,
            "_folder_name": dst_name,
            "_copier_python": sys.executable,
            "_copier_phase": "render",
        }

    def _default(self, question: Mapping[str, Any], values: Mapping[str, Any]) -> Any:
        """A question's default: rendered with the answers before it when text, then cast."""
        default = question.get("default")
        if isinstance(default, str):
            default = self._segment(default).render(**values)
        return None if default is None else _cast(str(question.get("type", "str")), default)

    def _segment(self, part: str) -> jinja2.Template:
        # A path segment, a default or a validator, loaded by name (the text is its own
        # source), so the bytecode cache keeps it compiled between runs.
        compiled = self._segments.get(part)
        if compiled is None:
            compiled = self._segments[part] = self.env.get_template(_SEGMENT + part)
        return compiled

    def destination(self, item: TemplateFile, context: Mapping[str, Any]) -> str | None:
        """Where ``item`` is rendered to with ``context``; None when a segment is empty."""
        rendered: list[str] = []
        for part in item.parts:
            text = self._segment(part).render(**context) if "{" in part else part
            if not text:
                return None
            if text == self.answers_file:
                return text
            rendered.append(text)
        return "/".join(rendered)

    def render_file(self, item: TemplateFile, context: Mapping[str, Any]) -> bytes:
        """The content of ``item`` rendered with ``context``."""
        if not item.templated:
            return (self.root / item.source).read_bytes()
        return self.env.get_template(item.source).render(**context).encode()

    def _values(self, answers: Mapping[str, Any], *, check: bool) -> dict[str, Any]:
        """Every question's value: its answer cast to its type, else its default.

        ``check`` refuses the answers copier would refuse (ValueError, with copier's
        message): a value outside its question's ``choices``, or one its ``validator``
        renders an error for. copier checks the answers it is given, not the defaults, each
        in the context of the questions before it; so does this.
        """
        values: dict[str, Any] = {}
        for name, question in self.questions.items():
            type_name = str(question.get("type", "str"))
            if name not in answers:
                values[name] = self._default(question, values)
                continue
            value = values[name] = _cast(type_name, answers[name])
            if not check:
                continue
            choices = question.get("choices")
            if choices:
                options = choices.values() if isinstance(choices, dict) else choices
                allowed = [
                    _cast(type_name, o[1] if isinstance(o, (list, tuple)) else o) for o in options
                ]
                if value not in allowed:
                    raise ValueError(f"Invalid choice for '{name}': {value!r} is not in {allowed}")
            validator = question.get("validator")
            if validator:
                message = self._segment(str(validator)).render(**values).strip()
                if message:
                    raise ValueError(f"Validation error for question '{name}': {message}")
        return values

    def write(self, answers: Mapping[str, Any], *, out: Path, src_path: str) -> None:
        """Render the template with ``answers`` into the new directory ``out``.

        As ``copier copy --defaults`` does: the answers checked first, each file with its
        source's permission bits.
        """
        context = self.context(answers, src_path=src_path, dst_name=out.name, check=True)
        out.mkdir(parents=True)
        for item, destination in self.destinations(context):
            path = out / destination
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(self.render_file(item, context))
            path.chmod(self.mode(item))

    def render(self, context: Mapping[str, Any]) -> dict[str, bytes]:
        """Every file of the template rendered: destination path -> content."""
        out: dict[str, bytes] = {}
        for item, destination in self.destinations(context):
            out[destination] = self.render_file(item, context)
        return out

    def destinations(self, context: Mapping[str, Any]) -> Iterator[tuple[TemplateFile, str]]:
        """Each file the template renders with ``context``, with its destination."""
        for item in self.files:
            destination = self.destination(item, context)
            if destination is not None:
                yield item, destination

    def mode(self, item: TemplateFile) -> int:
        """The permission bits copier gives the rendered file (the source's)."""
        return (self.root / item.source).stat().st_mode & 0o7777


def _scan(root: Path, subdirectory: str, suffix: str) -> tuple[TemplateFile, ...] | None:
    base = root / subdirectory
    files: list[TemplateFile] = []
    for directory, dirnames, filenames in os.walk(base):
        dirnames.sort()
        here = Path(directory)
        for name in sorted(filenames):
            path = here / name
            if path.is_symlink():
                return None
            relative = path.relative_to(base)
            templated = bool(suffix) and name.endswith(suffix)
            if not templated and suffix and path.with_name(name + suffix).exists():
                continue  # the templated sibling wins
            parts = relative.parts
            if templated:
                parts = (*parts[:-1], parts[-1][: -len(suffix)])
            files.append(
                TemplateFile(
                    source=path.relative_to(root).as_posix(), parts=parts, templated=templated
                )
            )
        if any((here / name).is_symlink() for name in dirnames):
            return None
    return tuple(files)


def load_template(root: Path) -> Template | None:
    """``root`` (a directory with ``copier.yml``) ready to render; None when unsupported."""
    import yaml

    try:
        raw = yaml.load(
            (root / "copier.yml").read_text(encoding="utf-8"),
            Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader),
        )
    except (OSError, yaml.YAMLError):
        return None
    if not isinstance(raw, dict) or not set(k for k in raw if k.startswith("_")).issubset(
        _SUPPORTED_SETTINGS
    ):
        return None
    questions = {k: v for k, v in raw.items() if not k.startswith("_")}
    for question in questions.values():
        if (
            not isinstance(question, dict)
            or str(question.get("type")) not in _SUPPORTED_TYPES  # copier infers a missing one
            or question.get("multiselect")
            or question.get("when", True) not in (True, False)
        ):
            return None
    subdirectory = str(raw.get("_subdirectory", ""))
    suffix = raw.get("_templates_suffix")
    suffix = ".jinja" if suffix is None else str(suffix)
    envops = dict(raw.get("_envops") or {})
    envops.setdefault("keep_trailing_newline", True)
    if "undefined" in envops or not subdirectory or not suffix:
        return None
    files = _scan(root, subdirectory, suffix)
    if files is None:
        return None
    return Template(
        root=root,
        subdirectory=subdirectory,
        suffix=suffix,
        answers_file=str(raw.get("_answers_file", ".copier-answers.yml")),
        envops=envops,
        questions=questions,
        files=files,
    )
