"""The one XML parser every libvirt service uses: entities are never expanded, nothing is fetched."""

from __future__ import annotations

from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.xmledit import child, etree, from_string, replace_children


def test_external_entities_are_not_read(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("TOP-SECRET")
    xml = ('<!DOCTYPE network [<!ENTITY x SYSTEM "file://%s">]>'
           "<network><name>&x;</name></network>" % secret)
    root = from_string(xml)
    assert "TOP-SECRET" not in (root.findtext("name") or "")


def test_parses_text_and_bytes_alike():
    assert from_string("<pool><name>a</name></pool>").findtext("name") == "a"
    assert from_string(b"<pool><name>a</name></pool>").findtext("name") == "a"


def test_child_finds_or_creates():
    root = from_string("<domain><name>a</name></domain>")
    assert child(root, "name").text == "a"
    child(root, "uuid").text = "u"
    assert root.findtext("uuid") == "u" and len(root.findall("name")) == 1


def test_replace_children_puts_the_elements_where_the_first_old_one_was():
    root = from_string("<network><name>a</name><pg n='1'/><mtu/><pg n='2'/></network>")
    replace_children(root, "pg", [etree.Element("pg", n="3"), etree.Element("pg", n="4")])
    assert [(el.tag, el.get("n")) for el in root] == [("name", None), ("pg", "3"), ("pg", "4"), ("mtu", None)]
    replace_children(root, "pg", [])
    assert [el.tag for el in root] == ["name", "mtu"]
    replace_children(root, "dns", [etree.Element("dns")])
    assert [el.tag for el in root] == ["name", "mtu", "dns"]
