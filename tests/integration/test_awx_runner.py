"""playbooks/deploy_app.yml run the way AWX runs a job template: ansible-runner on a private data dir
with AWX's layout (project/ holding the playbook, inventory/, env/ with extra vars, environment and
settings), then its artifacts read back - rc, status, the job events and their playbook_on_stats
event - and the outcome checked independently (HTTP on 127.0.0.1, docker CLI)."""

from __future__ import annotations

import glob
import json
import os
import shutil

import pytest

from conftest import COLLECTIONS, ROOT, VENV_BIN, sh  # noqa: E402
from lib.appdeploy import free_base_port, get, remove_app

ansible_runner = pytest.importorskip("ansible_runner")  # requirements-dev.txt

REPLICAS = 2


@pytest.fixture
def job(docker_daemon, unique, tmp_path):
    """A private data dir as AWX lays it out for a job of the deploy_app job template."""
    name = unique + "-awx"
    pdd = tmp_path / "job"
    (pdd / "project").mkdir(parents=True)
    shutil.copy(os.path.join(ROOT, "playbooks", "deploy_app.yml"), pdd / "project" / "deploy_app.yml")
    (pdd / "inventory").mkdir()
    (pdd / "inventory" / "hosts").write_text(
        "localhost ansible_connection=local ansible_python_interpreter='{{ ansible_playbook_python }}'\n")
    (pdd / "env").mkdir()
    # AWX's execution environment has the collection installed; here it is the work tree's link
    (pdd / "env" / "envvars").write_text(json.dumps({
        "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS, "PATH": VENV_BIN + os.pathsep + os.environ.get("PATH", ""),
        "ANSIBLE_FORCE_COLOR": "0"}))
    (pdd / "env" / "settings").write_text(json.dumps({"job_timeout": 300}))
    yield {"name": name, "pdd": str(pdd), "base": free_base_port(REPLICAS), "build_dir": str(tmp_path / "build")}
    remove_app(name)


def test_deploy_app_through_ansible_runner(job):
    content = "<h1>deployed by a job template %s</h1>" % job["name"]
    survey = {"app_name": job["name"], "app_replicas": REPLICAS, "app_base_port": job["base"],
              "app_content": content, "app_deploy_build_dir": job["build_dir"]}
    run = ansible_runner.run(private_data_dir=job["pdd"], playbook="deploy_app.yml", inventory="hosts",
                             extravars=survey, ident="job-1", quiet=True)
    stdout = run.stdout.read() if run.stdout else ""
    assert (run.rc, run.status) == (0, "successful"), stdout[-4000:]

    # artifacts, as AWX collects them
    artifacts = os.path.join(job["pdd"], "artifacts", "job-1")
    command = json.load(open(os.path.join(artifacts, "command")))
    extravars = os.path.join(job["pdd"], "env", "extravars")
    assert command["cwd"] == os.path.join(job["pdd"], "project")
    assert ["-e", "@" + extravars] == command["command"][3:5] and json.load(open(extravars)) == survey
    assert open(os.path.join(artifacts, "status")).read() == "successful"
    event_files = glob.glob(os.path.join(artifacts, "job_events", "*.json"))
    events = [json.load(open(path)) for path in event_files]
    assert len(events) == len(list(run.events)) >= 10
    names = [event["event"] for event in events]
    assert names.count("playbook_on_start") == 1 and "runner_on_ok" in names
    stats = [event for event in events if event["event"] == "playbook_on_stats"]
    assert len(stats) == 1
    data = stats[0]["event_data"]
    assert data["changed"]["localhost"] > 0 and not data.get("failures") and not data.get("dark")
    assert run.stats["changed"] == data["changed"]
    replica_tasks = [e for e in events if e["event"] == "runner_on_ok"
                     and e["event_data"]["task"].startswith("Run replica")]
    assert [e["event_data"]["res"]["changed"] for e in replica_tasks] == [True] * REPLICAS

    # the outcome
    for i in range(1, REPLICAS + 1):
        assert get(job["base"] + i) == (200, content + "\n")
        assert sh("docker", "inspect", "-f", "{{.State.Running}}", "%s-%d" % (job["name"], i)).stdout.strip() == "true"
