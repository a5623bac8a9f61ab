"""The `xml` option of networks, pools and volumes (xmlmerge, network_xml, storage_xml): a user's
XML merged onto a stored definition, compared canonically; permissions parsing and validation."""

from __future__ import annotations

import pytest

from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import InputError
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt import network_xml as nx
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt import storage_xml as sx
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt import xmlmerge
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.storage import parse_permissions
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.xmledit import from_string

STORED = """<network>
  <name>lab</name><uuid>4b0899c7-b9e2-4b7f-b6ad-a0c890691d30</uuid>
  <forward mode='nat'><nat><port start='1024' end='65535'/></nat></forward>
  <bridge name='virbr9' stp='on' delay='0'/><mac address='52:54:00:db:e8:5c'/>
  <dns><host ip='198.18.9.5'><hostname>five</hostname></host><host ip='198.18.9.6'><hostname>six</hostname></host></dns>
  <ip address='198.18.9.1' netmask='255.255.255.0'>
    <dhcp><range start='198.18.9.100' end='198.18.9.150'/><host mac='52:54:00:aa:00:01' ip='198.18.9.11'/></dhcp>
  </ip>
</network>"""
USER = """<network><name>lab</name><forward mode='nat'/>
  <dns><host ip='198.18.9.5'><hostname>five</hostname></host><host ip='198.18.9.6'><hostname>six</hostname></host></dns>
  <ip address='198.18.9.1' netmask='255.255.255.0'>
    <dhcp><range start='198.18.9.100' end='198.18.9.150'/><host mac='52:54:00:AA:00:01' ip='198.18.9.11'/></dhcp>
  </ip></network>"""


def merged(user, stored=STORED):
    want = xmlmerge.mark(nx.normalise(xmlmerge.user_xml(user, "network", "lab")), nx.OWNED)
    base = nx.normalise(from_string(stored))
    return xmlmerge.merge(base, want, nx.normalise), base


def test_what_libvirt_added_is_kept_and_case_does_not_count():
    after, base = merged(USER)
    assert xmlmerge.same(after, base)
    assert after.findtext("uuid") and after.find("forward/nat/port") is not None


def test_a_changed_element_replaces_the_stored_one_and_owned_entries_go():
    after, base = merged(USER.replace("mode='nat'", "mode='route'")
                         .replace("<host ip='198.18.9.6'><hostname>six</hostname></host>", ""))
    assert not xmlmerge.same(after, base)
    assert after.find("forward").get("mode") == "route" and after.find("forward/nat") is None
    assert [h.get("ip") for h in after.findall("dns/host")] == ["198.18.9.5"]
    assert after.find("mac") is not None  # generated, not in the user's XML: kept
    # only a live section differs
    assert xmlmerge.same(nx.without_live(*merged(USER.replace("198.18.9.11", "198.18.9.12"))[:1]), nx.without_live(base))


def test_user_xml_checks_root_and_name():
    for text, words in (("<pool/>", "<network>"), ("<network><name>x</name></network>", "'x'"), ("<a", "well-formed")):
        with pytest.raises(InputError) as err:
            xmlmerge.user_xml(text, "network", "lab")
        assert err.value.option == "xml" and words in err.value.msg
    assert xmlmerge.user_xml("<network/>", "network", "lab").findtext("name") == "lab"


def test_options_overlaid_on_the_user_xml_win():
    root = xmlmerge.user_xml(USER, "network", "lab")
    state = dict(nx.parse(xmlmerge.tostring(root)), mtu=9000, forward="isolated")
    nx.overlay(root, state, ["mtu", "forward"])
    assert root.find("forward") is None and root.find("mtu").get("size") == "9000"
    assert root.find("ip/dhcp/host") is not None  # sections no option named stay as the user wrote them


def test_permissions_round_trip_and_validation():
    target = from_string("<target><path>/p</path></target>")
    sx.set_permissions(target, {"owner": 107, "mode": "0640", "label": None})
    assert sx.permissions(target) == {"mode": "0640", "owner": 107, "group": None, "label": None}
    assert [el.tag for el in target.find("permissions")] == ["mode", "owner"]
    assert parse_permissions({"mode": 0o640, "owner": "root", "group": "0"})["mode"] == "0640"
    assert parse_permissions({"mode": "755", "owner": "root", "group": "0"})["owner"] == 0
    for params, option in (({"mode": "0999"}, "mode"), ({"mode": "010000"}, "mode"), ({"mode": True}, "mode"),
                           ({"owner": "no-such-user-vct"}, "owner"), ({"group": "no-such-group-vct"}, "group"),
                           ({"label": " "}, "label")):
        with pytest.raises(InputError) as err:
            parse_permissions(params)
        assert err.value.option == option


def test_volume_xml_keeps_the_users_definition():
    user = from_string("<volume><name>v</name><key>/x</key><capacity unit='G'>1</capacity>"
                       "<target><path>/x</path><format type='raw'/><compat>1.1</compat></target></volume>")
    assert sx.volume_capacity(user) == 1 << 30
    out = from_string(sx.volume_xml("v", 2 << 30, "qcow2", 0, {"mode": "0600"}, user))
    assert out.find("key") is None and out.find("target/path") is None and out.findtext("target/compat") == "1.1"
    assert out.findtext("capacity") == str(2 << 30) and out.find("target/format").get("type") == "qcow2"
    assert out.findtext("target/permissions/mode") == "0600"
    assert [el.tag for el in sx.volume_rest(out).iter()] == ["volume", "name", "target", "compat"]
