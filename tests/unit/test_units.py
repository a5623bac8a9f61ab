"""parse_size: the size syntax every module shares."""

from __future__ import annotations

import pytest

from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import InputError
from ansible_collections.virtcloud.core.plugins.module_utils.common.units import format_size, parse_size


@pytest.mark.parametrize("value, expected", [
    (0, 0), (512, 512), ("512", 512), ("512B", 512),
    ("1KiB", 1024), ("1K", 1024), ("1kB", 1000),
    ("1GiB", 1 << 30), ("512 MiB", 512 << 20), ("10G", 10 << 30), ("1TiB", 1 << 40),
    ("1.5GB", 1500000000), ("1.5GiB", 3 << 29), ("2 tb", 2 * 10 ** 12), (None, None), ("7b", 7),
])
def test_parse_size(value, expected):
    assert parse_size(value, "size") == expected


@pytest.mark.parametrize("value", ["10 parsecs", "GiB", "", "-1G", "1..2G", True, -5, [1], "0.3B"])
def test_bad_size_names_the_option(value):
    with pytest.raises(InputError) as err:
        parse_size(value, "capacity")
    assert err.value.option == "capacity"
    assert err.value.msg.startswith("capacity:")


def test_format_size():
    assert format_size(1 << 40) == "1 TiB"
    assert format_size(1536 << 20) == "1536 MiB"  # exact, never rounded
    assert format_size(100) == "100 B"


def test_default_unit_applies_to_bare_numbers():
    assert parse_size(512, "memory", default_unit="MiB") == 512 * 2 ** 20
    assert parse_size("2", "disks[0].size", default_unit="GiB") == 2 * 2 ** 30
    assert parse_size("2KiB", "memory", default_unit="MiB") == 2048


def test_format_size_round_trips():
    for size in (512 * 2 ** 20, 2 ** 30, 3 * 2 ** 29, 1000, 0):
        assert parse_size(format_size(size), "x") == size
    assert format_size(None) is None
