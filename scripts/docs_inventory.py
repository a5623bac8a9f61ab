"""Write a Sphinx inventory (objects.inv format, version 2) of the Ansible documentation targets the
generated collection docs link to, so `make docs` resolves them offline (no intersphinx download) and
sphinx-build -W still fails on any reference that is not listed here.

    python scripts/docs_inventory.py OUT.inv
"""

import sys
import zlib

# (name, domain:role, uri relative to https://docs.ansible.com/projects/ansible/devel/, display name)
TARGETS = [
    ("common_return_values", "std:label", "reference_appendices/common_return_values.html", "Return Values"),
    ("ansible_configuration_settings", "std:label", "reference_appendices/config.html", "Ansible Configuration Settings"),
] + [
    (var, "std:envvar", "reference_appendices/config.html#envvar-" + var, "-")
    for var in ("ANSIBLE_CACHE_PLUGIN", "ANSIBLE_CACHE_PLUGIN_CONNECTION", "ANSIBLE_CACHE_PLUGIN_PREFIX",
                "ANSIBLE_CACHE_PLUGIN_TIMEOUT", "ANSIBLE_INVENTORY_CACHE", "ANSIBLE_INVENTORY_CACHE_PLUGIN",
                "ANSIBLE_INVENTORY_CACHE_CONNECTION", "ANSIBLE_INVENTORY_CACHE_PLUGIN_PREFIX",
                "ANSIBLE_INVENTORY_CACHE_TIMEOUT")
]


def inventory():
    header = ("# Sphinx inventory version 2\n# Project: Ansible\n# Version: devel\n"
              "# The remainder of this file is compressed using zlib.\n")
    body = "".join("%s %s %d %s %s\n" % (name, kind, 1 if kind.endswith("envvar") else -1, uri, shown)
                   for name, kind, uri, shown in TARGETS)
    return header.encode() + zlib.compress(body.encode())


if __name__ == "__main__":
    with open(sys.argv[1], "wb") as out:
        out.write(inventory())
