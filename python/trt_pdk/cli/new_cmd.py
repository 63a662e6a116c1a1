"""``trt-pdk new NAME``: scaffold a standalone plugin package from the kit's template.

Prints what was created, the next commands (build and install, list, test, the package's own
tests; first the ``pip install`` of any build tool this environment lacks), and the package
folder as the last line.
"""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "new",
        help="create a standalone plugin package (a working example op) from the template",
        description=(
            "Render the plugin-package template: one op folder (C++ op, CUDA kernel, CPU reference, "
            "Python spec with PyTorch reference, cases and rewrite pattern), CMake against the "
            "installed kit, pyproject.toml, README and tests. The example op is a scaled softplus of "
            "the sum of the inputs; it builds and passes its tests as generated."
        ),
    )
    p.add_argument(
        "name",
        metavar="NAME",
        help="op name: a CamelCase C++ identifier (TensorRT plugin name, ONNX op_type), e.g. SoftClip",
    )
    p.add_argument("-o", "--output-dir", default=".", help="where to create the package folder (default: .)")
    p.add_argument("--inputs", default="1", metavar="N", help="number of inputs, 1 to 8 (default: 1)")
    p.add_argument("--outputs", default="1", metavar="N", help="number of outputs, 1 to 8 (default: 1)")
    p.add_argument(
        "--attr",
        action="append",
        default=None,
        metavar="NAME:TYPE[=DEFAULT]",
        help=(
            "an attribute (repeatable); TYPE is float, int or str, a str lists its choices as the "
            "default (mode:str=fast|exact, the first is the default). Default: alpha:float=1.0"
        ),
    )
    p.add_argument("--no-attrs", action="store_true", help="an op without attributes")
    p.add_argument("--package-name", help="Python package and plugin namespace (default: NAME in snake_case)")
    p.add_argument("--no-input", action="store_true", help="do not prompt; use the values given")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from trt_pdk._fs import check_output_folder
    from trt_pdk.errors import UserError
    from trt_pdk.scaffold import next_commands, package_from_template

    check_output_folder(args.output_dir, "--output-dir")
    if args.no_attrs and args.attr:
        raise UserError("give --attr or --no-attrs, not both")
    attrs = [] if args.no_attrs else args.attr
    interactive = not args.no_input and sys.stdin.isatty()
    folder = package_from_template(
        args.name,
        args.output_dir,
        inputs=args.inputs,
        outputs=args.outputs,
        attrs=attrs,
        package_name=args.package_name,
        no_input=not interactive,
    )
    op_folder = next((p for p in sorted((folder / "plugins").iterdir()) if p.is_dir()), folder)
    print(f"Created the plugin package {folder.name}; its example op {args.name} is in {op_folder}.")
    print("Next:")
    for command in next_commands(args.name, folder):
        print(f"  {command}")
    print(folder)
    return 0
