#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: libvirt_domain
short_description: Manage a libvirt guest (domain) declaratively
version_added: 0.1.0
description:
  - Defines, changes, starts, stops, pauses, restarts and removes one libvirt guest so that it
    matches a declarative spec. Works with KVM, QEMU (TCG) and Xen through libvirt-python.
  - The spec becomes libvirt domain XML through an XML model. Anything not modelled by an option
    can be given in O(xml); the modelled options win where both say something.
  - Comparison is semantic. The module reads the guest's inactive definition back, overlays the
    spec on it and compares data, never text. Values libvirt generates or fills in (UUID, MAC
    addresses, PCI addresses, automatic controllers, the versioned machine type) are kept, never
    regenerated, and do not count as differences.
  - Only options you set are managed. O(disks) and O(nics), when set, are the complete lists; disks
    and NICs the guest has beyond them are removed.
  - Changes take the least disruptive way. On a running guest, disks and NICs are attached and
    detached live and in the persistent definition, a lower or higher O(current_memory) (up to
    O(memory)) and O(vcpus) (up to O(max_vcpus)) are set live, a CD-ROM gets a new medium live,
    and O(title) and O(description) change live. Any other change is written to
    the persistent definition and the result says RV(restart_required=true); O(state=rebooted)
    applies it.
  - A run that fails half-way undoes what it did, for example a new guest whose start fails is
    undefined again.
