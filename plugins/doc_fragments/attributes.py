# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """Check and diff mode, which every stateful module gets from the shared engine."""

    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    support: full
    description: Predicts exactly what a real run would change, and changes nothing.
  diff_mode:
    support: full
    description: Returns the normalised object before and after the change.
"""

    # the read-only *_info modules
    INFO = r"""
options: {}
attributes:
  check_mode:
    support: full
    description: Reads only; runs the same in check mode.
  diff_mode:
    support: none
    description: Reads only; there is nothing to diff.
"""
