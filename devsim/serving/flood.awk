# Log flood for log-latency benchmarks: `rate` numbered lines a second for `secs` seconds,
# "LOGTEST seq=K t=<ms since epoch>", written in batches on each ~5 ms tick and paced
# against the clock (no drift). Time comes from adjtimex (microseconds), else ts.
BEGIN {
    total = int(rate * secs)
    seq = 0
    t0 = now_ms()
    while (seq < total) {
        t = now_ms()
        due = int((t - t0) * rate / 1000)
        if (due > total) due = total
        while (seq < due) printf "LOGTEST seq=%d t=%.0f\n", ++seq, t
        fflush()
        if (seq < total) system("usleep 4000")
    }
    exit 0
}

function now_ms(    cmd, line, sec, usec, status, a) {
    cmd = "adjtimex 2>/dev/null"
    sec = ""
    usec = ""
    status = 0
    while ((cmd | getline line) > 0) {
        split(line, a, ":")
        sub(/^ +/, "", a[2])
        if (line ~ /time\.tv_sec:/) sec = a[2] + 0
        else if (line ~ /time\.tv_usec:/) usec = a[2] + 0
        else if (line ~ /status:/) status = a[2] + 0
    }
    close(cmd)
    if (sec != "" && usec != "") {
        # STA_NANO (0x2000): the field holds nanoseconds
        if (int(status / 8192) % 2 == 1 || usec >= 1000000) return sec * 1000 + int(usec / 1000000)
        return sec * 1000 + int(usec / 1000)
    }
    cmd = "echo | ts %.s"
    cmd | getline line
    close(cmd)
    split(line, a, " ")
    return int(a[1] * 1000)
}
