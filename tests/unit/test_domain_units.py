"""Sizes with units (plugins/module_utils/common/units.py), shared by every module that takes one."""

from __future__ import annotations

import pytest

from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import InputError
from ansible_collections.virtcloud.core.plugins.module_utils.common.units import format_size, parse_size


@pytest.mark.parametrize("value, expected", [
    ("512MiB", 512 * 2 ** 20), ("1 GiB", 2 ** 30), ("1G", 2 ** 30), ("2gib", 2 * 2 ** 30),
    ("1GB", 10 ** 9), ("1.5GiB", 3 * 2 ** 29), ("4096", 4096), (4096, 4096), ("10 KiB", 10240),
    ("1TiB", 2 ** 40), ("7b", 7),
])
def test_parse_size(value, expected):
    assert parse_size(value, "size") == expected


def test_default_unit_applies_to_bare_numbers():
    assert parse_size(512, "memory", default_unit="MiB") == 512 * 2 ** 20
    assert parse_size("2", "disks[0].size", default_unit="GiB") == 2 * 2 ** 30
    assert parse_size("2KiB", "memory", default_unit="MiB") == 2048


@pytest.mark.parametrize("value", ["12 parsecs", "lots", "", "-1GiB", "1.2.3G", True, None, "0.3B"])
def test_bad_sizes_name_the_option(value):
    with pytest.raises(InputError) as info:
        parse_size(value, "memory")
    assert info.value.msg.startswith("memory: ") and info.value.option == "memory"


def test_format_size_round_trips():
    for size in (512 * 2 ** 20, 2 ** 30, 3 * 2 ** 29, 1000, 0):
        assert parse_size(format_size(size), "x") == size
    assert format_size(2 ** 30) == "1 GiB" and format_size(1536 * 2 ** 20) == "1536 MiB"
    assert format_size(None) is None
