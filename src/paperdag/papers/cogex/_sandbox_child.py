"""The driver inside the cogex jail (sandbox.py builds the jail: bubblewrap namespaces, a read-only
Python runtime, an empty tmpfs at /work). Run as `python -I -S /sandbox/child.py`; reads one JSON job
from stdin and writes JSON lines to stdout: {"ready": ...}, then {"task": i, "results": [...]} per
task, or {"fatal": why} when a task's process could not be locked down.

Each task (one program and its inputs) runs in its own forked process, so a program can spoil only
its own results. Before the program runs, that process
- points stdin/stdout/stderr at /dev/null: its only way out is one pipe that the driver reads, at
  most one well-formed line per call;
- sets rlimits: CPU seconds, address space, file size, open files, no core files;
- installs a seccomp filter (irreversible, inherited by nothing since it cannot fork): no new
  processes or threads (clone, fork, vfork, clone3), no exec, no signals to other processes (kill,
  tkill, tgkill, pidfd_send_signal), no sockets, no ptrace or process_vm_*, no namespaces or mounts,
  no raising of rlimits, no io_uring, bpf, perf or keyrings. A denied call fails with EPERM;
- installs the audit hook below, a second layer only: a program with the whole language can switch
  it off, and nothing relies on it.
Each call has its own alarm; the driver kills the task's process at its deadline whatever the program
did to its alarm, and empties /work before the next task. Module level holds definitions only."""

import ast
import json
import os
import select
import signal
import struct
import sys
import time

WORK = "/work"
MAX_VALUE = 2000  # characters of a value's repr kept
MAX_LINE = 4 * MAX_VALUE + 400  # bytes of one result line the driver accepts
FILE_BYTES = 2**20  # RLIMIT_FSIZE of a task
OPEN_FILES = 32  # RLIMIT_NOFILE of a task

# x86_64 system call numbers (arch/x86/entry/syscalls/syscall_64.tbl) denied to a task's process
DENY_X86_64 = {
    "socket": 41, "connect": 42, "accept": 43, "bind": 49, "listen": 50, "socketpair": 53,
    "clone": 56, "fork": 57, "vfork": 58, "execve": 59, "kill": 62, "rt_sigqueueinfo": 129,
    "mknod": 133, "pivot_root": 155, "setrlimit": 160, "chroot": 161, "mount": 165, "umount2": 166,
    "ptrace": 101, "tkill": 200, "tgkill": 234, "add_key": 248, "request_key": 249, "keyctl": 250,
    "mknodat": 259, "unshare": 272, "rt_tgsigqueueinfo": 297, "perf_event_open": 298, "prlimit64": 302,
    "setns": 308, "process_vm_readv": 310, "process_vm_writev": 311, "bpf": 321, "execveat": 322,
    "userfaultfd": 323, "pidfd_send_signal": 424, "io_uring_setup": 425, "io_uring_enter": 426,
    "io_uring_register": 427, "pidfd_open": 434, "clone3": 435,
}
AUDIT_ARCH_X86_64 = 0xC000003E
X32_BIT = 0x40000000

BLOCKED_EVENTS = (
    "socket.", "subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
    "os.forkpty", "os.kill", "os.killpg", "ctypes.", "os.chdir", "os.fchdir", "os.putenv", "os.unsetenv",
    "pty.spawn", "webbrowser.open", "urllib.Request", "http.client.connect", "ftplib.", "smtplib.",
    "sys.setrecursionlimit", "os.setuid", "os.setgid",
)
PATH_EVENTS = ("os.remove", "os.rmdir", "os.rename", "os.mkdir", "os.truncate", "os.chmod", "os.chown",
               "os.symlink", "os.link", "os.utime", "shutil.rmtree", "shutil.move", "shutil.copyfile",
               "os.replace", "os.removexattr", "os.setxattr", "os.listdir", "os.scandir")
BLOCKED_MODULES = {"socket", "_socket", "ssl", "_ssl", "subprocess", "_posixsubprocess", "multiprocessing",
                   "ctypes", "_ctypes", "pty", "asyncio", "urllib.request", "http.client", "ftplib", "smtplib",
                   "select", "selectors", "mmap", "fcntl", "resource"}
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


class SandboxViolation(PermissionError):
    pass


class CallTimeout(Exception):
    pass


