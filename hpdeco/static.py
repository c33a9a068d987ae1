"""Reading a function's source for ``hp.*`` calls: the space, known before any trial runs.

Calls whose arguments are literals give a full specification. Names built at run time
(``f"units_{i}"``) are kept as patterns, and arguments that are not literals are marked
dynamic; both are confirmed as trials run.

An ``hp.*`` call in a default argument (``def build(lr=hp.Float(...))``) or a decorator of
the function runs once, when the function is defined, outside any trial: it is never tuned.
Such calls are kept apart (``StaticSpace.defaults``), left out of the space, and warned
about at decoration, pointing at the line.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import os
import textwrap
import warnings
from collections.abc import Callable, Iterator
from typing import Any

from hpdeco.errors import SpaceError
from hpdeco.space import Boolean, Choice, Fixed, Float, HyperParameters, Int, Param

KINDS = ("Int", "Float", "Choice", "Boolean", "Fixed")
_SIGNATURES = {kind: inspect.signature(getattr(HyperParameters, kind)) for kind in KINDS}


@dataclasses.dataclass(frozen=True)
class Entry:
    """One ``hp.*`` call found in the source."""

    name: str
    kind: str
    param: Param | None
    pattern: bool
    dynamic: tuple[str, ...]
    filename: str
    lineno: int
    # Declared under hp.conditional_scope(...) or with parent_name=: another branch may
    # declare the same name with another specification (KerasTuner allows it).
    conditional: bool = False

    @property
    def where(self) -> str:
        return f"{os.path.basename(self.filename)}:{self.lineno}"


def _build(kind: str, args: dict[str, Any]) -> Param:
    if kind in ("Int", "Float"):
        cls = Int if kind == "Int" else Float
        return cls(
            args["name"],
            args["min_value"],
            args["max_value"],
            args.get("step"),
            args.get("sampling", "linear"),
            args.get("default"),
        )
    if kind == "Choice":
        values = args["values"]
        return Choice(
            args["name"],
            tuple(values) if isinstance(values, list) else values,
            args.get("ordered"),
            args.get("default"),
        )
    if kind == "Boolean":
        return Boolean(args["name"], default_value=args.get("default", False))
    return Fixed(args["name"], args["value"])


class StaticSpace:
    """The ``hp.*`` calls of a function, read from its source. Printing it gives a table."""

    def __init__(
        self,
        entries: tuple[Entry, ...] = (),
        *,
        note: str | None = None,
        defaults: tuple[Entry, ...] = (),
        branched: dict[str, tuple[Entry, ...]] | None = None,
    ) -> None:
        self.entries = entries
        self.note = note
        #: ``hp.*`` calls in default arguments (or decorators): evaluated once, when the
        #: function is defined, so never tuned; not in ``entries`` nor ``params``.
        self.defaults = defaults
        #: Names that conditional branches declare with different specifications: left
        #: out of ``params``, each branch's is checked as trials run.
        self.branched: dict[str, tuple[Entry, ...]] = dict(branched or {})
        self.params: dict[str, Param] = {
            e.name: e.param
            for e in entries
            if e.param is not None and not e.pattern and e.name not in self.branched
        }

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, name: object) -> bool:
        return any(e.name == name for e in self.entries)

    def __getitem__(self, name: str) -> Entry:
        for entry in self.entries:
            if entry.name == name:
                return entry
        raise KeyError(name)

    def __str__(self) -> str:
        untuned = [
            f"not tunable: {e.kind} {e.name!r} at {e.where} is in a default argument, "
            "evaluated once when the function is defined"
            for e in self.defaults
        ]
        if not self.entries:
            return "\n".join([self.note or "no hp.* calls found", *untuned])
        header = ("name", "type", "values", "sampling", "default", "at", "")
        rows = [header]
        for e in self.entries:
            p = e.param
            values = p.describe() if p is not None else "dynamic: " + ", ".join(e.dynamic)
            sampling = getattr(p, "sampling", "") if p is not None else ""
            default = repr(p.default) if p is not None else "-"
            rows.append(
                (e.name, e.kind, values, sampling, default, e.where, "pattern" if e.pattern else "")
            )
        widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
        lines = [
            "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
        ]
        if self.note:
            lines.append(self.note)
        return "\n".join([*lines, *untuned])

    def __repr__(self) -> str:
        return f"<StaticSpace {[e.name for e in self.entries]}>"


def read_space(fn: Callable[..., Any]) -> StaticSpace:
    """The ``hp.*`` calls in ``fn``'s source; an empty space with a note if it cannot be read."""
    target = inspect.unwrap(fn)
    try:
        lines, first_line = inspect.getsourcelines(target)
        filename = inspect.getsourcefile(target) or "<unknown>"
        tree = ast.parse(textwrap.dedent("".join(lines)))
    except (OSError, TypeError, SyntaxError):
        return StaticSpace(note="source not available: the space is discovered as trials run")
    hp_names, module_names = _aliases(target)
    hp_names |= _hp_parameter(target)
    once = _run_once(tree)
    scopes = _scopes(tree, hp_names, module_names)
    entries: dict[str, Entry] = {}
    branched: dict[str, tuple[Entry, ...]] = {}
    defaults: list[Entry] = []
    for node in ast.walk(tree):
        call = _hp_call(node, hp_names, module_names)
        if call is None:
            continue
        prefix, conditional = scopes.get(id(node), ("", False))
        entry = _entry(call, filename, first_line + call.lineno - 1, prefix, conditional)
        if id(node) in once:
            defaults.append(entry)
            continue
        known = entries.get(entry.name)
        if known is None:
            entries[entry.name] = entry
        elif (
            known.param is not None
            and entry.param is not None
            and known.param != entry.param
            and (known.conditional or entry.conditional)
        ):
            branched[entry.name] = (*branched.get(entry.name, (known,)), entry)
        elif known.param is not None and entry.param is not None and known.param != entry.param:
            first, second = sorted((known, entry), key=lambda e: e.lineno)
            raise SpaceError(
                f"hyperparameter {entry.name!r} is declared twice with different specifications:"
                f" {first.where} {first.kind} {first.param.describe()} and"  # type: ignore[union-attr]
                f" {second.where} {second.kind} {second.param.describe()}"  # type: ignore[union-attr]
                "; give each its own name"
            )
    found = tuple(sorted(defaults, key=lambda e: e.lineno))
    for entry in found:
        # Pointing at the default argument itself, in the user's file.
        warnings.warn_explicit(
            f"hp.{entry.kind}({entry.name!r}) is a default argument of "
            f"{getattr(target, '__qualname__', target)!r}: it runs once, when the function is "
            "defined, outside any trial, so it is never tuned (every trial gets its default). "
            "Move the call into the function's body, where it runs in every trial",
            UntunedDefaultWarning,
            entry.filename,
            entry.lineno,
        )
    return StaticSpace(
        tuple(sorted(entries.values(), key=lambda e: e.lineno)), defaults=found, branched=branched
    )


