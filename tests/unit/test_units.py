"""parse_size: the size syntax every module shares."""

from __future__ import annotations

import pytest

from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import InputError
from ansible_collections.virtcloud.core.plugins.module_utils.common.units import format_size, parse_size


@pytest.mark.parametrize("value, expected", [
    (0, 0), (512, 512), ("512", 512), ("512B", 512),
    ("1KiB", 1024), ("1K", 1024), ("1kB", 1000),
    ("1GiB", 1 << 30), ("512 MiB", 512 << 20), ("10G", 10 << 30), ("1TiB", 1 << 40),
    ("1.5GB", 1500000000), ("1.5GiB", 3 << 29), ("2 tb", 2 * 10 ** 12), (None, None),
])
def test_parse_size(value, expected):
    assert parse_size(value, "size") == expected


@pytest.mark.parametrize("value", ["10 parsecs", "GiB", "", "-1G", "1..2G", True, -5, [1]])
def test_bad_size_names_the_option(value):
    with pytest.raises(InputError) as err:
        parse_size(value, "capacity")
    assert err.value.option == "capacity"
    assert err.value.msg.startswith("capacity:")


def test_format_size():
    assert format_size(1 << 40) == "1 TiB"
    assert format_size(1536 << 20) == "1.5 GiB"
    assert format_size(100) == "100 B"
