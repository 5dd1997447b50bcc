"""DevServer simulator: real sshd nodes with a simulated npu-smi, backed by real containers."""
