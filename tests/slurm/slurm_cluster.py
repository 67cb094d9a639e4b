"""A throw-away single-node SLURM cluster for tests (Debian's `slurm-wlm` + `munge`).

Everything lives in one folder of the caller's own: the munge key and socket, slurm.conf, the
controller's state, the node's spool, pid files and the daemons' logs. The daemons (munged,
slurmctld, slurmd) run as the current user (root on the test machines), talk over 127.0.0.1 on
ports picked free at start, and are stopped by the pids this object started, never by name.
Client commands (sbatch, squeue, scontrol, ...) find this cluster through `SLURM_CONF`, so use
`cluster.env()` for every process that should talk to it.

Also a small CLI for trying the profile by hand:
    python tests/slurm/slurm_cluster.py start /tmp/mycluster   # prints `export SLURM_CONF=...`
    python tests/slurm/slurm_cluster.py stop /tmp/mycluster
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

BINARIES = ("munged", "slurmctld", "slurmd", "sbatch", "srun", "squeue", "sinfo", "scontrol", "scancel")
# Debian 12 package names that provide BINARIES.
PACKAGES = ("slurm-wlm", "munge")
DAEMONS = ("munged", "slurmctld", "slurmd")


def missing_binaries() -> list[str]:
    return [b for b in BINARIES if shutil.which(b) is None and not Path("/usr/sbin", b).exists()]


def _which(name: str) -> str:
    return shutil.which(name) or str(Path("/usr/sbin", name))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie child of ours counts as gone
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class SlurmCluster:
    """start() -> wait until the node is idle; stop() -> cancel jobs, stop daemons by pid."""

    def __init__(self, root: Path, min_job_age: int = 3600, fake_gpus: bool = True, min_cpus: int = 4):
        self.root = Path(root).resolve()
        self.min_job_age = min_job_age
        self.fake_gpus = fake_gpus
        self.min_cpus = min_cpus
        self.oversubscribed = False
        self.conf = self.root / "slurm.conf"
        self.socket = self.root / "munge" / "munge.socket"
        self.pids: dict[str, int] = {}
        self.state_file = self.root / "daemons.json"

    # -- environment -------------------------------------------------------------------------
    def env(self, base: dict | None = None) -> dict:
        e = dict(os.environ if base is None else base)
        for k in list(e):
            # a test running inside a SLURM job must not leak that job's settings into ours
            if k.startswith(("SLURM_", "SBATCH_", "SALLOC_", "SRUN_")):
                del e[k]
        e["SLURM_CONF"] = str(self.conf)
        e["PATH"] = str(self.root / "bin") + os.pathsep + e.get("PATH", "")
        return e

    def run(self, *cmd: str, timeout: float = 30, check: bool = True) -> subprocess.CompletedProcess:
        p = subprocess.run(list(cmd), env=self.env(), capture_output=True, text=True, timeout=timeout)
        if check and p.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}): {p.stdout}{p.stderr}\n{self.logs()}")
        return p

    # -- configuration -----------------------------------------------------------------------
    def _node_line(self) -> tuple[str, str]:
        out = subprocess.run([_which("slurmd"), "-C"], capture_output=True, text=True, timeout=30, check=True).stdout
        line = next(l for l in out.splitlines() if l.startswith("NodeName="))
        node = re.match(r"NodeName=(\S+)", line).group(1)
        # keep the detected CPU layout and memory; the node is reached on loopback only
        rest = line.split(None, 1)[1]
        cpus = int(re.search(r"\bCPUs=(\d+)", rest).group(1))
        if cpus < self.min_cpus:
            # Offer at least min_cpus job slots (with config_overrides slurmd reports what is
            # configured): on a 2-core test machine two workflows can then share the cluster;
            # their jobs are mostly waiting (start-up, queue, status checks), not computing.
            rest = re.sub(r"\bCPUs=\d+", f"CPUs={self.min_cpus}", rest)
            rest = re.sub(r"\bBoards=\d+ SocketsPerBoard=\d+ CoresPerSocket=\d+ ThreadsPerCore=\d+",
                          f"Boards=1 SocketsPerBoard=1 CoresPerSocket={self.min_cpus} ThreadsPerCore=1", rest)
            self.oversubscribed = True
        gres = " Gres=gpu:1" if self.fake_gpus else ""
        return node, f"NodeName={node} NodeAddr=127.0.0.1 NodeHostname={node} {rest}{gres} State=UNKNOWN"

    def write_config(self) -> None:
        for d in ("munge", "state", "spool", "log", "run", "bin"):
            (self.root / d).mkdir(parents=True, exist_ok=True)
        os.chmod(self.root / "munge", 0o700)
        key = self.root / "munge" / "munge.key"
        if not key.exists():
            key.write_bytes(secrets.token_bytes(1024))
        os.chmod(key, 0o600)
        # The jobstep plugin runs each job's command through a nested `srun` after dropping
        # every SLURM_* variable except the job's identity, SLURM_CONF included. Real clusters
        # keep slurm.conf at the default path (or run configless), so srun finds it there; this
        # cluster's config lives in a test folder, so an `srun` first on PATH puts it back.
        shim = self.root / "bin" / "srun"
        shim.write_text(f"#!/bin/sh\nexport SLURM_CONF='{self.conf}'\nexec '{_which('srun')}' \"$@\"\n")
        os.chmod(shim, 0o755)
        node, node_line = self._node_line()
        self.node = node
        r = self.root
        ctld_port = _free_port()
        slurmd_port = _free_port()
        while slurmd_port == ctld_port:
            slurmd_port = _free_port()
        lines = [
            "# Written by tests/slurm/slurm_cluster.py: a single-node test cluster on loopback.",
            "ClusterName=paperdagtest",
            f"SlurmctldHost={node}(127.0.0.1)",
            f"SlurmctldPort={ctld_port}",
            f"SlurmdPort={slurmd_port}",
            f"SlurmUser={os.environ.get('USER') or 'root'}" if os.geteuid() != 0 else "SlurmUser=root",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            f"AuthInfo=socket={self.socket}",
            f"StateSaveLocation={r / 'state'}",
            f"SlurmdSpoolDir={r / 'spool'}",
            f"SlurmctldPidFile={r / 'run' / 'slurmctld.pid'}",
            f"SlurmdPidFile={r / 'run' / 'slurmd.pid'}",
            f"SlurmctldLogFile={r / 'log' / 'slurmctld.log'}",
            f"SlurmdLogFile={r / 'log' / 'slurmd.log'}",
            "SlurmctldDebug=info",
            "SlurmdDebug=info",
            # no cgroups in containers: track job processes by parent pid
            "ProctrackType=proctrack/linuxproc",
            # no CPU binding: the node may offer more job slots than cores (min_cpus)
            "TaskPlugin=task/none",
            "MpiDefault=none",
            "SchedulerType=sched/backfill",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_Core_Memory",
            "ReturnToService=2",
            "MailProg=/bin/true",
            # finished jobs stay visible to squeue this long (an hour: the tests read the job
            # records after their runs); the SLURM executor plugin needs >= 3 x its first
            # status-check delay to trust squeue (there is no slurmdbd, so no sacct, here)
            f"MinJobAge={self.min_job_age}",
            "JobAcctGatherType=jobacct_gather/none",
            "AccountingStorageType=accounting_storage/none",
            "JobCompType=jobcomp/none",
            "SchedulerParameters=sched_interval=2",
            "GresTypes=gpu" if self.fake_gpus else "",
            "SlurmdParameters=config_overrides" if self.oversubscribed else "",
            node_line,
            # two partitions on the one node, so that tests can see jobs routed by their needs
            "PartitionName=cpu Nodes=ALL Default=YES MaxTime=INFINITE State=UP",
            "PartitionName=gpu Nodes=ALL Default=NO MaxTime=INFINITE State=UP",
        ]
        self.conf.write_text("\n".join(l for l in lines if l) + "\n")
        if self.fake_gpus:
            # A stand-in GPU so that the scheduler can grant `--gpus=1` on a machine without one:
            # slurmd wants a device file per GPU and a count-only GPU is reported as 0; /dev/null
            # is one that exists everywhere (nothing opens it: the jobs only see
            # CUDA_VISIBLE_DEVICES=0). One fake GPU at most.
            (r / "gres.conf").write_text(f"NodeName={node} Name=gpu Count=1 File=/dev/null\n")

    # -- daemons -----------------------------------------------------------------------------
    def _spawn(self, name: str, cmd: list[str]) -> None:
        log = open(self.root / "log" / f"{name}.stdout", "ab")
        p = subprocess.Popen(cmd, env=self.env(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             start_new_session=True)
        log.close()
        self.pids[name] = p.pid
        self._procs = getattr(self, "_procs", {})
        self._procs[name] = p
        self.state_file.write_text(json.dumps(self.pids))

    def start(self, timeout: float = 120) -> "SlurmCluster":
        missing = missing_binaries()
        if missing:
            raise RuntimeError(f"missing SLURM/munge binaries {missing}; apt-get install -y {' '.join(PACKAGES)}")
        self.write_config()
        r = self.root
        self._spawn("munged", [
            _which("munged"), "--foreground", "--force",
            f"--socket={self.socket}", f"--key-file={r / 'munge' / 'munge.key'}",
            f"--pid-file={r / 'run' / 'munged.pid'}", f"--log-file={r / 'log' / 'munged.log'}",
            f"--seed-file={r / 'munge' / 'munged.seed'}",
        ])
        self._wait(lambda: self.socket.exists(), 20, "munged socket")
        # -D: foreground (we hold the pid); -i: ignore saved state (a fresh cluster)
        self._spawn("slurmctld", [_which("slurmctld"), "-D", "-i", "-f", str(self.conf)])
        self._wait(lambda: self.run("scontrol", "ping", check=False, timeout=10).stdout.count("UP") > 0, 30,
                   "slurmctld to answer `scontrol ping`")
        self._spawn("slurmd", [_which("slurmd"), "-D", "-f", str(self.conf)])

        def idle():
            # one line per partition the node is in
            out = self.run("sinfo", "-h", "-N", "-o", "%T", check=False, timeout=10).stdout.split()
            return bool(out) and all(state == "idle" for state in out)

        self._wait(idle, timeout, "the node to become idle in sinfo")
        return self

    def _wait(self, cond, timeout: float, what: str) -> None:
        end = time.time() + timeout
        while time.time() < end:
            for name, pid in self.pids.items():
                if not _alive(pid):
                    raise RuntimeError(f"{name} (pid {pid}) exited while waiting for {what}\n{self.logs()}")
            try:
                if cond():
                    return
            except subprocess.TimeoutExpired:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}\n{self.logs()}")

    def jobs(self, name: str | None = None) -> list[dict]:
        """Every job slurmctld still knows (finished ones for MinJobAge seconds)."""
        fields = ("JobID", "Name", "State", "MinMemory", "tres-per-job", "Comment", "NumCPUs", "Partition")
        args = ["squeue", "-h", "--states=all", "-O", ",".join(f + ":0|" for f in fields)]
        if name:
            args += ["--name", name]
        out = self.run(*args, timeout=30).stdout
        keys = ("id", "name", "state", "min_memory", "tres_per_job", "comment", "cpus", "partition")
        return [dict(zip(keys, l.rstrip("|").split("|"))) for l in out.splitlines() if l.strip()]

    def stop(self, timeout: float = 30) -> list[str]:
        """Cancel this cluster's jobs, stop the daemons this object started (by pid), then any
        leftover process whose environment names this cluster's slurm.conf (job steps it
        launched). Returns notes on what had to be forced."""
        notes = []
        if self.pids.get("slurmctld") and _alive(self.pids["slurmctld"]):
            try:
                self.run("scancel", "--full", "--user", str(os.getuid()), check=False, timeout=15)
                end = time.time() + 20
                while time.time() < end:
                    active = [j for j in self.jobs() if j["state"] in ("RUNNING", "COMPLETING", "PENDING", "CONFIGURING")]
                    if not active:
                        break
                    time.sleep(1)
            except Exception as e:  # noqa: BLE001 - teardown must go on
                notes.append(f"scancel: {e}")
        for name in ("slurmd", "slurmctld", "munged"):
            pid = self.pids.get(name)
            if pid is None or not _alive(pid):
                continue
            os.kill(pid, signal.SIGTERM)
            end = time.time() + timeout
            while time.time() < end and _alive(pid):
                time.sleep(0.2)
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
                notes.append(f"{name} (pid {pid}) needed SIGKILL")
        for p in getattr(self, "_procs", {}).values():
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        for pid in self.stray_pids():
            try:
                os.kill(pid, signal.SIGKILL)
                notes.append(f"killed stray job process {pid}")
            except ProcessLookupError:
                pass
        return notes

    def stray_pids(self) -> list[int]:
        """Processes this cluster launched that are still alive: slurmstepd and job processes
        (SLURM_JOB_ID set) whose environment names this cluster's slurm.conf. A shell that
        merely exported SLURM_CONF is not one of them."""
        needle = f"SLURM_CONF={self.conf}".encode()
        out = []
        for d in Path("/proc").iterdir():
            if not d.name.isdigit() or int(d.name) == os.getpid():
                continue
            try:
                envv = (d / "environ").read_bytes().split(b"\0")
                comm = (d / "comm").read_text().strip()
            except OSError:
                continue
            ours = needle in envv
            in_job = comm == "slurmstepd" or any(v.startswith(b"SLURM_JOB_ID=") for v in envv)
            if ours and in_job and _alive(int(d.name)):
                out.append(int(d.name))
        return out

    def logs(self, tail: int = 60) -> str:
        parts = []
        for f in sorted((self.root / "log").glob("*")):
            try:
                lines = f.read_text(errors="replace").splitlines()[-tail:]
            except OSError:
                continue
            parts.append(f"----- {f} (last {len(lines)} lines)\n" + "\n".join(lines))
        return "\n".join(parts)


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("start", "stop"):
        print(__doc__)
        return 2
    root = Path(argv[1])
    c = SlurmCluster(root)
    if argv[0] == "start":
        c.start()
        print(f"export SLURM_CONF={c.conf}")
        return 0
    c.pids = json.loads(c.state_file.read_text())
    for n in c.stop():
        print(n)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
