#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: docker_container
short_description: Manage a Docker container declaratively
version_added: 0.1.0
description:
  - Creates, starts, stops, updates and removes one Docker container so that it matches the spec.
  - Only options you set are compared. Values the image supplies (its environment, command,
    entrypoint, labels) never cause a recreate.
  - Changes Docker can apply to a running container (O(restart_policy), O(memory), O(cpus),
    O(pids_limit), O(memory_reservation), O(memory_swap), O(cpu_shares), O(cpuset_cpus), O(networks))
    are applied in place; any other difference replaces the container. The replacement is created under a temporary
    name first, so a spec Docker refuses leaves the old container running.
  - Everything the module creates carries the label C(io.virtcloud.managed-by=virtcloud.core).
options:
  name:
    description: Container name.
    type: str
    required: true
  image:
    description:
      - Image reference (C(repo:tag) or ID). Required to create a container.
      - The container is recreated when the image ID behind the reference changes.
      - The image must exist on the host; use M(virtcloud.core.docker_image) to pull, build or import it.
    type: str
  command:
    description:
      - Command to run, as a list or as a string split like a shell would.
      - When omitted the image's default command is used and not compared. V([]) asks for the
        image's default command explicitly; a container running another command is recreated.
      - Recreates the container when it differs.
    type: raw
  entrypoint:
    description: Entrypoint as a list. When omitted the image's entrypoint is used and not compared.
    type: list
    elements: str
  env:
    description:
      - Environment variables. Values must be strings (quote C("true"), C("1")).
      - Variables the image sets are not compared unless you name them here.
    type: dict
  env_file:
    description:
      - File on the managed host with C(KEY=VALUE) lines, as C(docker run --env-file); lines starting
        with C(#) are comments, a bare C(KEY) takes the value from the module's environment.
      - Merged with O(env); O(env) wins for a key set in both.
    type: path
  published_ports:
    description:
      - Ports to publish, in C(docker run -p) syntax C([IP:][HOST_PORT:]CONTAINER_PORT[/PROTO]),
        for example C(127.0.0.1:8088:80), C(53:53/udp), C(8000-8002:80-82), C([::1]:8443:443).
      - The list is compared as a set.
    type: list
    elements: str
    aliases: [ports]
  mounts:
    description:
      - Bind mounts, named volumes and tmpfs mounts. Compared as a set. Recreates the container when it differs.
      - Anonymous volumes the image declares (C(VOLUME)) are not compared.
      - O(volumes) adds to this list.
    type: list
    elements: dict
    suboptions:
      type:
        description: Kind of mount.
        type: str
        default: volume
        choices: [bind, volume, tmpfs]
      source:
        description:
          - V(bind) - an existing absolute path on the host. V(volume) - the volume name (Docker
            creates a missing one; M(virtcloud.core.docker_volume) sets its driver and labels).
          - Not used with V(tmpfs).
        type: str
      target:
        description: Absolute path inside the container.
        type: str
        required: true
      read_only:
        description: Mount read-only.
        type: bool
        default: false
      tmpfs_size:
        description: Size limit of a V(tmpfs) mount, for example C(64m).
        type: str
  volumes:
    description:
      - Mounts in C(docker run -v) syntax, added to O(mounts) - C(SOURCE:TARGET[:ro|rw]) where an absolute
        C(SOURCE) is a bind mount of an existing host path and any other is a named volume, or C(TARGET)
        alone for an anonymous volume (Docker names it; it is compared by its target).
      - Two mounts on one target (here and in O(mounts)) are an error.
    type: list
    elements: str
  volumes_from:
    description:
      - Containers whose volumes this one mounts too, C(NAME) or C(NAME:ro). Compared as a set;
        recreates the container when it differs.
    type: list
    elements: str
  networks:
    description:
      - Networks the container is attached to. When given, the container is attached to exactly
        these networks, in place of the default C(bridge); list C(bridge) to keep it. V([]) - on
        no network at all (only its loopback interface), from the first run.
      - Changed in place (disconnect / connect) without recreating the container.
      - The networks must exist (M(virtcloud.core.docker_network)).
      - Not used with O(network_mode=host), V(none) or V(container:NAME).
    type: list
    elements: dict
    suboptions:
      name:
        description: Network name.
        type: str
        required: true
      aliases:
        description: DNS aliases of the container on this network.
        type: list
        elements: str
      ipv4_address:
        description: Fixed IPv4 address inside the network's subnet.
        type: str
      ipv6_address:
        description:
          - Fixed IPv6 address inside the network's IPv6 subnet (the network needs one, see
            M(virtcloud.core.docker_network)). Compared as an address, so C(fd00::0010) equals C(fd00::10).
        type: str
  network_mode:
    description:
      - V(bridge) (Docker's default network), V(host) (the host's network stack), V(none) (loopback
        only), V(container:NAME) (the network stack of another container) or the name of a network
        to create the container on.
      - With V(host), V(none) and V(container:NAME) the container joins no networks, so O(networks)
        must be left out. A network named here is one of the container's O(networks) in any case.
      - When omitted, the first entry of O(networks) (or C(bridge)) is used and the mode is not compared.
      - Recreates the container when it differs.
    type: str
  labels:
    description: Labels of the container. Labels the image sets are not compared unless named here.
    type: dict
  user:
    description: User (and group) the command runs as, C(name), C(uid) or C(uid:gid).
    type: str
  working_dir:
    description: Working directory of the command.
    type: str
  hostname:
    description: Hostname inside the container.
    type: str
  cap_add:
    description: Capabilities to add, for example C(NET_ADMIN) (the C(CAP_) prefix is optional). Compared as a set.
    type: list
    elements: str
  cap_drop:
    description: Capabilities to drop. Compared as a set.
    type: list
    elements: str
  read_only:
    description: Mount the container's root filesystem read-only.
    type: bool
  healthcheck:
    description:
      - Health check. Fields you leave out come from the image and are not compared.
      - Durations are seconds or Go-style strings such as C(30s), C(1m30s), C(500ms).
    type: dict
    suboptions:
      test:
        description:
          - A string runs in a shell (C(CMD-SHELL)); a list is an argv (C(CMD)); C([NONE]) disables
            the image's health check.
        type: raw
      interval:
        description: Time between two checks.
        type: str
      timeout:
        description: Time one check may take.
        type: str
      retries:
        description: Consecutive failures that make the container unhealthy.
        type: int
      start_period:
        description: Grace period after start during which failures do not count.
        type: str
  wait_healthy:
    description:
      - After starting the container, wait until its health check reports C(healthy); fail when it
        reports C(unhealthy), the container exits, or O(wait_healthy_timeout) passes.
    type: bool
    default: false
  wait_healthy_timeout:
    description: Seconds O(wait_healthy) waits at most.
    type: int
    default: 120
  log_driver:
    description: Logging driver, for example C(json-file), C(local), C(none).
    type: str
  log_options:
    description: Options of the logging driver, for example C(max-size). Requires O(log_driver).
    type: dict
  memory:
    description:
      - Memory limit, in bytes or with a unit - C(512m), C(2G), C(1GiB) are binary (as in
        C(docker run -m)), C(500MB) is decimal. Swap is limited to the same amount again, as
        C(docker run -m) does. Changed in place.
      - V(0) removes the limit; Docker cannot do that in place, so the container is recreated.
    type: str
  cpus:
    description: CPU limit in CPUs (C(0.5) is half a CPU), changed in place. V(0) removes the limit (recreate).
    type: float
  pids_limit:
    description: Maximum number of processes, changed in place. V(0) removes the limit (recreate).
    type: int
  restart_policy:
    description: Docker restart policy, applied in place without recreating the container.
    type: str
    choices: ["no", always, on-failure, unless-stopped]
  privileged:
    description:
      - Give the container every capability and access to the host's devices. Recreates the container.
    type: bool
  devices:
    description:
      - Host devices to add, as C(HOST_PATH[:CONTAINER_PATH][:PERMISSIONS]) (for example C(/dev/fuse),
        C(/dev/sda:/dev/xvda:rwm), C(/dev/snd:r)) or as dicts with C(path_on_host), C(path_in_container)
        and C(cgroup_permissions). The path inside defaults to the host path, the permissions to C(rwm).
      - Compared as a set. Recreates the container.
      - When the module runs on the Docker host (a C(unix://) O(docker_host)), a device that does not
        exist there is refused before anything changes.
    type: list
    elements: raw
  ulimits:
    description:
      - Resource limits as C(TYPE:SOFT[:HARD]), for example C(nofile:1024:2048) (C(nofile=1024:2048) as
        in C(docker run --ulimit) works too); the hard limit defaults to the soft one, C(-1) is unlimited.
      - Compared as a set. Recreates the container.
    type: list
    elements: str
  sysctls:
    description:
      - Namespaced kernel parameters (C(kernel.msg*), C(kernel.sem), C(kernel.shm*), C(kernel.domainname),
        C(fs.mqueue.*), C(net.*)), for example C(net.ipv4.ip_forward) set to C("1"). Values must be strings or whole
        numbers. Recreates the container.
    type: dict
  security_opts:
    description:
      - Security options, for example C(no-new-privileges), C(apparmor=PROFILE), C(label=type:svirt_lxc_net_t),
        C(seccomp=unconfined) (a seccomp profile is given as its JSON text, not as a file name).
      - Compared as a set; C(label=disable), which Docker adds by itself to a privileged container or one in
        the host's PID or IPC namespace, is compared only when listed. Recreates the container.
    type: list
    elements: str
  init:
    description: Run an init process as PID 1 that reaps zombies and forwards signals. Recreates the container.
    type: bool
  tty:
    description: Allocate a pseudo-terminal. Recreates the container.
    type: bool
  interactive:
    description: Keep the standard input open. Recreates the container.
    type: bool
  shm_size:
    description:
      - Size of C(/dev/shm), in bytes or with a unit (C(64m), C(1GiB)); more than 0. Docker's default is
        64 MiB. Recreates the container.
    type: str
  dns_servers:
    description: DNS servers (IP addresses) of the container, in order. Recreates the container.
    type: list
    elements: str
  dns_search_domains:
    description: DNS search domains of the container, in order. Recreates the container.
    type: list
    elements: str
  etc_hosts:
    description:
      - Extra C(/etc/hosts) entries, host name to IP address (or C(host-gateway), the host's address).
        Recreates the container.
    type: dict
  memory_reservation:
    description:
      - Soft memory limit, in bytes or with a unit (as O(memory)); at most O(memory). Changed in place.
      - V(0) removes it; Docker cannot do that in place, so the container is recreated.
    type: str
  memory_swap:
    description:
      - Memory and swap together, in bytes or with a unit; at least O(memory), which it needs. V(-1) leaves
        swap unlimited. Changed in place.
      - V(0) is Docker's default, twice O(memory) (what a container gets without this option; it reads back
        as V(0)). Returning to it from another value recreates the container.
    type: str
  cpu_shares:
    description:
      - Relative CPU weight, 2 to 262144 (1024 is the default weight). Changed in place.
      - V(0) returns to the default; Docker cannot do that in place, so the container is recreated.
    type: int
  cpuset_cpus:
    description:
      - CPUs the container may use, for example C(0-2,4). Changed in place. An empty string allows all CPUs
        again; Docker cannot do that in place, so the container is recreated.
    type: str
  stop_signal:
    description:
      - Signal that stops the container, as a name (C(SIGTERM), C(TERM), C(SIGRTMIN+3)) or a number. When
        omitted the image's (or C(SIGTERM)) is used and not compared. Recreates the container.
    type: str
  pid_mode:
    description:
      - PID namespace - V(private) (the default), V(host), or C(container:NAME) to join another container's
        (which must exist; Docker stores it by ID, so a recreated NAME recreates this container too).
        Recreates the container.
    type: str
  ipc_mode:
    description:
      - IPC namespace - V(private) (Docker's default), V(shareable), V(host), V(none), or C(container:NAME) to
        join a V(shareable) container's (stored by ID, as for O(pid_mode)). Recreates the container.
    type: str
  runtime:
    description:
      - OCI runtime, for example C(runc); it must be registered in dockerd (C(docker info) lists them), else
        the module fails before anything changes. Recreates the container.
    type: str
  platform:
    description:
      - Platform the container runs as, C(OS/ARCH[/VARIANT]), for example C(linux/amd64) or C(linux/arm64).
        The image must exist for that platform (M(virtcloud.core.docker_image) pulls or builds it), else the
        module fails before anything changes. Compared with the image's platform; recreates the container.
    type: str
  exposed_ports:
    description:
      - Ports the container exposes without publishing them, as C(PORT[/PROTO]) or a range C(9000-9002/udp).
      - Compared as a set with what the container exposes beyond its image's and its published ports.
        Recreates the container.
    type: list
    elements: str
    aliases: [exposed, expose]
  publish_all_ports:
    description: Publish every exposed port to a random host port. Recreates the container.
    type: bool
  default_host_ip:
    description:
      - Host address for the entries of O(published_ports) that name none, for example C(127.0.0.1) to
        publish on the loopback only. Empty (the default) binds them to all of the host's addresses.
      - Compared through O(published_ports), which read back with this address.
    type: str
  state:
    description:
      - V(started) - the container exists and runs.
      - V(stopped) - the container exists and does not run.
      - V(present) - the container exists; a new one is created but not started, an existing one
        keeps its run state.
      - V(restarted) - like V(started), and a running container is restarted (always reports a change).
      - V(paused) - the container runs with its processes frozen (C(docker pause)); V(started)
        unpauses it.
      - V(absent) - the container is stopped and removed. Named volumes it used are kept.
    type: str
    default: started
    choices: [present, started, stopped, restarted, paused, absent]
  recreate:
    description: Replace the container even when it matches the spec.
    type: bool
    default: false
  comparisons:
    description:
      - How an existing container's options are compared with the task's, per option - a dict of
        option name (or C(*) for every option not named) to V(strict), V(allow_more_present) or V(ignore).
      - V(strict) (the default for every option) - the container must have exactly what the task
        says. A difference is changed in place or recreates the container, as each option says.
        Entries the task leaves out of O(env), O(labels), O(log_options), O(published_ports),
        O(mounts) or a network's aliases are differences, as with C(community.docker.docker_container).
        Values the image supplies (its environment, labels, command) are never differences.
      - V(allow_more_present) - for list and dict options, the container may have more entries
        than the task names (for O(networks), it is not disconnected from other networks).
      - V(ignore) - the option is used when a container is created, but never compared.
      - C(image) names the image the container runs (see O(ignore_image)).
      - An unknown option, or V(allow_more_present) on an option that is not a list or dict, is an error.
    type: dict
  ignore_image:
    description:
      - Keep a container that runs another image than O(image) resolves to now (for example after a
        newer image was pulled under the same tag). Same as C(image) V(ignore) in O(comparisons).
    type: bool
    default: false
  image_comparison:
    description:
      - Which image's values count as inherited when the container is compared with the task.
        Values the container takes from an image without setting them (environment, labels,
        command, entrypoint, user, working directory, stop signal, exposed ports) are never
        differences.
      - V(desired-image) - the image O(image) names now. With O(ignore_image), a container still
        running an older image whose inherited values differ from the new image's is recreated.
      - V(current-image) - the image the container runs.
      - Only matters when the container runs another image than O(image) resolves to.
    type: str
    default: desired-image
    choices: [desired-image, current-image]
  stop_timeout:
    description: Seconds to wait for a graceful stop before Docker kills the container.
    type: int
    default: 10
  force_kill:
    description:
      - Stop the container at once with O(kill_signal) instead of its stop signal and O(stop_timeout)
        (for stopping, removing and replacing it). The container must exit on that signal within
        O(stop_timeout) seconds.
    type: bool
    default: false
  kill_signal:
    description: Signal sent by O(force_kill), by name (C(SIGKILL), C(KILL)) or number. Default C(SIGKILL).
    type: str
extends_documentation_fragment:
  - virtcloud.core.docker
  - virtcloud.core.attributes
  - virtcloud.core.attributes.group_docker
seealso:
  - module: virtcloud.core.docker_containers
  - module: virtcloud.core.docker_container_exec
  - module: virtcloud.core.docker_image
  - module: virtcloud.core.docker_network
  - module: virtcloud.core.docker_volume
  - module: virtcloud.core.docker_info
author:
  - virtcloud.core contributors (@virtcloud)
"""

EXAMPLES = r"""
# No registry needed: the image is built from a static busybox (Debian's busybox-static) in a local context.
- name: A build context directory
  ansible.builtin.file:
    path: /var/tmp/example-build
    state: directory
    mode: "0755"

- name: A static busybox in it
  ansible.builtin.copy:
    src: /bin/busybox
    remote_src: true
    dest: /var/tmp/example-build/busybox
    mode: "0755"

- name: Its Dockerfile
  ansible.builtin.copy:
    dest: /var/tmp/example-build/Dockerfile
    mode: "0644"
    content: |
      FROM scratch
      COPY busybox /bin/busybox
      RUN ["/bin/busybox", "sh", "-c", "/bin/busybox --install -s /bin && mkdir /www && echo It works > /www/index.html"]
      CMD ["sh"]

- name: Build an image from the local context; rebuilt only when the context changes
  virtcloud.core.docker_image:
    name: example-busybox:1
    build:
      path: /var/tmp/example-build

- name: A user network for the web container
  virtcloud.core.docker_network:
    name: example-backend
    subnet: 198.18.250.0/24
    gateway: 198.18.250.1

- name: Run busybox's httpd on port 18088 of 127.0.0.1
  virtcloud.core.docker_container:
    name: example-httpd
    image: example-busybox:1
    command: httpd -f -p 80 -h /www
    init: true  # an init as PID 1: the container stops at once on SIGTERM
    published_ports:
      - 127.0.0.1:18088:80
    restart_policy: unless-stopped

- name: A web container on a user network, with a volume, limits and a health check
  virtcloud.core.docker_container:
    name: example-web
    image: example-busybox:1
    command: httpd -f -p 80 -h /www
    init: true  # an init as PID 1: the container stops at once on SIGTERM
    networks:
      - name: example-backend
        aliases: [www]
        ipv4_address: 198.18.250.10
    mounts:
      - source: example-web-data
        target: /www
      - type: tmpfs
        target: /tmp
        tmpfs_size: 16m
    memory: 256m
    cpus: 0.5
    pids_limit: 200
    cap_drop: [ALL]
    cap_add: [NET_BIND_SERVICE, SETUID, SETGID]
    healthcheck:
      test: wget -q -O /dev/null http://127.0.0.1/ || exit 1
      interval: 2s
      retries: 3
    wait_healthy: true
    log_driver: json-file
    log_options:
      max-size: 10m

- name: A locked-down worker with its own runtime settings
  virtcloud.core.docker_container:
    name: example-worker-rt
    image: example-busybox:1
    command: sleep infinity
    init: true
    security_opts: [no-new-privileges]
    ulimits: [nofile:1024:2048]
    sysctls:
      net.ipv4.ip_unprivileged_port_start: "0"
    shm_size: 128m
    dns_servers: [198.18.0.53]
    dns_search_domains: [lab.example]
    etc_hosts:
      db.lab.example: 198.18.0.7
    memory: 256m
    memory_swap: 512m
    memory_reservation: 128m
    cpu_shares: 512
    cpuset_cpus: "0"
    stop_signal: SIGINT
    exposed_ports: [9000/udp]
    published_ports: ["18081:80"]
    default_host_ip: 127.0.0.1

- name: Stop it (it stays defined)
  virtcloud.core.docker_container:
    name: example-httpd
    state: stopped

- name: Point every Docker module of a play at one daemon
  module_defaults:
    group/virtcloud.core.docker:
      docker_host: unix:///var/run/docker.sock
  block:
    - name: Container with environment and a command
      virtcloud.core.docker_container:
        name: example-worker
        image: example-busybox:1
        command: sleep infinity
        init: true  # an init as PID 1: the container stops at once on SIGTERM
        env:
          MODE: batch
          DEBUG: "false"

- name: Remove the containers
  virtcloud.core.docker_container:
    name: "{{ item }}"
    state: absent
  loop: [example-httpd, example-web, example-worker-rt, example-worker]

- name: Remove the network and the volume
  virtcloud.core.docker_network:
    name: example-backend
    state: absent

- name: Remove the volume
  virtcloud.core.docker_volume:
    name: example-web-data
    state: absent

- name: Remove the image and its build context
  virtcloud.core.docker_image:
    name: example-busybox:1
    state: absent

- name: Remove the build context
  ansible.builtin.file:
    path: /var/tmp/example-build
    state: absent
"""

RETURN = r"""
actions:
  description: What was done (or, in check mode, would be done), in order.
  returned: always
  type: list
  elements: str
  sample: ["create container myApache", "start container myApache"]
container:
  description: The container after the run (predicted in check mode); empty when absent.
  returned: always
  type: dict
  contains:
    id: {description: "Container ID; null for a container still to be created in check mode.", type: str, returned: when present}
    name: {description: Container name., type: str, returned: when present}
    image: {description: Image reference the container was created from., type: str, returned: when present}
    image_id: {description: ID of the image the container runs., type: str, returned: when present}
    command: {description: Command., type: list, returned: when present}
    entrypoint: {description: Entrypoint., type: list, returned: when present}
    env: {description: Environment the container sets beyond its image's., type: dict, returned: when present}
    published_ports: {description: Published ports in C(docker run -p) syntax., type: list, returned: when present}
    labels: {description: Labels beyond the image's and the ownership label., type: dict, returned: when present}
    mounts: {description: "Mounts: type, source, target, read_only, tmpfs_size.", type: list, returned: when present}
    networks: {description: "Networks: name, aliases, ipv4_address.", type: list, returned: when present}
    user: {description: User., type: str, returned: when present}
    working_dir: {description: Working directory., type: str, returned: when present}
    hostname: {description: Hostname., type: str, returned: when present}
    cap_add: {description: Added capabilities., type: list, returned: when present}
    cap_drop: {description: Dropped capabilities., type: list, returned: when present}
    read_only: {description: Whether the root filesystem is read-only., type: bool, returned: when present}
    healthcheck: {description: "Health check (durations in nanoseconds).", type: dict, returned: when present}
    health: {description: "Health status: starting, healthy, unhealthy; null without a health check.", type: str, returned: when present}
    log_driver: {description: Logging driver., type: str, returned: when present}
    log_options: {description: Logging driver options., type: dict, returned: when present}
    memory: {description: Memory limit in bytes; 0 for none., type: int, returned: when present}
    cpus: {description: CPU limit; 0 for none., type: float, returned: when present}
    pids_limit: {description: Process limit; 0 for none., type: int, returned: when present}
    restart_policy: {description: Restart policy name., type: str, returned: when present}
    privileged: {description: Whether the container is privileged., type: bool, returned: when present}
    devices: {description: "Devices as HOST_PATH:CONTAINER_PATH:PERMISSIONS.", type: list, returned: when present}
    ulimits: {description: "Resource limits as TYPE:SOFT:HARD.", type: list, returned: when present}
    sysctls: {description: Kernel parameters., type: dict, returned: when present}
    security_opts: {description: Security options., type: list, returned: when present}
    init: {description: Whether an init process runs as PID 1., type: bool, returned: when present}
    tty: {description: Whether a pseudo-terminal is allocated., type: bool, returned: when present}
    interactive: {description: Whether the standard input is kept open., type: bool, returned: when present}
    shm_size: {description: Size of /dev/shm in bytes., type: int, returned: when present}
    dns_servers: {description: DNS servers., type: list, returned: when present}
    dns_search_domains: {description: DNS search domains., type: list, returned: when present}
    etc_hosts: {description: Extra /etc/hosts entries., type: dict, returned: when present}
    memory_reservation: {description: Soft memory limit in bytes; 0 for none., type: int, returned: when present}
    memory_swap: {description: "Memory and swap limit in bytes; -1 unlimited, 0 Docker's default (twice memory).", type: int, returned: when present}
    cpu_shares: {description: Relative CPU weight; 0 for the default., type: int, returned: when present}
    cpuset_cpus: {description: CPUs the container may use; empty for all., type: str, returned: when present}
    stop_signal: {description: Signal that stops the container., type: str, returned: when present}
    pid_mode: {description: "PID namespace: private, host or container:ID.", type: str, returned: when present}
    ipc_mode: {description: "IPC namespace: private, shareable, host, none or container:ID.", type: str, returned: when present}
    runtime: {description: OCI runtime., type: str, returned: when present}
    platform: {description: "Platform of the container's image, OS/ARCH[/VARIANT].", type: str, returned: when present}
    exposed_ports: {description: "Ports exposed beyond the image's and the published ones, PORT/PROTO.", type: list, returned: when present}
    publish_all_ports: {description: Whether every exposed port is published., type: bool, returned: when present}
    running: {description: Whether the container runs., type: bool, returned: when present}
    status: {description: "Docker's status word: running, exited or created.", type: str, returned: when present}
"""

from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import run
from ansible_collections.virtcloud.core.plugins.module_utils.docker.container import ContainerService


def main():
    run(ContainerService)


if __name__ == "__main__":
    main()
