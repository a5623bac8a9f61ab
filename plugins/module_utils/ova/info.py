# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What an OVF package holds (ovf_info): the descriptor's facts, the package's files, its manifest
and certificate. Reads only; the manifest's digests are checked on request, since that reads every
byte of every disk."""

from __future__ import annotations

from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import InfoService, Opt, Plan
from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import InputError
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.xmledit import LXML_REQUIREMENT
from ansible_collections.virtcloud.core.plugins.module_utils.ova import manifest as mf
from ansible_collections.virtcloud.core.plugins.module_utils.ova import ovf
from ansible_collections.virtcloud.core.plugins.module_utils.ova.archive import Source


def check_manifest(source, entries, verify):
    """The manifest's verdict: which package files it lists, leaves out, names but the package
    lacks, and (verify) which digests differ. `verified` is None unless verify is set."""
    result = {"missing": [], "mismatched": [], "verified": None}
    for name, (algorithm, digest) in entries.items():
        try:
            member = source.member(name)
        except InputError:
            result["missing"].append(name)
            continue
        if verify:
            try:
                actual = mf.hash_member(member, algorithm)
            except OSError as exc:
                raise InputError(source.option, "cannot read %s of %s: %s" % (name, source.path, exc))
            if actual != digest:
                result["mismatched"].append(name)
    if verify:
        result["verified"] = not result["missing"] and not result["mismatched"]
    return result


class OvfInfoService(InfoService):
    result_key = None  # the descriptor's facts are the result
    requirements = (LXML_REQUIREMENT,)
    options = {
        "src": Opt(type="path", required=True),
        "verify_manifest": Opt(type="bool", default=False),
    }

    def observe(self, desired, batch=None):
        source = Source.open(desired["src"], "src")
        facts = ovf.parse(source.descriptor, "src")
        warnings = list(source.warnings) + facts.pop("warnings")
        package = [source.descriptor_name]
        missing_files = []
        for file_id, entry in facts["files"].items():
            try:
                package.extend(m.name for m in source.file_members(entry["href"], entry["chunk_size"]))
            except InputError:
                missing_files.append(entry["href"])
                warnings.append("File %s (%s) is not in the package" % (file_id, entry["href"]))
        manifest = {"present": source.manifest_name is not None, "name": source.manifest_name,
                    "algorithm": None, "unlisted": [], "missing": [], "mismatched": [], "verified": None}
        if source.manifest_name is not None:
            try:
                raw = source.member(source.manifest_name).read(mf.MAX_MANIFEST + 1)
            except OSError as exc:
                raise InputError("src", "cannot read the manifest %s: %s" % (source.manifest_name, exc))
            entries = mf.parse(raw, "src", "manifest %s" % source.manifest_name)
            manifest["algorithm"] = ",".join(sorted({entry[0] for entry in entries.values()})) or None
            manifest["unlisted"] = [name for name in package if name not in entries]
            manifest.update(check_manifest(source, entries, desired["verify_manifest"]))
            if manifest["missing"]:
                warnings.append("the manifest lists %s, which the package lacks" % ", ".join(manifest["missing"]))
            if manifest["mismatched"]:
                warnings.append("the manifest's digests of %s do not match their contents"
                                % ", ".join(manifest["mismatched"]))
            if manifest["unlisted"]:
                warnings.append("the manifest does not list %s" % ", ".join(manifest["unlisted"]))
        facts.update({
            "src": desired["src"],
            "format": source.kind,
            "descriptor": source.descriptor_name,
            "members": [{"name": m.name, "size": m.size} for m in source.members()],
            "missing_files": missing_files,
            "manifest": manifest,
            "certificate": {"present": source.certificate_name is not None, "name": source.certificate_name},
            "warnings": warnings,
        })
        return facts

    def plan(self, desired, observed):
        plan = Plan(observed)
        plan.warnings.extend(observed["warnings"])
        return plan

    def facts(self, state):
        return {key: value for key, value in state.items() if key != "warnings"}
