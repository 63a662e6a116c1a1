"""Name derivation and attribute parsing for the trt-pdk plugin-package template.

Used twice: by cookiecutter while rendering (``_extensions`` in cookiecutter.json; this
folder is on ``sys.path`` then) and by ``trt-pdk new`` to validate its arguments before
anything is written. One module, so the CLI and the template cannot disagree.

Attributes are written ``name:type[=default]``, several separated by commas or spaces:
``type`` is ``float`` (float32), ``int`` (int32) or ``str`` (a choice); a string attribute
lists its choices as its default, ``mode:str=fast|exact`` (the first is the default).
"""

from __future__ import annotations

import keyword
import math
import re
import textwrap
from typing import Any

try:  # rendering needs jinja2; validating from `trt-pdk new` does not import it first
    from jinja2.ext import Extension
except ImportError:  # pragma: no cover
    Extension = object  # type: ignore[assignment,misc]

NAME_RE = re.compile(r"^[A-Z][A-Za-z0-9]*$")
ATTR_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
CHOICE_RE = re.compile(r"^[A-Za-z0-9_]+$")
TYPES = {
    "float": "float32",
    "float32": "float32",
    "int": "int32",
    "int32": "int32",
    "str": "string",
    "string": "string",
}
MAX_TENSORS = 8
MAX_NAME = 40  # op and package names; longer ones overflow the generated code's lines
MAX_ATTR_NAME = 24
MAX_ATTRS = 8
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1

CPP_KEYWORDS = frozenset(
    """alignas alignof and and_eq asm auto bitand bitor bool break case catch char char8_t char16_t
    char32_t class compl concept const consteval constexpr constinit const_cast continue co_await
    co_return co_yield decltype default delete do double dynamic_cast else enum explicit export
    extern false float for friend goto if inline int long mutable namespace new noexcept not not_eq
    nullptr operator or or_eq private protected public register reinterpret_cast requires return
    short signed sizeof static static_assert static_cast struct switch template this thread_local
    throw true try typedef typeid typename union unsigned using virtual void volatile wchar_t while
    xor xor_eq""".split()  # noqa: SIM905 - a keyword table reads better as text
)
# Names the generated code uses itself (locals, members, parser attributes, modules).
RESERVED_ATTRS = frozenset(
    {"plugin_version", "plugin_namespace", "fields", "v", "h", "z", "j", "torch", "np", "self", "out"}
)
RESERVED_PACKAGES = frozenset(
    {
        "common",
        "pdk",
        "trt_pdk",
        "std",
        "torch",
        "onnx",
        "tensorrt",
        "numpy",
        "nvinfer1",
        "cuda",
        "test",
        "tests",
    }
)


class TemplateError(ValueError):
    """A template option that cannot render into a working package; says what to change."""