class UntunedDefaultWarning(UserWarning):
    """An ``hp.*`` call sits in a default argument: it runs once and is never tuned."""


def _run_once(tree: ast.AST) -> set[int]:
    """Ids of the nodes of the read function that run once, when it is defined: its default
    arguments and decorators (a lambda's defaults too). Defaults of functions nested in the
    body run on every call, inside the trial, and are tuned as usual."""
    top = next(
        (n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))),
        None,
    ) or next((n for n in ast.walk(tree) if isinstance(n, ast.Lambda)), None)
    if top is None:
        return set()
    args = top.args
    roots: list[ast.AST] = [*args.defaults, *(d for d in args.kw_defaults if d is not None)]
    if not isinstance(top, ast.Lambda):
        roots.extend(top.decorator_list)
    return {id(node) for root in roots for node in ast.walk(root)}


def _hp_parameter(fn: Callable[..., Any]) -> set[str]:
    """The name of the parameter a KerasTuner-style ``build_model(hps)`` receives ``hp``
    in (the one required positional parameter, whatever its name; ``self`` skipped)."""
    from hpdeco.tunable import _hp_argument

    name = _hp_argument(fn)
    return {name} if name else set()


def _aliases(fn: Callable[..., Any]) -> tuple[set[str], set[str]]:
    """Names that refer to ``hpdeco.hp`` and to the ``hpdeco`` module in ``fn``'s globals."""
    import hpdeco

    hp_names, module_names = {"hp"}, {"hpdeco"}
    for name, value in getattr(fn, "__globals__", {}).items():
        if value is hpdeco.hp:
            hp_names.add(name)
        elif value is hpdeco:
            module_names.add(name)
    return hp_names, module_names