def seccomp_program(deny: dict, arch: int = AUDIT_ARCH_X86_64) -> bytes:
    """A classic-BPF seccomp filter: kill the process on a foreign architecture or an x32 call,
    EPERM for the denied numbers, allow the rest. Returns the packed sock_filter array."""
    ld_abs, jeq, jge, ret = 0x20, 0x15, 0x35, 0x06  # BPF_LD|W|ABS, JMP|JEQ|K, JMP|JGE|K, RET|K
    kill_process, allow, eperm = 0x80000000, 0x7FFF0000, 0x00050000 | 1
    nrs = sorted(set(deny.values()))
    ins = [(ld_abs, 0, 0, 4), (jeq, 1, 0, arch), (ret, 0, 0, kill_process), (ld_abs, 0, 0, 0)]
    block = [(jge, 0, 0, X32_BIT)] + [(jeq, 0, 0, nr) for nr in nrs]
    n = len(block)  # ALLOW sits at index n of the block, EPERM at n + 1 (x32: kill)
    for j, (code, _, _, k) in enumerate(block):
        ins.append((code, n - j if j else n - j + 1, 0, k))
    ins += [(ret, 0, 0, allow), (ret, 0, 0, eperm), (ret, 0, 0, kill_process)]
    return b"".join(struct.pack("HBBI", *i) for i in ins)