def snake_case(name: str) -> str:
    """``SoftClip`` -> ``soft_clip``, ``RMSNorm`` -> ``rms_norm``, ``Gelu2D`` -> ``gelu2_d``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


def check_name(name: str) -> str:
    """Returns the snake_case of a valid op name; raises TemplateError otherwise."""
    if not NAME_RE.match(name or "") or len(name) > MAX_NAME:
        raise TemplateError(
            f"the op name {name!r} is not a C++ identifier in CamelCase: start with an upper-case "
            f"letter, then letters and digits only, at most {MAX_NAME} characters (e.g. SoftClip). "
            f"It becomes the TensorRT plugin name, the ONNX op_type and the C++ struct."
        )
    snake = snake_case(name)
    if keyword.iskeyword(snake) or snake in CPP_KEYWORDS or snake in RESERVED_PACKAGES:
        raise TemplateError(
            f"the op name {name!r} gives the package and folder name {snake!r}, which is reserved "
            f"(a keyword or a module trt-pdk builds on); choose another name"
        )
    return snake


def check_package(package: str) -> str:
    if not re.match(r"^[a-z][a-z0-9_]*$", package or "") or package.endswith("_") or len(package) > MAX_NAME:
        raise TemplateError(
            f"the package name {package!r} must be lower-case snake_case (letters, digits, _), "
            f"at most {MAX_NAME} characters, e.g. soft_clip"
        )
    if keyword.iskeyword(package) or package in CPP_KEYWORDS or package in RESERVED_PACKAGES:
        raise TemplateError(f"the package name {package!r} is reserved; choose another one")
    return package


def check_count(what: str, value: Any) -> int:
    try:
        n = int(str(value))
    except ValueError:
        raise TemplateError(
            f"--{what} must be a whole number from 1 to {MAX_TENSORS}, got {value!r}"
        ) from None
    if not 1 <= n <= MAX_TENSORS:
        raise TemplateError(f"--{what} must be from 1 to {MAX_TENSORS}, got {n}")
    return n


def tensor_names(prefix: str, n: int) -> list[str]:
    """``["x"]`` for one tensor, ``["x0", "x1", ...]`` for several."""
    return [prefix] if n == 1 else [f"{prefix}{i}" for i in range(n)]


def _float_default(name: str, text: str | None) -> float:
    if text is None:
        return 1.0
    try:
        value = float(text)
    except ValueError:
        raise TemplateError(f"attribute {name!r}: default {text!r} is not a number") from None
    if not math.isfinite(value):
        raise TemplateError(f"attribute {name!r}: the default must be finite, got {text!r}")
    return value


def _int_default(name: str, text: str | None) -> int:
    if text is None:
        return 1
    try:
        value = int(text)
    except ValueError:
        raise TemplateError(f"attribute {name!r}: default {text!r} is not an integer") from None
    if not INT32_MIN <= value <= INT32_MAX:
        raise TemplateError(f"attribute {name!r}: default {value} does not fit int32")
    return value


def parse_attr(item: str) -> dict[str, Any]:
    """One ``name:type[=default]`` item as a dict (see :func:`parse_attrs`)."""
    head, eq, default = item.partition("=")
    name, colon, type_text = head.partition(":")
    name = name.strip()
    if not colon:
        raise TemplateError(f"attribute {item!r}: write it as name:type[=default], e.g. alpha:float=0.5")
    if not ATTR_NAME_RE.match(name) or len(name) > MAX_ATTR_NAME:
        raise TemplateError(
            f"attribute name {name!r} must be lower-case snake_case (letters, digits, _), "
            f"at most {MAX_ATTR_NAME} characters"
        )
    if (
        keyword.iskeyword(name)
        or keyword.issoftkeyword(name)
        or name in CPP_KEYWORDS
        or name in RESERVED_ATTRS
    ):
        raise TemplateError(
            f"attribute name {name!r} is reserved (a keyword or a name the generated code uses)"
        )
    type_name = TYPES.get(type_text.strip())
    if type_name is None:
        raise TemplateError(f"attribute {name!r}: type {type_text.strip()!r} is not one of float, int, str")
    text = default.strip() if eq else None
    attr: dict[str, Any] = {"name": name, "type": type_name, "numeric": type_name != "string", "choices": []}
    if type_name == "float32":
        value = _float_default(name, text)
        attr["default"] = value
        attr["py"] = repr(value)
        attr["cpp"] = repr(value) + "f"
        attr["cpp_type"] = "float"
        attr["alt"] = repr(0.5 if value == 0 else float(f"{-2.0 * value + 0.25:.6g}"))
    elif type_name == "int32":
        value = _int_default(name, text)
        attr["default"] = value
        attr["py"] = attr["cpp"] = str(value)
        attr["cpp_type"] = "int32_t"
        attr["alt"] = str(value - 1 if value == INT32_MAX else value + 1)
    else:
        if not text:
            raise TemplateError(
                f"string attribute {name!r} needs its choices: {name}:str=first|second "
                f"(the first is the default)"
            )
        choices = [c.strip() for c in text.split("|")]
        bad = [c for c in choices if not CHOICE_RE.match(c)]
        if bad or len(set(choices)) != len(choices):
            raise TemplateError(
                f"string attribute {name!r}: choices must be distinct words (letters, digits, _), "
                f"got {text!r}"
            )
        attr["default"] = choices[0]
        attr["choices"] = choices
        attr["py"] = f'"{choices[0]}"'
        attr["cpp"] = '"' + choices[0] + '"'
        attr["cpp_type"] = "std::string"
        attr["alt"] = f'"{choices[-1]}"'
    return attr


def parse_attrs(text: str, inputs: int = 1, outputs: int = 1) -> list[dict[str, Any]]:
    """Parses ``"alpha:float=0.5, mode:str=a|b"``; checks names against each other and the tensors."""
    items = [i for i in re.split(r"[,\s]+", (text or "").strip()) if i]
    attrs = [parse_attr(i) for i in items]
    if len(attrs) > MAX_ATTRS:
        raise TemplateError(f"at most {MAX_ATTRS} attributes, got {len(attrs)}")
    taken = set(tensor_names("x", int(inputs))) | set(tensor_names("y", int(outputs)))
    seen: set[str] = set()
    for a in attrs:
        if a["name"] in seen:
            raise TemplateError(f"attribute {a['name']!r} is given twice")
        if a["name"] in taken:
            raise TemplateError(f"attribute {a['name']!r} has the name of an input or output tensor")
        seen.add(a["name"])
    numeric = [a for a in attrs if a["numeric"]]
    for a in attrs:
        if not a["numeric"]:
            a["doc"] = "not used by the formula yet"
        elif a is numeric[0]:
            a["doc"] = "scales the sum of the inputs"
        else:
            a["doc"] = "added to the scaled sum"
    return attrs


def py_call(items: Any, head: str, tail: str, tuple_: bool = False, limit: int = 110) -> str:
    """``head + items + tail`` on one line if it fits, else one item per line with a trailing
    comma (the form ruff format keeps). `head` carries the indentation; a one-item tuple keeps
    its comma."""
    items = [str(i) for i in items]
    pad = " " * (len(head) - len(head.lstrip()))
    joined = ", ".join(items) + ("," if tuple_ and len(items) == 1 else "")
    one = f"{head}{joined}{tail}"
    if len(one) <= limit or not items:
        return one
    return f"{head}\n" + "".join(f"{pad}    {i},\n" for i in items) + f"{pad}{tail}"


def py_sum(terms: Any, head: str, limit: int = 110) -> str:
    """``head + " + ".join(terms)``, or parenthesized one term per line as ruff format does."""
    terms = [str(t) for t in terms]
    one = head + " + ".join(terms)
    if len(one) <= limit:
        return one
    pad = " " * (len(head) - len(head.lstrip()))
    return f"{head}(\n{pad}    {terms[0]}\n" + "".join(f"{pad}    + {t}\n" for t in terms[1:]) + f"{pad})"


def cpp_call(args: Any, head: str, tail: str = ");", limit: int = 120) -> str:
    """A C++ call as clang-format (Google, AlignAfterOpenBracket) lays it out: arguments packed
    greedily, continuation lines aligned after the opening parenthesis."""
    args = [str(a) for a in args]
    lines, current = [], head
    align = " " * len(head)
    for k, arg in enumerate(args):
        piece = arg + (tail if k == len(args) - 1 else ",")
        if current in (head, align):
            current += piece
        elif len(current) + 1 + len(piece) <= limit:
            current += " " + piece
        else:
            lines.append(current)
            current = align + piece
    lines.append(current)
    return "\n".join(lines)


def wrap(text: str, prefix: str = "", width: int = 100) -> str:
    """`text` wrapped at `width`, each line starting with `prefix` (comments, docstrings)."""
    return textwrap.fill(text, width, initial_indent=prefix, subsequent_indent=prefix, break_long_words=False)


def next_minor(version: str) -> str:
    """``0.1.3`` -> ``0.2`` (the kit keeps its CMake package compatible within a minor)."""
    major, minor = (int(p) for p in re.findall(r"\d+", version)[:2])
    return f"{major}.{minor + 1}"


class PdkExtension(Extension):  # type: ignore[misc,valid-type]
    """Adds the filters the template uses: snake_case, pdk_attrs, next_minor."""

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        environment.filters["snake_case"] = snake_case
        environment.filters["pdk_attrs"] = parse_attrs
        environment.filters["next_minor"] = next_minor
        environment.filters["py_call"] = py_call
        environment.filters["py_sum"] = py_sum
        environment.filters["cpp_call"] = cpp_call
        environment.filters["wrap_text"] = wrap
        environment.filters["tensor_names"] = lambda n, prefix: tensor_names(prefix, int(n))
