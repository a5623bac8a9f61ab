# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An OVF package as a list of byte ranges: a tar .ova, or a directory-form .ovf with its files beside it.

Nothing is ever extracted. The tar headers (ustar, GNU and pax) are read with tarfile's header walk only
(`TarFile.next`, which seeks over the data); each regular member is recorded as (offset, size) in the
.ova, and readers open that range themselves. Hostile packages are refused with an InputError naming
the option before anything is written: names that leave the package ('..', absolute paths, sub
directories), links, devices, fifos, sparse members, duplicate names, truncated archives, several
descriptors, absurd member counts.
"""

from __future__ import annotations

import os
import re
import stat
import tarfile

from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import InputError

MAX_MEMBERS = 4096          # a real OVA has a descriptor, a manifest, a certificate and a few disks
MAX_DESCRIPTOR = 16 << 20   # bytes; real descriptors are a few KiB (a long EULA makes tens of KiB)
CHUNK_SUFFIX = re.compile(r"\.(\d{9})$")


class Truncated(OSError):
    """A member's file ends before the member does (the archive was cut short after it was opened)."""


class Member:
    """One file of the package: `size` bytes at `offset` of `path` (the .ova itself, or the file
    beside a directory-form .ovf)."""

    __slots__ = ("name", "path", "offset", "size")

    def __init__(self, name, path, offset, size):
        self.name = name
        self.path = path
        self.offset = offset
        self.size = size

    def __repr__(self):
        return "Member(%r, %r, offset=%d, size=%d)" % (self.name, self.path, self.offset, self.size)

    def blocks(self, chunk=1 << 20):
        """The member's bytes, `chunk` at a time; Truncated when the file ends before the member does."""
        left = self.size
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            while left:
                data = f.read(min(chunk, left))
                if not data:
                    raise Truncated("%s ends %d bytes before the end of member %s" % (self.path, left, self.name))
                left -= len(data)
                yield data

    def read(self, limit=None):
        """The member's bytes (at most `limit`: callers reading a descriptor bound it)."""
        size = self.size if limit is None else min(self.size, limit)
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            data = f.read(size)
        if len(data) != size:
            raise OSError("%s ends %d bytes early" % (self.path, size - len(data)))
        return data


def check_name(name, option, what="member name"):
    """A package file name must be a plain name of the package's top level: no directory part, no
    '..', no absolute path, no drive or URL. Returns the name."""
    problem = None
    if not name:
        problem = "is empty"
    elif "\x00" in name or any(ord(c) < 32 for c in name):
        problem = "contains control characters"
    elif name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        problem = "is an absolute path"
    elif name in (".", "..") or ".." in re.split(r"[/\\]", name):
        problem = "points outside the package ('..')"
    elif "/" in name or "\\" in name:
        problem = "is in a sub-directory; OVF package files are plain names in the package's top level"
    else:
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:
            problem = "is not valid UTF-8"
    if problem:
        raise InputError(option, "%s %r %s" % (what, name, problem))
    return name


def _kind(info):
    for test, kind in ((info.issym, "a symbolic link"), (info.islnk, "a hard link"),
                       (info.ischr, "a character device"), (info.isblk, "a block device"),
                       (info.isfifo, "a fifo")):
        if test():
            return kind
    if info.issparse():
        return "a sparse file"
    return "of tar type %r" % info.type


