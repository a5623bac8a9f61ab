# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sizes with units, as users write them in playbooks, to bytes."""

from __future__ import annotations

import re

from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import InputError

# K/M/G/T without "iB" are binary, as in libvirt's and qemu-img's own size syntax; only the
# explicit SI spellings (kB, MB, ...) are decimal, so "10G" means the same here as in virsh.
_UNITS = {"": 1, "b": 1}
for _power, _letter in enumerate("kmgtp", start=1):
    _UNITS[_letter] = _UNITS[_letter + "ib"] = 1024 ** _power
    _UNITS[_letter + "b"] = 1000 ** _power

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")


def parse_size(value, option):
    """Bytes for an int (bytes) or a string like '1GiB', '512 MiB', '10G', '1.5GB'.
    None stays None; anything else raises InputError naming `option`."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise InputError(option, "expected a size such as 10GiB, got %r" % (value,))
    if isinstance(value, int):
        if value < 0:
            raise InputError(option, "size must not be negative, got %d" % value)
        return value
    if isinstance(value, float):
        value = repr(value)
    match = _SIZE.match(str(value))
    unit = match.group(2).lower() if match else None
    if unit not in _UNITS:
        raise InputError(option, "cannot read %r as a size: use a number of bytes or a number with one of "
                                 "the units B, KiB, MiB, GiB, TiB (or K, M, G, T, same meaning) or "
                                 "kB, MB, GB, TB (powers of 1000)" % (value,))
    number = float(match.group(1)) if "." in match.group(1) else int(match.group(1))
    return int(round(number * _UNITS[unit]))


def format_size(size):
    """Human form of a byte count for messages: the largest binary unit that keeps it exact-ish."""
    if size is None:
        return None
    for unit, factor in (("TiB", 1024 ** 4), ("GiB", 1024 ** 3), ("MiB", 1024 ** 2), ("KiB", 1024)):
        if size >= factor:
            return ("%.2f" % (size / factor)).rstrip("0").rstrip(".") + " " + unit
    return "%d B" % size
