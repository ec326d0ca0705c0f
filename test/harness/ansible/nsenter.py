# An Ansible connection to a booted systemd-nspawn container through nsenter: Ansible has no
# nspawn connection, and the test's container (test/harness/booted-debian.ts) runs no sshd.
# ansible_host is the PID of the container's init as the host sees it; every command and file
# goes through all of its namespaces, so the modules see the container's systemd, users and
# files as they would over ssh. Used by test/ansible-booted.test.ts (ANSIBLE_CONNECTION_PLUGINS).
from __future__ import annotations

import shlex
import subprocess

from ansible.errors import AnsibleError
from ansible.plugins.connection import ConnectionBase

DOCUMENTATION = """
name: nsenter
short_description: run in a booted container's namespaces with nsenter
description:
  - Commands and file transfers run through nsenter -t PID -a (root on the host).
options:
  remote_addr:
    description: the PID of the container's init, as the host sees it
    vars:
      - name: ansible_host
"""


class Connection(ConnectionBase):
    transport = "nsenter"
    has_pipelining = True

    def _connect(self):
        self._connected = True
        return self

    def _enter(self, command: str, stdin=None, in_data: bytes | None = None):
        pid = str(self.get_option("remote_addr"))
        if not pid.isdigit():
            raise AnsibleError(f"nsenter: ansible_host must be the container's init PID, not {pid!r}")
        argv = ["nsenter", "-t", pid, "-a", "/bin/sh", "-c", command]
        p = subprocess.Popen(argv, stdin=stdin if stdin is not None else subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = p.communicate(in_data if stdin is None else None)
        return p.returncode, out, err

    def exec_command(self, cmd, in_data=None, sudoable=False):
        super().exec_command(cmd, in_data=in_data, sudoable=sudoable)
        return self._enter(cmd, in_data=in_data or b"")

    def put_file(self, in_path, out_path):
        super().put_file(in_path, out_path)
        with open(in_path, "rb") as f:
            code, _, err = self._enter(f"cat > {shlex.quote(out_path)}", stdin=f)
        if code != 0:
            raise AnsibleError(f"nsenter: could not write {out_path}: {err.decode(errors='replace')}")

    def fetch_file(self, in_path, out_path):
        super().fetch_file(in_path, out_path)
        code, out, err = self._enter(f"cat {shlex.quote(in_path)}", in_data=b"")
        if code != 0:
            raise AnsibleError(f"nsenter: could not read {in_path}: {err.decode(errors='replace')}")
        with open(out_path, "wb") as f:
            f.write(out)

    def close(self):
        self._connected = False
