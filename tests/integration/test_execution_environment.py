"""The execution environment docs/execution-environment.md describes, without building an image:
`ansible-builder create` makes a build context from the documented definition and the collection's
tarball, `ansible-builder introspect` reads the installed tarball as the builder stage does, and
the bindep file it writes is evaluated the way ansible-builder's scripts do (`bindep -l newline`
for the final image, `bindep -b compile` for the builder stage) on an RPM and a Debian platform."""

from __future__ import annotations

import os
import re
import subprocess

import pytest
import yaml

from conftest import ROOT, VENV_BIN, sh  # noqa: E402

DOC = os.path.join(ROOT, "docs", "execution-environment.md")
PLATFORMS = {
    "rpm": ["platform:rpm", "platform:redhat", "platform:fedora", "platform:dnf"],
    "dpkg": ["platform:dpkg", "platform:debian", "platform:apt"],
}
# What each image gets: libvirt's client library and qemu-img in the final image; what compiles
# libvirt-python only in the builder stage.
FINAL = {"rpm": {"libvirt-libs", "qemu-img", "lxc-libs"}, "dpkg": {"libvirt0", "qemu-utils", "liblxc1"}}
COMPILE_ONLY = {"rpm": {"libvirt-devel", "pkgconf-pkg-config", "gcc", "python3-devel", "lxc-devel"},
                "dpkg": {"libvirt-dev", "pkg-config", "gcc", "python3-dev", "lxc-dev"}}
DAEMON = re.compile(r"dnsmasq|libvirt-daemon|^libvirt$|docker|containerd|^lxd|^lxc$|openvswitch|qemu-system|qemu-kvm")


def _tool(name):
    path = os.path.join(VENV_BIN, name)
    if not os.path.exists(path):
        pytest.fail("%s missing from the venv: requirements-dev.txt names it (scripts/host.sh venv)" % name)
    return path


def _documented_definition():
    text = open(DOC).read()
    block = re.search(r"`execution-environment\.yml`:\n\n```yaml\n(.*?)```", text, re.S)
    assert block, "docs/execution-environment.md lost its definition"
    return block.group(1)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """{tarball, collections}: the collection built from the work tree and installed as the EE's
    galaxy stage installs it."""
    base = tmp_path_factory.mktemp("ee")
    sh(os.path.join(VENV_BIN, "ansible-galaxy"), "collection", "build", ROOT, "--output-path", base / "dist")
    [name] = os.listdir(base / "dist")
    tarball = base / "dist" / name
    # --force: the work tree's own collections path already has virtcloud.core of this version
    sh(os.path.join(VENV_BIN, "ansible-galaxy"), "collection", "install", "--force", tarball,
       "-p", base / "collections")
    assert (base / "collections" / "ansible_collections" / "virtcloud" / "core" / "MANIFEST.json").is_file()
    return {"tarball": tarball, "collections": base / "collections", "base": base}


def _rules(bindep_text, profiles):
    from bindep.depends import Depends  # ansible-builder's own dependency
    depends = Depends(bindep_text)
    return {rule[0] for rule in depends.active_rules(profiles)}


def test_create_makes_a_context_from_the_documented_definition(built, tmp_path):
    definition = _documented_definition()
    name = os.path.basename(built["tarball"])
    definition = re.sub(r"virtcloud-core-[0-9][^/\s]*\.tar\.gz", name, definition)
    (tmp_path / "execution-environment.yml").write_text(definition)
    (tmp_path / name).write_bytes(built["tarball"].read_bytes())
    proc = subprocess.run([_tool("ansible-builder"), "create", "--file", "execution-environment.yml",
                           "--context", "context", "--output-filename", "Containerfile"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    context = tmp_path / "context"
    containerfile = (context / "Containerfile").read_text()
    base_image = yaml.safe_load(definition)["images"]["base_image"]["name"]
    assert 'ARG EE_BASE_IMAGE="%s"' % base_image in containerfile
    stages = dict(re.findall(r"^FROM \S+ AS (\w+)\n(.*?)(?=^FROM |\Z)", containerfile, re.S | re.M))
    assert set(stages) == {"base", "galaxy", "builder", "final"}, list(stages)
    assert "ansible-galaxy collection install" in stages["galaxy"] and "requirements.yml" in stages["galaxy"]
    # the builder stage collects the collections' requirements and installs compile packages ...
    assert "introspect" in stages["builder"] and "/output/scripts/assemble" in stages["builder"]
    # ... the final one installs only what assemble listed for it (bindep's default profile)
    assert "/output/scripts/install-from-bindep" in stages["final"] and "assemble" not in stages["final"]
    assert "ansible-core>=2.17" in containerfile
    requirements = yaml.safe_load((context / "_build" / "requirements.yml").read_text())
    [entry] = requirements["collections"]
    assert entry["type"] == "file" and entry["name"].endswith("/" + name)
    shipped = context / "_build" / "collections" / name
    assert shipped.read_bytes() == built["tarball"].read_bytes()
    assert "bindep -l newline" in (context / "_build" / "scripts" / "assemble").read_text()


def test_introspect_reads_the_installed_collection(built, tmp_path):
    pip, bindep = tmp_path / "requirements.txt", tmp_path / "bindep.txt"
    sh(_tool("ansible-builder"), "introspect", "--sanitize", "--write-pip", pip, "--write-bindep", bindep,
       built["collections"])
    wanted = [line.split("#")[0].strip() for line in open(os.path.join(ROOT, "requirements.txt"))
              if line.split("#")[0].strip()]
    assert [line.split("#")[0].strip() for line in pip.read_text().splitlines()] == wanted
    assert all(line.endswith("# from collection virtcloud.core") for line in bindep.read_text().splitlines())
    text = bindep.read_text()
    for family, profiles in PLATFORMS.items():
        final = _rules(text, ["default"] + profiles)
        builder = _rules(text, ["compile"] + profiles)
        assert final == FINAL[family], family
        assert builder - final == COMPILE_ONLY[family], family
        assert final <= builder  # the builder stage has the runtime libraries too (libvirt-python links them)
        assert not [p for p in builder if DAEMON.search(p)], family


def test_debian_package_names_are_real():
    """This host is Debian and scripts/host.sh installed every one of them: the dpkg names are
    packages, not guesses."""
    names = sorted(FINAL["dpkg"] | COMPILE_ONLY["dpkg"])
    proc = sh("dpkg-query", "-W", "-f", "${Package} ${Status}\n", *names, check=False)
    installed = {line.split()[0] for line in proc.stdout.splitlines() if line.endswith("install ok installed")}
    assert installed == set(names), proc.stdout + proc.stderr


def test_the_collection_points_ansible_builder_at_its_files():
    meta = yaml.safe_load(open(os.path.join(ROOT, "meta", "execution-environment.yml")))
    assert meta["dependencies"] == {"python": "requirements.txt", "system": "bindep.txt"}
    for path in meta["dependencies"].values():
        assert os.path.isfile(os.path.join(ROOT, path))
