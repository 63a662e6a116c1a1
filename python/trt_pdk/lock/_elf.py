"""Reads one named section of an ELF file (a shared library) without loading it.

The plugin library's facts live in its ``.trt_pdk_info`` section (see
``plugins/common/trt/library_info.h``). Reading that takes the ELF header and the section
header table only, so this is a few lines of :mod:`struct` rather than a dependency
(pyelftools): the lock and ``doctor`` run in serving containers where the kit should
install with nothing more than it already needs.
"""

from __future__ import annotations

import struct
from pathlib import Path

_MAGIC = b"\x7fELF"


class NotElfError(ValueError):
    """The file is not an ELF object, or its section table is damaged."""


def read_section(path: str | Path, name: str) -> bytes | None:
    """The bytes of section `name` in the ELF file at `path`; None when it has none."""
    with Path(path).open("rb") as f:
        data = f.read()
    if data[:4] != _MAGIC or len(data) < 64:
        raise NotElfError(f"{path} is not an ELF file")
    bits = {1: 32, 2: 64}.get(data[4])
    order = {1: "<", 2: ">"}.get(data[5])
    if bits is None or order is None:
        raise NotElfError(f"{path}: unknown ELF class/byte order {data[4]}/{data[5]}")
    if bits == 64:
        shoff, shentsize, shnum, shstrndx = (
            _unpack(data, order + "Q", 0x28),
            *_unpack(data, order + "3H", 0x3A),
        )
        entry = order + "IIQQQQIIQQ"  # name, type, flags, addr, offset, size, link, info, align, entsize
    else:
        shoff, shentsize, shnum, shstrndx = (
            _unpack(data, order + "I", 0x20),
            *_unpack(data, order + "3H", 0x2E),
        )
        entry = order + "IIIIIIIIII"
    if shoff == 0:
        return None  # no section table (fully stripped of it): nothing to read

    def header(index: int) -> tuple[int, int, int]:
        fields = _unpack(data, entry, shoff + index * shentsize, struct.calcsize(entry))
        return fields[0], fields[4], fields[5]  # name offset, file offset, size

    if shnum == 0 or shstrndx == 0xFFFF:  # extended numbering: the real values sit in section 0
        first = _unpack(data, entry, shoff, struct.calcsize(entry))
        shnum = shnum or first[5]
        shstrndx = first[6] if shstrndx == 0xFFFF else shstrndx
    _, names_offset, names_size = header(shstrndx)
    names = data[names_offset : names_offset + names_size]
    wanted = name.encode()
    for index in range(shnum):
        name_offset, offset, size = header(index)
        end = names.find(b"\x00", name_offset)
        if names[name_offset:end] == wanted:
            if offset + size > len(data):
                raise NotElfError(f"{path}: section {name} runs past the end of the file")
            return data[offset : offset + size]
    return None


def _unpack(data: bytes, fmt: str, offset: int, size: int | None = None):
    size = size if size is not None else struct.calcsize(fmt)
    if offset < 0 or offset + size > len(data):
        raise NotElfError("the ELF header points past the end of the file")
    values = struct.unpack_from(fmt, data, offset)
    return values if len(values) > 1 else values[0]