def _hp_call(node: ast.AST, hp_names: set[str], module_names: set[str]) -> ast.Call | None:
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
        return None
    if node.func.attr not in KINDS:
        return None
    owner = node.func.value
    if isinstance(owner, ast.Name) and owner.id in hp_names:
        return node
    if (
        isinstance(owner, ast.Attribute)
        and owner.attr == "hp"
        and isinstance(owner.value, ast.Name)
        and owner.value.id in module_names
    ):
        return node
    return None


def _scopes(
    tree: ast.AST, hp_names: set[str], module_names: set[str]
) -> dict[int, tuple[str, bool]]:
    """For each node inside ``with hp.name_scope(...)`` / ``hp.conditional_scope(...)``
    blocks: the name prefix the scopes give (``"block/"``) and whether a condition holds
    it. A scope whose name is not a literal makes the prefix a ``{...}`` pattern."""
    found: dict[int, tuple[str, bool]] = {}

    def visit(node: ast.AST, prefix: str, conditional: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner_prefix, inner_conditional = prefix, conditional
            if isinstance(child, (ast.With, ast.AsyncWith)):
                for item in child.items:
                    call = item.context_expr
                    if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Attribute):
                        continue
                    owner = call.func.value
                    if not (
                        (isinstance(owner, ast.Name) and owner.id in hp_names)
                        or (
                            isinstance(owner, ast.Attribute)
                            and owner.attr == "hp"
                            and isinstance(owner.value, ast.Name)
                            and owner.value.id in module_names
                        )
                    ):
                        continue
                    if call.func.attr == "conditional_scope":
                        inner_conditional = True
                    elif call.func.attr == "name_scope" and call.args:
                        name, _, _ = _name_of(call.args[0])
                        inner_prefix += name + "/"
            found[id(child)] = (inner_prefix, inner_conditional)
            visit(child, inner_prefix, inner_conditional)

    visit(tree, "", False)
    return found


def _name_of(node: ast.AST) -> tuple[str, bool, bool]:
    """(name or pattern, is_pattern, is_dynamic) of the ``name`` argument."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value, False, False
    if isinstance(node, ast.JoinedStr):
        parts = []
        for piece in node.values:
            if isinstance(piece, ast.Constant):
                parts.append(str(piece.value))
            elif isinstance(piece, ast.FormattedValue):
                parts.append("{" + ast.unparse(piece.value) + "}")
        return "".join(parts), True, False
    return "<" + ast.unparse(node) + ">", True, True


def _entry(
    call: ast.Call, filename: str, lineno: int, prefix: str = "", conditional: bool = False
) -> Entry:
    kind = call.func.attr  # type: ignore[attr-defined]
    where = f"{os.path.basename(filename)}:{lineno}"
    if any(isinstance(a, ast.Starred) for a in call.args) or any(
        k.arg is None for k in call.keywords
    ):
        return Entry(f"<{ast.unparse(call)}>", kind, None, True, ("*args",), filename, lineno)
    try:
        keywords = {k.arg: k.value for k in call.keywords if k.arg is not None}
        bound = _SIGNATURES[kind].bind(None, *call.args, **keywords)
    except TypeError as exc:
        raise SpaceError(f"{where}: hp.{kind}(...) has bad arguments: {exc}") from None
    arguments = dict(bound.arguments)
    arguments.pop("self")
    name, pattern, dynamic_name = _name_of(arguments.pop("name"))
    name = prefix + name
    pattern = pattern or "{" in prefix
    if "parent_name" in arguments:
        conditional = True
        arguments.pop("parent_name")
        arguments.pop("parent_values", None)
    literal: dict[str, Any] = {"name": name}
    dynamic = ["name"] if dynamic_name else []
    for arg, value_node in arguments.items():
        try:
            literal[arg] = ast.literal_eval(value_node)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            dynamic.append(arg)
    param = None
    if not dynamic:
        try:
            param = _build(kind, literal)
        except SpaceError as exc:
            raise SpaceError(f"{where}: {exc}") from None
    return Entry(name, kind, param, pattern, tuple(dynamic), filename, lineno, conditional)
