#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: domain_info
short_description: x
version_added: 0.1.0
description: []
author:
  - virtcloud.core contributors
"""

EXAMPLES = r"""
"""

RETURN = r"""
"""

from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import run
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.domain import DomainInfoService


def main():
    run(DomainInfoService)


if __name__ == "__main__":
    main()
