# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a command in a running container (docker exec), guarded by `creates` for idempotence."""

from __future__ import annotations

from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import Opt, Plan
from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import BackendError, InputError
from ansible_collections.virtcloud.core.plugins.module_utils.docker import names
from ansible_collections.virtcloud.core.plugins.module_utils.docker.client import DockerService, NotFound
from ansible_collections.virtcloud.core.plugins.module_utils.docker.container import argv, strings


class ExecService(DockerService):
    result_key = None  # rc / stdout / stderr top-level, as ansible.builtin.command returns them
    check_support = "partial"  # check mode says whether the command would run, not what it would print
    diff_support = "none"  # a command has no before and after
    options = {
        "container": Opt(required=True),
        "command": Opt(type="raw", required=True),
        "chdir": Opt(),
        "env": Opt(type="dict"),
        "user": Opt(),
        "creates": Opt(),
    }

    def desired(self):
        p = self.params
        command = argv(p["command"], "command")
        if not command:
            raise InputError("command", "is empty")
        if p["creates"] is not None and not p["creates"].startswith("/"):
            raise InputError("creates", "%r must be an absolute path inside the container" % p["creates"])
        return {"container": names.container(p["container"], "container"), "command": command, "chdir": p["chdir"],
                "env": strings(p["env"], "env"), "user": p["user"], "creates": p["creates"]}

    def observe(self, desired, batch=None):
        info = self.inspect("container", desired["container"])
        if info is None:
            raise InputError("container", "container %r does not exist" % desired["container"])
        if not info["State"].get("Running"):
            raise InputError("container", "container %r is not running (status: %s); start it first "
                                          "(virtcloud.core.docker_container state=started)"
                             % (desired["container"], info["State"].get("Status")))
        return {"container": desired["container"], "creates_exists": self._exists(desired)}

    def _exists(self, desired):
        """Whether `creates` exists, asked through the archive API (no process runs in the container)."""
        if desired["creates"] is None:
            return False
        try:
            response, dummy = self.api.get_archive(desired["container"], desired["creates"])
        except NotFound:
            return False
        response.close()  # only the stat header matters
        return True

    def plan(self, desired, observed):
        self.output = {"stdout": "", "stderr": ""}  # no rc: Ansible reads any rc but 0 as a failure
        plan = Plan(observed)
        if observed["creates_exists"]:
            self.output["msg"] = "did not run: %s exists in container %s" % (desired["creates"], desired["container"])
            return plan
        plan.step("run %s in container %s" % (" ".join(desired["command"]), desired["container"]),
                  lambda: self._run(desired))
        return plan

    def _run(self, desired):
        exec_id = self.api.exec_create(
            desired["container"], desired["command"], workdir=desired["chdir"], user=desired["user"] or "",
            environment=["%s=%s" % kv for kv in sorted((desired["env"] or {}).items())] or None)["Id"]
        stdout, stderr = self.api.exec_start(exec_id, demux=True)
        rc = self.api.exec_inspect(exec_id)["ExitCode"]
        self.output = {"rc": rc, "stdout": (stdout or b"").decode("utf-8", "replace"),
                       "stderr": (stderr or b"").decode("utf-8", "replace")}
        if rc != 0:  # a command that could not start (rc 126/127) has the runtime's reason on stdout
            said = self.output["stderr"].strip() or self.output["stdout"].strip()
            raise BackendError("command exited with rc %s: %s" % (rc, said[-500:] or "(no output)"), **self.output)

    def facts(self, state):
        out = dict(self.output)
        out["stdout_lines"] = out["stdout"].splitlines()
        out["stderr_lines"] = out["stderr"].splitlines()
        return out