class Source:
    """An OVF package opened for reading. Use `Source.open(path, option)`."""

    def __init__(self, path, kind, members, descriptor_name, descriptor, manifest_name, certificate_name,
                 warnings, option):
        self.path = path
        self.kind = kind                  # 'ova' or 'ovf'
        self._members = members           # name -> Member, in archive order
        self.descriptor_name = descriptor_name
        self.descriptor = descriptor
        self.manifest_name = manifest_name
        self.certificate_name = certificate_name
        self.warnings = warnings
        self.option = option

    # ------------------------------------------------------------------ opening
    @classmethod
    def open(cls, path, option="src"):
        if not isinstance(path, str) or not path:
            raise InputError(option, "expected the path of an .ova or .ovf file, got %r" % (path,))
        try:
            st = os.stat(path)
        except OSError as exc:
            raise InputError(option, "cannot read %s: %s" % (path, exc.strerror or exc))
        if not stat.S_ISREG(st.st_mode):
            raise InputError(option, "%s is not a regular file (an .ova archive or an .ovf descriptor)" % path)
        with open(path, "rb") as f:
            head = f.read(512)
        lower = path.lower()
        looks_xml = head.lstrip()[:1] == b"<" or head[:3] == b"\xef\xbb\xbf"
        if lower.endswith(".ovf") or (not lower.endswith(".ova") and looks_xml):
            return cls._directory(path, st, option)
        return cls._tar(path, st, option)

    @classmethod
    def _tar(cls, path, st, option):
        what = "%s is not a usable OVA (a tar archive of an OVF package)" % path
        members, order, warnings = {}, [], []
        try:
            with open(path, "rb") as f, tarfile.TarFile(fileobj=f, mode="r") as tar:
                while True:
                    info = tar.next()
                    if info is None:
                        break
                    if len(order) >= MAX_MEMBERS:
                        raise InputError(option, "%s: it has more than %d members" % (what, MAX_MEMBERS))
                    name = info.name[2:] if info.name.startswith("./") else info.name
                    if info.isdir():
                        if name.strip("/") not in ("", "."):
                            raise InputError(option, "%s: directory member %r; OVF package files are plain "
                                                     "names in the archive's top level" % (what, info.name))
                        continue
                    check_name(name, option, "%s: member" % what)
                    if not info.isreg() or info.issparse():
                        raise InputError(option, "%s: member %r is %s; only regular files are accepted"
                                         % (what, info.name, _kind(info)))
                    if name in members:
                        raise InputError(option, "%s: member %r appears twice" % (what, name))
                    if info.offset_data + info.size > st.st_size:
                        raise InputError(option, "%s: it is truncated (member %r needs %d bytes, the file "
                                                 "ends %d bytes early)"
                                         % (what, name, info.size, info.offset_data + info.size - st.st_size))
                    members[name] = Member(name, path, info.offset_data, info.size)
                    order.append(name)
        except tarfile.TarError as exc:
            raise InputError(option, "%s (%s)" % (what, exc))
        except OSError as exc:
            raise InputError(option, "cannot read %s: %s" % (path, exc.strerror or exc))
        descriptors = [n for n in order if n.lower().endswith(".ovf")]
        if not descriptors:
            raise InputError(option, "%s: it holds no .ovf descriptor (members: %s)"
                             % (what, ", ".join(order[:10]) or "none"))
        if len(descriptors) > 1:
            raise InputError(option, "%s: it holds %d descriptors (%s); an OVA holds exactly one .ovf"
                             % (what, len(descriptors), ", ".join(descriptors)))
        name = descriptors[0]
        if order[0] != name:
            warnings.append("%s: the descriptor %s is not the archive's first member, as the OVF standard "
                            "requires (%s is); read anyway" % (path, name, order[0]))
        descriptor = cls._descriptor(members[name], option)
        manifest = cls._companion(order, name, ".mf", option, what)
        certificate = cls._companion(order, name, ".cert", option, what)
        return cls(path, "ova", {n: members[n] for n in order}, name, descriptor, manifest, certificate,
                   warnings, option)

    @classmethod
    def _directory(cls, path, st, option):
        folder, name = os.path.split(os.path.abspath(path))
        descriptor = cls._descriptor(Member(name, path, 0, st.st_size), option)
        source = cls(path, "ovf", {}, name, descriptor, None, None, [], option)
        base = os.path.splitext(name)[0]
        found = {name: Member(name, path, 0, st.st_size)}
        # the package: the descriptor, its manifest and certificate, and what its References name
        # (hrefs, or their chunks href.000000000 ...); other files of the directory are not part of it
        from ansible_collections.virtcloud.core.plugins.module_utils.ova import ovf
        hrefs = set(ovf.references(descriptor, option))
        try:
            entries = sorted(os.listdir(folder))
        except OSError as exc:
            raise InputError(option, "cannot list %s: %s" % (folder, exc.strerror or exc))
        for entry in entries:
            stem = CHUNK_SUFFIX.sub("", entry)
            if entry in (base + ".mf", base + ".cert") or entry in hrefs or (stem != entry and stem in hrefs):
                found[entry] = source._beside(entry)
        source._members = found
        source.manifest_name = base + ".mf" if base + ".mf" in found else None
        source.certificate_name = base + ".cert" if base + ".cert" in found else None
        return source

    @staticmethod
    def _descriptor(member, option):
        if member.size > MAX_DESCRIPTOR:
            raise InputError(option, "the descriptor %s is %d bytes, more than the %d bytes an OVF descriptor "
                                     "may have here" % (member.name, member.size, MAX_DESCRIPTOR))
        try:
            return member.read()
        except OSError as exc:
            raise InputError(option, "cannot read the descriptor %s: %s" % (member.name, exc))

    @staticmethod
    def _companion(order, descriptor, suffix, option, what):
        """The manifest (.mf) or certificate (.cert): the one named after the descriptor, else the only one."""
        named = os.path.splitext(descriptor)[0] + suffix
        if named in order:
            return named
        found = [n for n in order if n.lower().endswith(suffix)]
        if len(found) > 1:
            raise InputError(option, "%s: it holds several %s files (%s) and none is named %s"
                             % (what, suffix, ", ".join(found), named))
        return found[0] if found else None

    def _beside(self, name):
        """A file beside a directory-form .ovf: a regular file (not a link) of that very directory."""
        check_name(name, self.option, "file")
        folder = os.path.dirname(os.path.abspath(self.path))
        full = os.path.join(folder, name)
        try:
            st = os.lstat(full)
        except OSError as exc:
            raise InputError(self.option, "%s names %s, which cannot be read beside it: %s"
                             % (self.path, name, exc.strerror or exc))
        if not stat.S_ISREG(st.st_mode):
            raise InputError(self.option, "%s names %s, which is %s, not a regular file; links are not followed"
                             % (self.path, name, "a symbolic link" if stat.S_ISLNK(st.st_mode) else "not a file"))
        return Member(name, full, 0, st.st_size)

    # ------------------------------------------------------------------ reading
    def members(self):
        return list(self._members.values())

    def member(self, name):
        """The member `name`; an InputError when the package has no such (plain-named) file."""
        check_name(name, self.option, "file")
        member = self._members.get(name)
        if member is None:
            if self.kind == "ovf":  # a directory-form package may be asked for a file its References omit
                member = self._beside(name)
                self._members[name] = member
                return member
            raise InputError(self.option, "%s has no member %s" % (self.path, name))
        return member

    def file_members(self, href, chunk_size=None):
        """The members holding the File `href`: itself, or with ovf:chunkSize its chunks
        href.000000000, href.000000001 ... in order (every chunk but the last is chunk_size bytes)."""
        if not chunk_size:
            return [self.member(href)]
        chunks = []
        while True:
            name = "%s.%09d" % (href, len(chunks))
            if name not in self._members:
                break
            chunks.append(self._members[name])
        if not chunks:
            raise InputError(self.option, "%s has no chunks of %s (%s.000000000 ...)" % (self.path, href, href))
        for chunk in chunks[:-1]:
            if chunk.size != chunk_size:
                raise InputError(self.option, "%s: chunk %s is %d bytes, not the chunk size %d"
                                 % (self.path, chunk.name, chunk.size, chunk_size))
        return chunks