def install_seccomp(program: bytes) -> None:
    """PR_SET_NO_NEW_PRIVS, then the filter (PR_SET_SECCOMP, SECCOMP_MODE_FILTER). Raises OSError."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    n = len(program) // 8
    buf = ctypes.create_string_buffer(program, len(program))

    class Prog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    prog = Prog(n, ctypes.cast(buf, ctypes.c_void_p))
    if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
    if libc.prctl(22, 2, ctypes.byref(prog), 0, 0) != 0:  # PR_SET_SECCOMP, SECCOMP_MODE_FILTER
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_SECCOMP) failed")


def _inside(path) -> bool:
    try:
        if isinstance(path, int):
            return False
        p = os.path.realpath(os.fsdecode(path))
    except Exception:  # noqa: BLE001
        return False
    return p == WORK or p.startswith(WORK + os.sep)


def _hook(event, args):
    if event == "open":
        path, mode, flags = (list(args) + [None, None, None])[:3]
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & WRITE_FLAGS)
        if writing and not _inside(path):
            raise SandboxViolation(f"write outside the temp folder refused: {path!r}")
    elif event == "import":
        if args[0] in BLOCKED_MODULES or args[0].split(".")[0] in {"socket", "ctypes", "subprocess", "multiprocessing"}:
            raise SandboxViolation(f"import refused: {args[0]}")
    elif event.startswith(BLOCKED_EVENTS):
        raise SandboxViolation(f"operation refused: {event}")
    elif event in PATH_EVENTS:
        paths = [a for a in args if isinstance(a, (str, bytes, os.PathLike))]
        if not paths or not all(_inside(p) for p in paths):
            raise SandboxViolation(f"{event} outside the temp folder refused: {paths!r}")


def _alarm(signum, frame):
    raise CallTimeout("time limit of the call exceeded")


def _fn_name(program):
    tree = ast.parse(program)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            return node.name, len(node.args.args)
    raise ValueError("no function definition in the program")


def _emit(fd, obj):
    data = (json.dumps(obj) + "\n").encode()
    while data:
        data = data[os.write(fd, data):]


def _lock_down(job, filt):
    import resource

    devnull = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    cpu, mem = int(job["cpu_s"]), int(job["mem_mb"]) * 2**20
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_BYTES, FILE_BYTES))
    resource.setrlimit(resource.RLIMIT_NOFILE, (OPEN_FILES, OPEN_FILES))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    install_seccomp(filt)
    for name in ("ctypes", "_ctypes", "resource", "ctypes._endian"):
        sys.modules.pop(name, None)  # so that the hook sees a program's own import of them
    signal.signal(signal.SIGALRM, _alarm)
    sys.addaudithook(_hook)


def _task_process(base, task, job, filt, out_fd):
    """In the forked process: lock it down, run the program and its calls, one line per call."""
    try:
        _lock_down(job, filt)
    except BaseException as e:  # noqa: BLE001 - never run a program in a process that is not locked
        _emit(out_fd, {"fatal": f"could not lock down the task's process: {type(e).__name__}: {e}"})
        return
    _emit(out_fd, {"locked": True})
    per_call = float(job["call_seconds"])
    try:
        name, arity = _fn_name(task["program"])
        ns = dict(base)
        signal.setitimer(signal.ITIMER_REAL, per_call)
        try:
            exec(compile(task["program"], "<program>", "exec"), ns)  # noqa: S102 - the jailed program
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        fn = ns[name]
    except BaseException as e:  # noqa: BLE001 - a broken program is a scored failure
        for _ in task["args"]:
            _emit(out_fd, {"error": f"{type(e).__name__}: {e}"[:300]})
        return
    for arg in task["args"]:
        try:
            signal.setitimer(signal.ITIMER_REAL, per_call)
            try:
                value = fn(arg) if arity >= 1 else fn()
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            row = {"value": repr(value)[:MAX_VALUE]}
        except BaseException as e:  # noqa: BLE001 - MemoryError, CallTimeout, PermissionError...
            row = {"error": f"{type(e).__name__}: {e}"[:300]}
        _emit(out_fd, row)


def _valid(line: bytes):
    try:
        row = json.loads(line)
    except ValueError:
        return None
    if isinstance(row, dict) and len(row) == 1:
        (k, v), = row.items()
        if k in ("value", "error") and isinstance(v, str) and len(v) <= MAX_VALUE:
            return row
    return None


def _read_rows(fd, nargs, deadline):
    """The lock-down line, then at most nargs valid lines from the task's pipe before the deadline:
    (rows, why), why being None (all read, or the pipe closed), "deadline", "invalid", or
    {"fatal": ...} when the process could not be locked down."""
    buf, rows, locked = b"", [], False
    while len(rows) < nargs:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return rows, "deadline"
        chunk = os.read(fd, 65536)
        if not chunk:
            return rows, None
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            if not locked:  # the first line is the driver's own code speaking, before the program ran
                try:
                    first = json.loads(line)
                except ValueError:
                    first = None
                if first == {"locked": True}:
                    locked = True
                    continue
                return rows, first if isinstance(first, dict) and "fatal" in first else "invalid"
            row = _valid(line)
            if row is None:
                return rows, "invalid"
            rows.append(row)
            if len(rows) == nargs:
                return rows, None
        if len(buf) > MAX_LINE:
            return rows, "invalid"
    return rows, None


def _clear_work():
    for root, dirs, files in os.walk(WORK, topdown=False):
        try:
            os.chmod(root, 0o700)
        except OSError:
            pass
        for name in files + dirs:
            p = os.path.join(root, name)
            try:
                os.rmdir(p) if name in dirs and not os.path.islink(p) else os.unlink(p)
            except OSError:
                pass


def _end_reason(status, why, job):
    if why == "deadline":
        return "timeout: the program's process ran past its deadline and was killed"
    if why == "invalid":
        return "error: the program's process wrote a malformed result and was killed"
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig == signal.SIGXCPU:
            return f"killed: CPU limit of {job['cpu_s']} s exceeded"
        return f"killed: the program's process died of signal {sig}"
    return f"error: the program's process ended (exit code {os.waitstatus_to_exitcode(status)}) before the call returned"


def _run_task(base, task, job, filt):
    nargs = len(task["args"])
    if nargs == 0:
        return [], None
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the task's process: never returns into the driver
        try:
            os.close(r)
            _task_process(base, task, job, filt, w)
        finally:
            os._exit(0)
    os.close(w)
    deadline = time.monotonic() + min(float(job["wall_s"]), float(job["call_seconds"]) * (nargs + 1) + 2.0)
    rows, why = _read_rows(r, nargs, deadline)
    os.close(r)
    if why is not None:
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    _clear_work()
    if isinstance(why, dict):
        return None, why["fatal"]
    if len(rows) < nargs:
        rows += [{"error": _end_reason(status, why, job)}] * (nargs - len(rows))
    return rows, None


def main():
    job = json.loads(sys.stdin.read())
    import ctypes  # noqa: F401 - loaded once here, so that each task's lock-down is cheap

    out = sys.stdout.fileno()
    filt = seccomp_program(DENY_X86_64)
    _emit(out, {"ready": {"uid": os.getuid(), "pid": os.getpid()}})
    base = {}
    exec(compile(job["reference"], "<reference>", "exec"), base)  # noqa: S102 - the project's own file
    for i, task in enumerate(job["tasks"]):
        rows, fatal = _run_task(base, task, job, filt)
        if fatal is not None:
            _emit(out, {"fatal": fatal})
            return
        _emit(out, {"task": i, "results": rows})


if __name__ == "__main__":
    main()