options:
  name:
    description:
      - Name of the guest.
      - Not empty, without C(/) or a newline, at most 247 bytes (libvirt keeps the definition in a file named after it).
    type: str
    required: true
  uuid:
    description:
      - UUID of a new guest. When omitted libvirt generates one, which is kept afterwards.
      - The UUID of an existing guest cannot change; a different value is an error.
    type: str
  title:
    description: Short title shown by virt-manager and C(virsh list --title).
    type: str
  description:
    description: Free-form description of the guest.
    type: str
  memory:
    description:
      - Maximum memory of the guest, as a size with a unit such as V(512MiB), V(1 GiB), V(2G).
        A bare number means MiB.
      - Takes effect on the next start of a running guest.
    type: raw
  current_memory:
    description:
      - Memory the guest gets now (the balloon target), at most O(memory). Defaults to O(memory).
      - Changed live on a running guest when O(memory) stays the same.
    type: raw
  vcpus:
    description:
      - Number of virtual CPUs the guest has (plugged).
      - Up to the maximum (O(max_vcpus)) they are hot-plugged or unplugged on a running guest;
        beyond it the maximum grows, which takes effect on the next start.
    type: int
  max_vcpus:
    description:
      - Maximum number of vCPUs, so that O(vcpus) can change live up to it. Needs O(vcpus).
      - When omitted a guest keeps its maximum (a new guest gets O(vcpus)), unless O(vcpus) is more.
    type: int
  cpu_mode:
    description:
      - CPU model mode. V(host-passthrough) and V(host-model) need KVM; V(maximum) gives the most
        features the hypervisor can offer.
      - When omitted the hypervisor default is used and not compared.
    type: str
    choices: [host-passthrough, host-model, maximum]
  arch:
    description: Guest CPU architecture, for example V(x86_64) or V(aarch64). Defaults to the host's.
    type: str
  machine:
    description:
      - Machine type, for example V(pc), V(q35) or a versioned one. Aliases such as V(pc) are compared
        with the versioned name libvirt stores.
    type: str
  virt_type:
    description:
      - Hypervisor the guest runs on (the domain C(type)).
      - V(auto) picks V(kvm) when libvirt's domain capabilities say KVM is usable and, for a local
        URI, the CPU really offers hardware virtualisation (inside a VM without nested
        virtualisation C(/dev/kvm) may exist but cannot run ordinary guests); otherwise V(qemu)
        (emulation, much slower) with a warning. With a C(xen://) URI it picks V(xen).
      - With V(auto), a C(type) given in O(xml) (C(<domain type='qemu'>)) is the type, at creation
        and on every rerun alike; otherwise an existing guest keeps the type it has.
      - A type the host cannot run (V(kvm) without usable KVM, V(xen) on a QEMU host) fails before
        anything is defined, naming the option (O(virt_type) or O(xml)) to change.
    type: str
    default: auto
    choices: [auto, kvm, qemu, xen]
  os_type:
    description:
      - V(hvm) for a fully virtualised guest (KVM, QEMU, Xen HVM), V(xen) for a Xen paravirtualised
        (PV) guest, which needs O(kernel) (or a bootloader given in O(xml)).
      - A new guest defaults to V(hvm).
    type: str
    choices: [hvm, xen]
  firmware:
    description:
      - V(uefi) lets libvirt pick UEFI firmware (OVMF) and keeps an NVRAM file, removed with the guest.
        V(bios) (SeaBIOS) is what a guest gets without this option.
    type: str
    choices: [bios, uefi]
  boot:
    description: Boot order, the complete list. Each entry is one of V(hd), V(cdrom), V(network), V(fd).
    type: list
    elements: str
  kernel:
    description: Kernel image for direct kernel boot (a path on the libvirt host).
    type: str
  initrd:
    description: Initial ramdisk for direct kernel boot.
    type: str
  cmdline:
    description: Kernel command line for direct kernel boot.
    type: str
  disks:
    description:
      - The guest's disks and CD-ROM drives, the complete list (see the description).
      - A disk is a file or block device (O(disks[].path)) or a volume of a libvirt storage pool
        (O(disks[].pool) and O(disks[].volume)); with O(disks[].size), O(disks[].backing) or
        O(disks[].clone_from) a missing volume is created - so one task clones a template, sizes,
        customises and starts a guest.
    type: list
    elements: dict
    suboptions:
      path:
        description:
          - File (or C(/dev/...) block device) on the libvirt host. A CD-ROM may have no path (empty drive).
        type: str
      pool:
        description: Storage pool of the volume. It must exist.
        type: str
      volume:
        description: Volume name in O(disks[].pool).
        type: str
      size:
        description:
          - Creates the volume when it does not exist yet, with this capacity (V(10GiB); a bare
            number means GiB) and format O(disks[].format) (default V(qcow2)).
          - A minimum - an existing volume that is smaller is grown in place (while the guest runs,
            through the guest, which sees the new size; the guest is never redefined or replaced);
            one that is larger is kept, never shrunk.
          - With O(disks[].backing) or O(disks[].clone_from) the new volume has the template's size,
            or this one if larger.
        type: raw
      backing:
        description:
          - Creates the missing volume as a linked clone of this volume of the same pool - a qcow2
            overlay whose backing file is the template, made in constant time whatever the template's
            size; the template must stay. The overlay is what O(remove_storage) deletes.
          - An existing volume is left as it is.
        type: str
      clone_from:
        description:
          - Creates the missing volume as a full copy of this volume of the same pool (independent of
            it, but as long to make as the template is large).
        type: str
      device:
        description: V(disk) or V(cdrom) (always read-only).
        type: str
        default: disk
        choices: [disk, cdrom]
      target:
        description:
          - Device name in the guest, for example V(vda). Defaults to the next free name for the
            bus, in list order (V(vda), V(vdb), ... for virtio, V(sda), ... for sata and scsi).
        type: str
      bus:
        description: Disk bus. Defaults to V(virtio) for disks and V(sata) for CD-ROMs.
        type: str
        choices: [virtio, sata, scsi, ide, usb, xen]
      format:
        description:
          - Image format (V(raw), V(qcow2), ...). Defaults to V(qcow2) for paths ending in C(.qcow2),
            the volume's own format for pool volumes, V(raw) otherwise.
        type: str
      cache:
        description: Host cache mode.
        type: str
        choices: [default, none, writethrough, writeback, directsync, unsafe]
      readonly:
        description: Attach the disk read-only.
        type: bool
        default: false
  nics:
    description:
      - The guest's network interfaces, the complete list (see the description). Set exactly one of
        O(nics[].network), O(nics[].bridge), O(nics[].ovs_bridge), O(nics[].direct).
      - A NIC without O(nics[].mac) gets a MAC from libvirt, which is kept afterwards; it is found
        again by its network or bridge.
    type: list
    elements: dict
    suboptions:
      network:
        description: A libvirt network. It must exist.
        type: str
      bridge:
        description: A Linux bridge on the host.
        type: str
      ovs_bridge:
        description: An Open vSwitch bridge on the host.
        type: str
      vlan:
        description: VLAN tag (1 to 4094) of the port on O(nics[].ovs_bridge) (access port).
        type: int
      direct:
        description: A host interface to attach to directly (macvtap).
        type: str
      direct_mode:
        description: macvtap mode for O(nics[].direct).
        type: str
        default: bridge
        choices: [bridge, vepa, private, passthrough]
      model:
        description: NIC model, for example V(virtio), V(e1000), V(rtl8139).
        type: str
        default: virtio
      mac:
        description: MAC address. When omitted libvirt generates one (52:54:00:...), kept afterwards.
        type: str
  graphics:
    description: A graphical console for virt-manager / remote viewers (VNC or SPICE).
    type: dict
    suboptions:
      type:
        description: Protocol.
        type: str
        default: vnc
        choices: [vnc, spice]
      listen:
        description: Address to listen on. The default keeps the console local to the host.
        type: str
        default: 127.0.0.1
      port:
        description: TCP port; V(-1) lets libvirt pick a free one (from 5900).
        type: int
        default: -1
      password:
        description:
          - Console password (VNC allows at most 8 characters). Never shown in results.
          - When omitted, a password the console already has is kept.
        type: str
  serial:
    description: A serial console (the guest's C(ttyS0)).
    type: dict
    suboptions:
      type:
        description: V(pty) for C(virsh console), V(file) to log the console to O(serial.path).
        type: str
        default: pty
        choices: [pty, file]
      path:
        description: Log file on the libvirt host, required for O(serial.type=file).
        type: str
  guest_agent:
    description: Add the QEMU guest agent channel (C(org.qemu.guest_agent.0)).
    type: bool
  autostart:
    description: Start the guest when libvirtd starts. Changed without touching the guest.
    type: bool
  xml:
    description:
      - Domain XML (a C(<domain>) document, complete or partial) for everything the options do not
        model. It is merged semantically with the definition; the options win where both say something.
      - Elements are matched by their identity (disks by target, NICs by MAC, controllers by type and
        index, ...) as far as the XML gives it; what it leaves to libvirt (an input's bus, a serial
        port's number, a controller's index, addresses) is matched with what libvirt filled in, and a
        device without any identity (an RNG, a sound card) that the XML changes is changed, not
        added a second time. So a second run with the same XML reports no change.
      - Sizes in any unit, UUIDs and MACs in any letter case, CPU sets in any notation
        (C(0,1) or C(0-1)) and attribute values that only restate libvirt's default
        (C(cache='default')) compare equal to what libvirt stores.
      - When libvirt drops or rewrites part of the definition anyway (an element it does not know,
        C(<model type='default'/>) of a video device), the module warns once, naming the parts, and
        records in the guest's C(<metadata>) (namespace C(urn:virtcloud:core)) that this input gave
        this definition. Reruns with the same input then report no change; a changed input, or a
        definition changed by something else, is compared and applied again.
      - C(<description>) text is kept exactly as given, leading and trailing whitespace included.
    type: str
  state:
    description:
      - V(present) - the guest is defined; a new guest stays shut off, an existing one keeps its run state.
      - V(running) - defined and running (a paused guest is resumed).
      - V(shutdown) - defined and shut off, gracefully (ACPI power button) within O(shutdown_timeout).
      - V(paused) - defined and paused (started paused when it was off).
      - V(rebooted) - shut down (as for V(shutdown)) and started again, which also applies changes
        that needed a restart. Always reports a change.
      - A guest can also be in a run state of its own making, reported as RV(domain.state).
        C(crashed) - its kernel panicked and libvirt kept it (C(<on_crash>preserve</on_crash>)); its
        kernel is dead, so V(running), V(paused), V(shutdown) and V(rebooted) first power it off (as
        C(virsh destroy) does), then start it as from shut off.
        C(pmsuspended) - it suspended itself to RAM (S3); V(running) wakes it up (C(virsh dompmwakeup)) and
        waits until it runs, V(paused) wakes it up and pauses it, V(shutdown) and V(rebooted) wake it up
        before the graceful shutdown. V(present) keeps either state.
      - V(absent) - powered off and undefined, with its NVRAM, managed save image and snapshot and
        checkpoint metadata. Its storage is kept unless O(remove_storage=true).
    type: str
    default: present
    choices: [present, running, shutdown, paused, rebooted, absent]
  shutdown_timeout:
    description: Seconds to wait for a graceful shutdown.
    type: int
    default: 120
  force:
    description: Power the guest off when it does not shut down within O(shutdown_timeout).
    type: bool
    default: false
  remove_storage:
    description:
      - With O(state=absent), also delete the guest's writable disks that are libvirt storage volumes
        (volumes of a pool, or files inside a pool's directory). Other files are left in place.
      - The cloud-init seed of O(cloud_init) is removed with them.
    type: bool
    default: false
  cloud_init:
    description:
      - A NoCloud seed for cloud-init in the guest. The module writes an ISO 9660 image labelled C(cidata)
        holding C(user-data), C(meta-data) and (when given) C(network-config) into the volume
        C(<name>-cidata.iso) of O(cloud_init.pool), and attaches it read-only as one more disk after
        O(disks) (which must be set).
      - The files are written deterministically (JSON, which YAML reads, with sorted keys), so a rerun
        compares the files read back from the seed with the task's and changes nothing when they match.
      - The seed is made for the first boot of a new guest. When the task's O(cloud_init) later differs
        from the seed of an existing guest, the module does not rewrite it; it warns, returns
        RV(domain.cloud_init.pending=true) and reports no change. O(cloud_init_apply=true) rebuilds the seed
        (with a new instance-id, so that cloud-init runs again on the next boot).
      - Needs the Python library pycdlib on the managed host (only when this option is set).
    type: dict
    suboptions:
      pool:
        description: Storage pool that holds the seed volume (usually the pool of the guest's disks).
        type: str
        required: true
      device:
        description:
          - How the seed is attached. V(cdrom) is a SATA CD-ROM (what cloud images expect);
            V(disk) is a read-only virtio disk, for guests without a CD-ROM driver.
        type: str
        default: cdrom
        choices: [cdrom, disk]
      user_data:
        description:
          - The user-data. A dict is written as C(#cloud-config) (for example C(packages), C(runcmd), C(users));
            a string is written as it is (a C(#cloud-config) document, a shell script, a MIME multipart).
        type: raw
      meta_data:
        description: The meta-data.
        type: dict
        suboptions:
          instance_id:
            description:
              - The C(instance-id). cloud-init runs its once-per-instance steps again when it changes.
              - Defaults to the guest name and a digest of the seed's other content, so that a rebuilt seed
                with other content gets a new one.
            type: str
          hostname:
            description: The guest's host name (C(local-hostname)); letters, digits, C(-) and C(.).
            type: str
      network_config:
        description:
          - A cloud-init network configuration (version 1 or 2), written as the seed's C(network-config),
            for example a dict with C(version=2) and C(ethernets), each NIC with C(dhcp4=true) or C(addresses).
        type: dict
      ssh_keys:
        description:
          - Public SSH keys, merged into the user-data's C(ssh_authorized_keys) (a dict O(cloud_init.user_data) only;
            with user-data given as text, put the keys into that text).
        type: list
        elements: str
  cloud_init_apply:
    description:
      - Rebuild the seed of an existing guest whose O(cloud_init) changed, with a new instance-id. The guest
        reads it on its next boot (a running guest is not restarted; the module warns).
    type: bool
    default: false
  wait_for:
    description:
      - After a real run (never in check mode), wait until the running guest is reachable, and return what was found.
      - V(ip) - the guest has an address. The sources are asked in this order, the first that answers wins;
        the DHCP leases of libvirt's networks, the guest agent, the host's ARP table.
        Returned as RV(addresses) and RV(address_source).
      - V(agent) - the QEMU guest agent answers a C(guest-ping) (see O(guest_agent)).
      - V(marker) - the text O(wait_marker) appears on the guest's serial console, which must be of
        type file (O(serial.type=file)); the log is read on the libvirt host, which must be the host the
        module runs on. Returns RV(marker_line).
      - On timeout the task fails, and the message lists every source tried and what it answered last.
      - Not with O(state=shutdown), O(state=paused) or O(state=absent).
    type: str
    choices: [ip, agent, marker]
  wait_timeout:
    description: Seconds O(wait_for) waits at most.
    type: int
    default: 120
  wait_marker:
    description: The text O(wait_for=marker) waits for, found anywhere in a line of the serial console log.
    type: str
extends_documentation_fragment:
  - virtcloud.core.libvirt
  - virtcloud.core.attributes
  - virtcloud.core.attributes.group_libvirt
notes:
  - A guest the module defines gets the C(acpi) and C(apic) features (for hvm guests), which PCI
    hot-plug and graceful shutdown need.
seealso:
  - module: virtcloud.core.libvirt_domains
  - module: virtcloud.core.libvirt_domain_info
  - module: virtcloud.core.libvirt_volume
  - module: virtcloud.core.libvirt_network
  - module: virtcloud.core.ova_import
  - module: virtcloud.core.ova_export
author:
  - virtcloud.core contributors (@virtcloud)
"""

EXAMPLES = r"""
- name: A directory pool to hold the volumes
  virtcloud.core.libvirt_pool:
    name: example-images
    path: /var/tmp/example-images

- name: A host-only network for the guest
  virtcloud.core.libvirt_network:
    name: example-lab
    forward: isolated
    address: 198.18.23.1/24

- name: A small guest on the network, with a new 1 GiB volume and a VNC console (defined, not booted)
  virtcloud.core.libvirt_domain:
    name: example-web1
    memory: 256 MiB
    vcpus: 2
    disks:
      - pool: example-images
        volume: example-web1.qcow2
        size: 1GiB
    boot: [hd, cdrom]
    nics:
      - network: example-lab
    graphics:
      type: vnc
      listen: 127.0.0.1
    state: present

- name: Add a second disk and a second NIC (hot-plugged when the guest runs)
  virtcloud.core.libvirt_domain:
    name: example-web1
    disks:
      - pool: example-images
        volume: example-web1.qcow2
      - pool: example-images
        volume: example-web1-data.qcow2
        size: 1GiB
    nics:
      - network: example-lab
      - network: example-lab
    state: present

- name: A template volume (in practice a base image - virtcloud.core.libvirt_volume source)
  virtcloud.core.libvirt_volume:
    pool: example-images
    name: example-template.qcow2
    capacity: 1GiB

- name: A second guest cloned from the template and sized in the same task (a linked clone, made in constant time)
  virtcloud.core.libvirt_domain:
    name: example-web2
    memory: 256 MiB
    disks:
      - pool: example-images
        volume: example-web2.qcow2
        backing: example-template.qcow2
        size: 2GiB
    state: present

- name: Remove the second guest (its overlay goes, the template stays)
  virtcloud.core.libvirt_domain:
    name: example-web2
    state: absent
    remove_storage: true

- name: Anything not modelled goes through xml (merged, idempotent)
  virtcloud.core.libvirt_domain:
    name: example-web1
    xml: |
      <domain>
        <devices>
          <watchdog model='i6300esb' action='reset'/>
          <rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>
        </devices>
      </domain>

- name: A guest made from a cloud image with a cloud-init seed, read by cloud-init on its first boot
  # (defined only here; with state=running, wait_for=ip would wait for the address of its DHCP lease)
  virtcloud.core.libvirt_domain:
    name: example-ci1
    memory: 256 MiB
    disks:
      - pool: example-images
        volume: example-ci1.qcow2
        size: 1GiB
    nics:
      - network: example-lab
    cloud_init:
      pool: example-images
      meta_data:
        hostname: ci1
      user_data:
        packages: [nginx]
        runcmd:
          - [systemctl, enable, --now, nginx]
      ssh_keys:
        - ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHc3XJQnV4ZpN6m1KpXqfWk2y7u0h0S1o3z9Qm5oZ8dE admin@example
    state: present

- name: Remove that guest, its disk and its seed
  virtcloud.core.libvirt_domain:
    name: example-ci1
    state: absent
    remove_storage: true

- name: Shut it down gracefully, powering it off after 60 s (nothing to do when it is not running)
  virtcloud.core.libvirt_domain:
    name: example-web1
    state: shutdown
    shutdown_timeout: 60
    force: true

- name: Remove the guest and its pool volumes
  virtcloud.core.libvirt_domain:
    name: example-web1
    state: absent
    remove_storage: true

- name: Remove the template
  virtcloud.core.libvirt_volume:
    pool: example-images
    name: example-template.qcow2
    state: absent

- name: Remove the network
  virtcloud.core.libvirt_network:
    name: example-lab
    state: absent

- name: Remove the pool and its directory
  virtcloud.core.libvirt_pool:
    name: example-images
    state: absent
    delete_data: true
"""

RETURN = r"""
actions:
  description: What was done (or, in check mode, would be done), in order.
  returned: always
  type: list
  elements: str
  sample: ["attach disk vdb (/srv/data.qcow2) to running guest web1", "enable autostart of web1"]
restart_required:
  description: Some changes are in the persistent definition only and take effect when the guest restarts.
  returned: when true
  type: bool
  sample: true
domain:
  description: The guest after the run (predicted in check mode), from its inactive definition; empty when absent.
  returned: always
  type: dict
  contains:
    name: {description: Guest name., type: str, returned: when present}
    uuid: {description: UUID (null for a guest still to be defined in check mode)., type: str, returned: when present}
    title: {description: Title., type: str, returned: when present}
    description: {description: Description., type: str, returned: when present}
    state:
      description: "Run state: running, paused or shutdown; crashed or pmsuspended for a guest left in one of those (see O(state))."
      type: str
      returned: when present
    autostart: {description: Whether libvirtd starts the guest., type: bool, returned: when present}
    virt_type: {description: "Hypervisor type (kvm, qemu, xen)", type: str, returned: when present}
    os_type: {description: "hvm, or xen for a Xen PV guest.", type: str, returned: when present}
    arch: {description: Architecture., type: str, returned: when present}
    machine: {description: Machine type., type: str, returned: when present}
    firmware: {description: bios or uefi., type: str, returned: when present}
    memory: {description: Maximum memory., type: str, returned: when present, sample: 1 GiB}
    current_memory: {description: Current memory., type: str, returned: when present, sample: 512 MiB}
    vcpus: {description: Number of vCPUs (plugged)., type: int, returned: when present}
    max_vcpus: {description: Maximum number of vCPUs., type: int, returned: when present}
    cpu_mode: {description: CPU mode., type: str, returned: when present}
    boot: {description: Boot order., type: list, elements: str, returned: when present}
    kernel: {description: Direct boot kernel., type: str, returned: when present}
    initrd: {description: Direct boot initrd., type: str, returned: when present}
    cmdline: {description: Direct boot kernel command line., type: str, returned: when present}
    disks:
      description: Disks (target, bus, device, type, path, pool, volume, format, cache, readonly).
      type: list
      elements: dict
      returned: when present
    nics:
      description: NICs (type, mac, network, bridge, source, vlan, model).
      type: list
      elements: dict
      returned: when present
    graphics:
      description: Graphical consoles (type, listen, port, password_set); never the password.
      type: list
      elements: dict
      returned: when present
    serial:
      description: Serial ports (type, path).
      type: list
      elements: dict
      returned: when present
    guest_agent: {description: Whether the guest agent channel is present., type: bool, returned: when present}
    cloud_init:
      description: The cloud-init seed (with O(cloud_init)).
      type: dict
      returned: when O(cloud_init) is set
      contains:
        seed: {description: "The seed volume, as pool/volume.", type: str, sample: images/web1-cidata.iso}
        exists: {description: Whether the seed volume exists., type: bool}
        instance_id: {description: The instance-id in the seed., type: str, sample: web1-3f2a9c0d11e4}
        pending:
          description: The task's O(cloud_init) differs from the seed, which was kept (see O(cloud_init_apply)).
          type: bool
addresses:
  description: The guest's addresses found by O(wait_for=ip), from the first source that had any.
  returned: with O(wait_for=ip)
  type: list
  elements: dict
  contains:
    interface: {description: "The interface name (the host's vnet device for leases and ARP, the guest's own for the agent).", type: str}
    mac: {description: MAC address., type: str}
    address: {description: IPv4 or IPv6 address., type: str}
    prefix: {description: Prefix length., type: int}
    source: {description: "lease, agent or arp.", type: str}
  sample: [{"interface": "vnet3", "mac": "52:54:00:12:34:56", "address": "198.18.23.10", "prefix": 24, "source": "lease"}]
address_source:
  description: "Where the addresses came from: lease, agent or arp."
  returned: with O(wait_for=ip)
  type: str
  sample: lease
marker_line:
  description: The serial console line that contained O(wait_marker).
  returned: with O(wait_for=marker)
  type: str
agent:
  description: The guest agent answered.
  returned: with O(wait_for=agent)
  type: bool
waited:
  description: Seconds spent waiting.
  returned: with O(wait_for)
  type: float
tried:
  description: On a O(wait_for) timeout, what each source answered last.
  returned: on a wait_for timeout
  type: list
  elements: str
  sample: ["lease: none on network lab", "agent: Guest agent is not responding", "arp: no entry for 52:54:00:12:34:56"]
"""

from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import run
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.domain import DomainService


def main():
    run(DomainService)


if __name__ == "__main__":
    main()
