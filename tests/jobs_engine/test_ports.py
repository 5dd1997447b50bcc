"""Reading what listens on a node: `ss -Htlnp` and, where ss is missing, /proc/net/tcp."""

from __future__ import annotations

from jobs.services.ports import listening_pids, parse_listening

SS = """\
LISTEN 0      4096         0.0.0.0:30000      0.0.0.0:*    users:(("docker-proxy",pid=4101,fd=4))
LISTEN 0      4096            [::]:30000         [::]:*    users:(("docker-proxy",pid=4108,fd=4))
LISTEN 0      128        127.0.0.1:8080       0.0.0.0:*    users:(("python3",pid=77,fd=9),("python3",pid=78,fd=9))
LISTEN 0      128                *:2222             *:*
LISTEN 0      4096   127.0.0.53%lo:53         0.0.0.0:*    users:(("systemd-resolve",pid=5,fd=14))
"""

PROC = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1
   1: 0100007F:7530 0100007F:D2F0 01 00000000:00000000 00:00000000 00000000     0        0 2 1
  sl  local_address                         remote_address                        st tx_queue
   0: 00000000000000000000000000000000:0016 00000000000000000000000000000000:0000 0A 00000000:0
"""


def test_ss_output_gives_each_listening_port_with_its_process():
    found = parse_listening(SS)
    assert found == {
        30000: "process docker-proxy (pid 4108)",
        8080: "process python3 (pid 77)",
        2222: "a listening process",
        53: "process systemd-resolve (pid 5)",
    }


def test_proc_net_tcp_gives_listening_ports_only():
    # 0x1F90 = 8080 and 0x0016 = 22 listen (state 0A); 0x7530 is an established connection
    assert parse_listening(PROC) == {8080: "a listening process", 22: "a listening process"}


def test_listening_pids_name_every_process_on_the_port():
    assert listening_pids(SS, 8080) == {77, 78}
    assert listening_pids(SS, 30000) == {4101, 4108}
    assert listening_pids(SS, 2222) == set()
    assert listening_pids(SS, 9999) == set()
