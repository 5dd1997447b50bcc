#!/usr/bin/env bash
# Makes sure OpenSSH's sshd (used by devsim, one instance per simulated node) can run here.
# Idempotent: installs openssh-server when /usr/sbin/sshd is missing and creates /run/sshd.
# It never starts or changes the system-wide sshd service.
set -euo pipefail

if [ ! -x /usr/sbin/sshd ] || ! command -v ssh-keygen >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "error: OpenSSH server is not installed. As root run: apt-get install -y openssh-server" >&2
    exit 1
  fi
  echo "sshd: installing openssh-server"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q openssh-server >/dev/null
fi

if [ ! -d /run/sshd ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "error: /run/sshd (sshd's privilege-separation dir) is missing. As root: mkdir -p /run/sshd" >&2
    exit 1
  fi
  mkdir -p /run/sshd
  chmod 0755 /run/sshd
fi

echo "sshd: ready ($(ssh -V 2>&1))"
