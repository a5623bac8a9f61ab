# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The NoCloud seed of a guest (libvirt_domain's `cloud_init`): the three files cloud-init reads
(user-data, meta-data, network-config), the ISO 9660 image holding them (volume label `cidata`,
Joliet and Rock Ridge names, built with pycdlib), and the pool volume the seed lives in.

The files are rendered deterministically (JSON, which is YAML, with sorted keys), so a rerun
compares the files read back from the seed with the files the task asks for; the ISO's own
timestamps do not count. The instance-id defaults to the guest's name and a digest of the other
files: a seed rebuilt with other content gets a new instance-id, so cloud-init runs again.
"""

from __future__ import annotations

import hashlib
import io
import json

from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import InputError
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.connection import libvirt
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.storage_xml import volume_xml

try:
    import pycdlib
    PYCDLIB_IMPORT_ERROR = None
except ImportError as exc:  # reported by the service only when a task sets cloud_init
    pycdlib = None
    PYCDLIB_IMPORT_ERROR = exc

PYCDLIB_REQUIREMENT = ("pycdlib", "pycdlib>=1.14", PYCDLIB_IMPORT_ERROR)
LABEL = "cidata"
# file name -> its ISO 9660 level 1 name (Joliet and Rock Ridge carry the real one)
FILES = {"user-data": "/USERDATA.;1", "meta-data": "/METADATA.;1", "network-config": "/NETCONF.;1"}
CHUNK = 256 * 1024


def seed_volume(guest):
    """The seed's volume name: fixed per guest, so that removing the guest finds it."""
    return "%s-cidata.iso" % guest


def _json(value):
    return json.dumps(value, indent=2, sort_keys=True) + "\n"


def files(spec, guest):
    """The seed's files (name -> bytes) and its instance-id, from the parsed `cloud_init` option."""
    user_data = spec.get("user_data")
    if isinstance(user_data, dict) or spec.get("ssh_keys"):
        data = dict(user_data or {})
        keys = list(data.get("ssh_authorized_keys") or [])
        data["ssh_authorized_keys"] = keys + [k for k in spec.get("ssh_keys") or [] if k not in keys]
        user_text = "#cloud-config\n" + _json(data)
    else:
        user_text = user_data or "#cloud-config\n{}\n"
    out = {"user-data": user_text.encode()}
    if spec.get("network_config") is not None:
        out["network-config"] = _json(spec["network_config"]).encode()
    meta = spec.get("meta_data") or {}
    instance_id = meta.get("instance_id")
    if not instance_id:
        content = hashlib.sha256()
        for name in sorted(out):
            content.update(name.encode() + b"\0" + out[name] + b"\0")
        content.update((meta.get("hostname") or "").encode())
        instance_id = "%s-%s" % (guest, content.hexdigest()[:12])
    meta_data = {"instance-id": instance_id}
    if meta.get("hostname"):
        meta_data["local-hostname"] = meta["hostname"]
    out["meta-data"] = _json(meta_data).encode()
    return out, instance_id


def parse(value, option="cloud_init"):
    """Check the `cloud_init` option (a dict of the module's argument spec) before anything is touched."""
    user_data = value.get("user_data")
    if user_data is not None and not isinstance(user_data, (dict, str)):
        raise InputError(option + ".user_data", "a dict (written as #cloud-config) or the text of the user-data")
    if isinstance(user_data, str) and value.get("ssh_keys"):
        raise InputError(option + ".ssh_keys", "merged into a user_data dict's ssh_authorized_keys; with user_data "
                                               "given as text, put the keys into that text")
    network = value.get("network_config")
    if network is not None:
        version = (network.get("network") or {}).get("version") if "network" in network else network.get("version")
        if version not in (1, 2):
            raise InputError(option + ".network_config", "a cloud-init network config (version 1 or 2), e.g. "
                                                         "{version: 2, ethernets: {...}}")
    hostname = (value.get("meta_data") or {}).get("hostname")
    if hostname is not None and (not hostname or len(hostname) > 253 or
                                 not all(c.isalnum() or c in "-." for c in hostname)):
        raise InputError(option + ".meta_data.hostname", "%r is not a host name (letters, digits, '-' and '.')"
                         % hostname)
    for i, key in enumerate(value.get("ssh_keys") or []):
        if "\n" in key or len(key.split()) < 2:
            raise InputError("%s.ssh_keys[%d]" % (option, i), "one public key per item ('TYPE BASE64 [comment]')")
    return value


def build_iso(content):
    """The ISO 9660 image (label cidata) holding `content` (file name -> bytes)."""
    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=3, joliet=3, rock_ridge="1.09", vol_ident=LABEL)
    for name in sorted(content):
        data = content[name]
        iso.add_fp(io.BytesIO(data), len(data), FILES[name], rr_name=name, joliet_path="/" + name)
    out = io.BytesIO()
    iso.write_fp(out)
    iso.close()
    return out.getvalue()


def read_iso(data):
    """The seed files of an ISO image (file name -> bytes); {} for anything else."""
    iso = pycdlib.PyCdlib()
    try:
        iso.open_fp(io.BytesIO(data))
    except pycdlib.pycdlibexception.PyCdlibException:
        return {}
    out = {}
    for name in FILES:
        handle = io.BytesIO()
        try:
            iso.get_file_from_iso_fp(handle, joliet_path="/" + name)
        except pycdlib.pycdlibexception.PyCdlibException:
            continue
        out[name] = handle.getvalue()
    iso.close()
    return out


def instance_id(content):
    try:
        return json.loads(content.get("meta-data") or b"{}").get("instance-id")
    except ValueError:
        return None


def read_seed(conn, pool, name):
    """The files of the seed volume `name` in `pool`, or None when there is no such volume."""
    try:
        vol = conn.storagePoolLookupByName(pool).storageVolLookupByName(name)
    except libvirt.libvirtError:
        return None
    size = vol.info()[1]
    stream = conn.newStream(0)
    vol.download(stream, 0, size, 0)
    chunks = []
    while True:
        chunk = stream.recv(CHUNK)
        if not chunk:
            break
        chunks.append(chunk)
    stream.finish()
    return read_iso(b"".join(chunks))


def write_seed(conn, pool, name, content):
    """(Re)create the seed volume with `content`."""
    remove_seed(conn, pool, name)
    data = build_iso(content)
    vol = conn.storagePoolLookupByName(pool).createXML(volume_xml(name, len(data), "raw"), 0)
    stream = conn.newStream(0)
    vol.upload(stream, 0, len(data), 0)
    for start in range(0, len(data), CHUNK):
        stream.send(data[start:start + CHUNK])
    stream.finish()


def remove_seed(conn, pool, name):
    try:
        vol = conn.storagePoolLookupByName(pool).storageVolLookupByName(name)
    except libvirt.libvirtError:
        return
    vol.delete(0)
