# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of the storage_pool module: see plugins/plugin_utils/module_action.py."""

from __future__ import annotations

from ansible_collections.virtcloud.core.plugins.plugin_utils.module_action import ActionModule

__all__ = ["ActionModule"]
