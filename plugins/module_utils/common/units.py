# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sizes with units ('512MiB', '1 GiB', '10G', 4096), shared by every module that takes a size."""

from __future__ import annotations

import re

from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import InputError

# libvirt's and qemu-img's convention: K/M/G... and KiB/MiB/GiB... are powers of 1024, so "10G"
# means the same here as in virsh; only the SI spellings kB/MB/GB... are powers of 1000.
UNITS = {"": 1, "b": 1, "bytes": 1}
for _power, _letter in enumerate("kmgtpe", start=1):
    UNITS[_letter] = UNITS[_letter + "ib"] = 1024 ** _power
    UNITS[_letter + "b"] = 1000 ** _power

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")


def parse_size(value, option, default_unit="B"):
    """Bytes for `value`: an int (in `default_unit`) or a string with an optional unit.
    None stays None (the option was not set); anything else raises InputError naming `option`."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise InputError(option, "expected a size such as 512MiB or 2 GiB, got %r" % (value,))
    if isinstance(value, int):
        if value < 0:
            raise InputError(option, "a size cannot be negative, got %d" % value)
        value = "%d%s" % (value, default_unit)
    match = _SIZE.match(str(value))
    if not match:
        raise InputError(option, "expected a size such as 512MiB or 2 GiB, got %r" % (value,))
    number, unit = match.groups()
    factor = UNITS.get((unit or default_unit).lower())
    if factor is None:
        raise InputError(option, "unknown unit %r in %r; use B, KiB, MiB, GiB, TiB (or K, M, G, T: powers "
                                 "of 1024) or kB, MB, GB, TB (powers of 1000)" % (unit, value))
    size = float(number) * factor if "." in number else int(number) * factor
    if size != int(size):
        raise InputError(option, "%r is not a whole number of bytes" % (value,))
    return int(size)


def format_size(size):
    """The largest binary unit that states `size` bytes exactly: 536870912 -> '512 MiB'.
    Exact, so that results and diffs read back to the same number."""
    if size is None:
        return None
    for unit, factor in (("TiB", 1024 ** 4), ("GiB", 1024 ** 3), ("MiB", 1024 ** 2), ("KiB", 1024)):
        if size and size % factor == 0:
            return "%d %s" % (size // factor, unit)
    return "%d B" % size
