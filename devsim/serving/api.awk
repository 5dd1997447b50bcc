# The OpenAI-compatible API of the simulated vLLM server (busybox awk, BEGIN-only program).
# Input: the request body on stdin; -v method, target, version, sock ("socket:[inode]"), bad.
# Output: one HTTP response on stdout, vLLM-style request lines and the uvicorn access line
# on /dev/stderr. Configuration comes from the VLLM_SIM_* variables the launcher exports.

BEGIN {
    SENTENCE = "The simulated Ascend NPU server answers with plausible text so that deployments , probes and benchmarks can be tested without hardware ."
    NAMES_TEXT = ENVIRON["VLLM_SIM_SERVED_NAMES"]
    NNAMES = split(NAMES_TEXT, NAMES, "\n")
    if (NNAMES == 0) { NNAMES = 1; NAMES[1] = "model" }
    for (i = 1; i <= NNAMES; i++) SERVED[NAMES[i]] = 1
    ROOT = ENVIRON["VLLM_SIM_MODEL"]
    MAXLEN = ENVIRON["VLLM_SIM_MAX_MODEL_LEN"] + 0
    if (MAXLEN < 1) MAXLEN = 4096
    TP = ENVIRON["VLLM_SIM_TP"] + 0
    if (TP < 1) TP = 1
    CREATED = ENVIRON["VLLM_SIM_CREATED"] + 0
    NOW = systime()
    if (CREATED < 1) CREATED = NOW
    PEER = peer(sock)
    port = PEER
    sub(/.*:/, "", port)
    srand(NOW * 7919 + port * 31 + hexnum(substr(uuid(), 1, 6)))

    # the whole body as one record (\001 never occurs in valid JSON)
    RS = "\001"
    body = ""
    n = 0
    while ((getline line) > 0) body = body (n++ ? RS : "") line

    path = target
    sub(/\?.*/, "", path)
    route(method, path, body)
    access_log()
    exit 0
}

# ------------------------------------------------------------------------------- routing

function route(m, p, b) {
    if (bad == "chunked") return error_detail(411, "Length Required", "Length Required")
    if (bad == "large") return error_detail(413, "Request Entity Too Large", "Request Entity Too Large")
    if (bad != "") return error_detail(400, "Bad Request", "Invalid Content-Length")
    if (p == "/health") {
        if (m != "GET" && m != "HEAD") return error_detail(405, "Method Not Allowed", "Method Not Allowed")
        return respond(200, "OK", "application/json", "")
    }
    if (p == "/version") {
        if (m != "GET") return error_detail(405, "Method Not Allowed", "Method Not Allowed")
        return respond(200, "OK", "application/json", "{\"version\":\"0.6.0\"}")
    }
    if (p == "/v1/models") {
        if (m != "GET") return error_detail(405, "Method Not Allowed", "Method Not Allowed")
        return respond(200, "OK", "application/json", models_json())
    }
    if (p == "/v1/completions" || p == "/v1/chat/completions") {
        if (m != "POST") return error_detail(405, "Method Not Allowed", "Method Not Allowed")
        return generate(p == "/v1/chat/completions", b)
    }
    return error_detail(404, "Not Found", "Not Found")
}

function models_json(   out, i, perm) {
    out = "{\"object\":\"list\",\"data\":["
    for (i = 1; i <= NNAMES; i++) {
        perm = "[{\"id\":\"modelperm-" hex(32) "\",\"object\":\"model_permission\",\"created\":" \
            CREATED ",\"allow_create_engine\":false,\"allow_sampling\":true," \
            "\"allow_logprobs\":true,\"allow_search_indices\":false,\"allow_view\":true," \
            "\"allow_fine_tuning\":false,\"organization\":\"*\",\"group\":null,\"is_blocking\":false}]"
        out = out (i > 1 ? "," : "") "{\"id\":" q(NAMES[i]) ",\"object\":\"model\",\"created\":" \
            CREATED ",\"owned_by\":\"vllm\",\"root\":" q(ROOT) ",\"parent\":null," \
            "\"max_model_len\":" MAXLEN ",\"permission\":" perm "}"
    }
    return out "]}"
}

# ---------------------------------------------------------------------------- generation

function generate(chat, b,    ok, model, np, i, k, ptok, maxtok, ctok, finish, text, id, \
                             choices, usage, lat, stream, out, lim, queue, mpre, pre, dec, req) {
    ok = json_parse(b)
    if (!ok) return error_openai(400, "Bad Request", "BadRequestError", \
        "[{'type': 'json_invalid', 'loc': ('body', " JERRPOS "), 'msg': 'JSON decode error', 'input': {}, 'ctx': {'error': '" JERR "'}}]")
    if (T[""] != "object") return error_openai(400, "Bad Request", "BadRequestError", \
        "[{'type': 'model_attributes_type', 'loc': ('body',), 'msg': 'Input should be a valid dictionary or object to extract fields from'}]")
    if (T[key("model")] != "string") return missing("model", T[key("model")])
    model = V[key("model")]
    if (!(model in SERVED)) return error_openai(404, "Not Found", "NotFoundError", \
        "The model `" model "` does not exist.")

    # prompts: PROMPT_TOK[1..np]
    np = 0
    if (chat) {
        k = key("messages")
        if (T[k] != "array" || LEN[k] < 1) return missing("messages", T[k])
        ptok = 0
        for (i = 1; i <= LEN[k]; i++) {
            if (T[k SUBSEP i] != "object" || T[k SUBSEP i SUBSEP "role"] != "string") \
                return missing("messages." (i - 1) ".role", "")
            ptok += 4 + content_tokens(k SUBSEP i SUBSEP "content")
        }
        PROMPT_TOK[++np] = ptok + 2
    } else {
        k = key("prompt")
        if (T[k] == "string") PROMPT_TOK[++np] = tokens(V[k])
        else if (T[k] == "array" && LEN[k] > 0 && T[k SUBSEP 1] == "number") PROMPT_TOK[++np] = LEN[k]
        else if (T[k] == "array" && LEN[k] > 0) {
            for (i = 1; i <= LEN[k]; i++) {
                if (T[k SUBSEP i] == "string") PROMPT_TOK[++np] = tokens(V[k SUBSEP i])
                else if (T[k SUBSEP i] == "array") PROMPT_TOK[++np] = LEN[k SUBSEP i] > 0 ? LEN[k SUBSEP i] : 1
                else return missing("prompt", "invalid")
            }
        } else return missing("prompt", T[k])
    }

    k = key("max_tokens")
    if (T[k] == "number") {
        maxtok = V[k] + 0
        if (maxtok < 1 || maxtok != int(maxtok)) return error_openai(400, "Bad Request", "BadRequestError", \
            "max_tokens must be at least 1, got " V[k] ".")
        finish = "length"
    } else if (T[k] == "" || T[k] == "null") {
        maxtok = chat ? 24 : 16
        finish = chat ? "stop" : "length"
    } else return missing("max_tokens", "invalid")
    for (i = 1; i <= np; i++) {
        if (PROMPT_TOK[i] + maxtok > MAXLEN) {
            lim = "This model's maximum context length is " MAXLEN " tokens. However, you requested " \
                (PROMPT_TOK[i] + maxtok) " tokens (" PROMPT_TOK[i] " in the messages, " maxtok \
                " in the completion). Please reduce the length of the messages or completion."
            return error_openai(400, "Bad Request", "BadRequestError", lim)
        }
    }
    stream = T[key("stream")] == "true"
    ctok = maxtok
    text = words(ctok)
    id = (chat ? "chat-" : "cmpl-") hex(32)
    log_engine("Added request " id ".")

    if (stream) {
        respond(200, "OK", "text/event-stream; charset=utf-8", "")
        for (i = 1; i <= np; i++) stream_events(chat, id, model, i - 1, ctok, finish)
        printf "data: [DONE]\n\n"
        log_engine("Finished request " id ".")
        return 1
    }

    choices = ""
    ptok = 0
    for (i = 1; i <= np; i++) {
        ptok += PROMPT_TOK[i]
        if (chat) choices = choices (i > 1 ? "," : "") "{\"index\":" (i - 1) \
            ",\"message\":{\"role\":\"assistant\",\"content\":" q(text) ",\"tool_calls\":[]}," \
            "\"logprobs\":null,\"finish_reason\":\"" finish "\",\"stop_reason\":null}"
        else choices = choices (i > 1 ? "," : "") "{\"index\":" (i - 1) ",\"text\":" q(text) \
            ",\"logprobs\":null,\"finish_reason\":\"" finish "\",\"stop_reason\":null,\"prompt_logprobs\":null}"
    }
    usage = "{\"prompt_tokens\":" ptok ",\"total_tokens\":" (ptok + ctok * np) \
        ",\"completion_tokens\":" (ctok * np) "}"
    out = "{\"id\":\"" id "\",\"object\":\"" (chat ? "chat.completion" : "text_completion") \
        "\",\"created\":" NOW ",\"model\":" q(model) ",\"choices\":[" choices "],\"usage\":" usage
    if (chat) out = out ",\"prompt_logprobs\":null"
    if (T[key("return_latency")] == "true") {
        # ms, two decimals: queueing, first-token compute grows with the prompt, decode per token
        queue = 0.05 + rand() * 0.45
        mpre = (12 + ptok * 0.06 / (1 + (TP - 1) * 0.3)) * (0.9 + rand() * 0.2)
        pre = mpre + queue + 1.2 + rand() * 1.8
        dec = (26 + rand() * 8) * (TP > 1 ? 0.85 : 1)
        req = pre + (ctok - 1) * dec + 0.3 + rand() * 0.7
        out = out sprintf(",\"latency\":{\"prefill_latency\":%.2f,\"model_prefill_latency\":%.2f," \
            "\"avg_decode_latency\":%.2f,\"time_in_queue\":%.2f,\"request_latency\":%.2f}", \
            pre, mpre, dec, queue, req)
    }
    out = out "}"
    log_engine("Finished request " id ".")
    return respond(200, "OK", "application/json", out)
}

# one server-sent event per token, printed as it is made
function stream_events(chat, id, model, idx, ctok, finish,    head, i, w, fr) {
    head = "data: {\"id\":\"" id "\",\"object\":\"" (chat ? "chat.completion.chunk" : "text_completion") \
        "\",\"created\":" NOW ",\"model\":" q(model) ",\"choices\":[{\"index\":" idx ","
    if (chat) printf "%s\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n", head
    for (i = 1; i <= ctok; i++) {
        w = word(i)
        fr = i == ctok ? "\"" finish "\"" : "null"
        if (chat) printf "%s\"delta\":{\"content\":%s},\"logprobs\":null,\"finish_reason\":%s}]}\n\n", head, q(w), fr
        else printf "%s\"text\":%s,\"logprobs\":null,\"finish_reason\":%s,\"stop_reason\":null}]}\n\n", head, q(w), fr
    }
}

function content_tokens(k,    i, n) {
    if (T[k] == "string") return tokens(V[k])
    n = 0
    if (T[k] == "array")
        for (i = 1; i <= LEN[k]; i++) if (T[k SUBSEP i SUBSEP "text"] == "string") n += tokens(V[k SUBSEP i SUBSEP "text"])
    return n
}

# about four bytes a token, as for English text with a BPE tokenizer
function tokens(s,    n) {
    n = int((length(s) + 3) / 4)
    return n < 1 ? 1 : n
}

# the i-th token of the canned answer (a word, with its leading space after the first)
function word(i,    w) {
    if (!NWORDS) NWORDS = split(SENTENCE, WORDS, " ")
    w = WORDS[(i - 1) % NWORDS + 1]
    return (i == 1 ? "" : " ") w
}

# n tokens of the canned answer, built by doubling (linear in n)
function words(n,    cycle, rep, k, s, i) {
    if (!NWORDS) NWORDS = split(SENTENCE, WORDS, " ")
    cycle = ""
    for (i = 1; i <= NWORDS; i++) cycle = cycle " " WORDS[i]
    k = int(n / NWORDS)
    s = ""
    rep = cycle
    while (k > 0) {
        if (k % 2) s = s rep
        rep = rep rep
        k = int(k / 2)
    }
    for (i = 1; i <= n % NWORDS; i++) s = s " " WORDS[i]
    return substr(s, 2)
}

# ------------------------------------------------------------------------------ responses

function missing(field, type) {
    if (type == "") return error_openai(400, "Bad Request", "BadRequestError", \
        "[{'type': 'missing', 'loc': ('body', '" field "'), 'msg': 'Field required'}]")
    return error_openai(400, "Bad Request", "BadRequestError", \
        "[{'type': 'invalid_type', 'loc': ('body', '" field "'), 'msg': 'Input should be valid'}]")
}

function error_openai(code, reason, type, message) {
    return respond(code, reason, "application/json", "{\"object\":\"error\",\"message\":" q(message) \
        ",\"type\":\"" type "\",\"param\":null,\"code\":" code "}")
}

function error_detail(code, reason, detail) {
    return respond(code, reason, "application/json", "{\"detail\":" q(detail) "}")
}

function respond(code, reason, ctype, content) {
    STATUS = code
    REASON = reason
    printf "HTTP/1.1 %d %s\r\ndate: %s\r\nserver: uvicorn\r\n", code, reason, \
        strftime("%a, %d %b %Y %H:%M:%S GMT", NOW)
    if (ctype ~ /event-stream/) printf "content-type: %s\r\nconnection: close\r\n\r\n", ctype
    else printf "content-length: %d\r\ncontent-type: %s\r\nconnection: close\r\n\r\n", length(content), ctype
    if (method != "HEAD") printf "%s", content
    fflush()
    return 1
}

function access_log() {
    printf "INFO:     %s - \"%s %s %s\" %d %s\n", PEER, method, target, version, STATUS, REASON > "/dev/stderr"
}

function log_engine(msg) {
    if (ENVIRON["VLLM_SIM_LOG_REQUESTS"] == "0") return
    printf "INFO %s async_llm_engine.py:206] %s\n", strftime("%m-%d %H:%M:%S", NOW), msg > "/dev/stderr"
}

function q(s) { # a JSON string
    gsub(/\\/, "\\\\", s)
    gsub(/"/, "\\\"", s)
    gsub(/\n/, "\\n", s)
    gsub(/\r/, "\\r", s)
    gsub(/\t/, "\\t", s)
    return "\"" s "\""
}

function hex(n,    s) { # random hex digits (a uuid4 hex has 32), as vLLM's random_uuid()
    s = ""
    while (length(s) < n) s = s uuid()
    return substr(s, 1, n)
}

function uuid(    u, f) {
    f = "/proc/sys/kernel/random/uuid"
    u = ""
    if ((getline u < f) > 0) close(f)
    else u = sprintf("%08x%08x%08x%08x", rand() * 4294967296, rand() * 4294967296, rand() * 4294967296, rand() * 4294967296)
    gsub(/-/, "", u)
    return u
}

# ---------------------------------------------------------------------- client address

# "ip:port" of the client: the socket inode of stdin, looked up in /proc/net/tcp{,6}
function peer(s,    inode, f, line, a, files, i) {
    inode = s
    sub(/^socket:\[/, "", inode)
    sub(/\]$/, "", inode)
    if (inode == "" || inode == s) return "127.0.0.1:0"
    files = "/proc/net/tcp6 /proc/net/tcp"
    split(files, f, " ")
    for (i = 1; i <= 2; i++) {
        while ((getline line < f[i]) > 0) {
            split(line, a, " ")
            if (a[10] == inode) { close(f[i]); return addr(a[3]) }
        }
        close(f[i])
    }
    return "127.0.0.1:0"
}

function addr(hexaddr,    h, port, ip, w, i) {
    split(hexaddr, h, ":")
    port = hexnum(h[2])
    ip = h[1]
    if (length(ip) == 8) return v4(ip) ":" port
    if (substr(ip, 1, 24) == "0000000000000000FFFF0000") return v4(substr(ip, 25, 8)) ":" port
    if (ip == "00000000000000000000000001000000") return "::1:" port
    w = ""
    for (i = 0; i < 4; i++) w = w le(substr(ip, i * 8 + 1, 8))
    ip = ""
    for (i = 0; i < 8; i++) ip = ip (i ? ":" : "") tolower(substr(w, i * 4 + 1, 4))
    return "[" ip "]:" port
}

function le(word) { # a little-endian 32-bit word in hex, as big-endian hex
    return substr(word, 7, 2) substr(word, 5, 2) substr(word, 3, 2) substr(word, 1, 2)
}

function v4(word) {
    return hexnum(substr(word, 7, 2)) "." hexnum(substr(word, 5, 2)) "." hexnum(substr(word, 3, 2)) "." hexnum(substr(word, 1, 2))
}

function hexnum(s,    n, i) {
    n = 0
    s = toupper(s)
    for (i = 1; i <= length(s); i++) n = n * 16 + index("0123456789ABCDEF", substr(s, i, 1)) - 1
    return n
}

# ---------------------------------------------------------------------------- JSON reader

# Parses a document into T[path] (object|array|string|number|true|false|null), V[path] (the
# scalar's text) and LEN[path] (array length); paths are "" for the document, then keys and
# 1-based indexes joined with SUBSEP. Returns 0 and sets JERR/JERRPOS on malformed input.
# busybox awk's substr() costs O(length) per call, so the text is never walked character by
# character: it is split into strings (between quotes) and words (between punctuation).
function json_parse(text,    bad, nparts, parts, i, offset) {
    JERR = ""
    JERRPOS = 0
    NT = 0
    # control characters other than tab/LF/CR are invalid anywhere; \001 and \002 then
    # stand for the escapes \\ and \" so that every remaining '"' delimits a string
    bad = sprintf("[%c-%c%c%c%c-%c]", 1, 8, 11, 12, 14, 31)
    if (match(text, bad)) { JERRPOS = RSTART - 1; return jfail("Invalid control character at") }
    gsub(/\\\\/, "\001", text)
    gsub(/\\"/, "\002", text)
    nparts = split(text, parts, "\"")
    offset = 0
    for (i = 1; i <= nparts; i++) {
        JERRPOS = offset
        if (i % 2 == 0) {
            if (i == nparts) return jfail("Unterminated string starting at")
            if (!jdecode(parts[i])) return 0
            TT[++NT] = "s"
            TV[NT] = STR
            TP[NT] = offset
        } else if (!lex(parts[i], offset)) return 0
        offset += length(parts[i]) + 1
    }
    JERRPOS = offset - 1
    TI = 1
    if (NT == 0) return jfail("Expecting value")
    if (!value("", 0)) return 0
    if (TI <= NT) return jerr("Extra data")
    return 1
}

# punctuation, literals and numbers of the text between two strings into tokens
function lex(seg, offset,    n, w, i) {
    gsub(/[][{}:,]/, " & ", seg)
    n = split(seg, w, /[ \t\r\n]+/)
    for (i = 1; i <= n; i++) {
        if (w[i] == "") continue
        TP[NT + 1] = offset
        if (w[i] ~ /^[][{}:,]$/ || w[i] == "true" || w[i] == "false" || w[i] == "null") TT[++NT] = w[i]
        else if (w[i] ~ /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$/) {
            TT[++NT] = "n"
            TV[NT] = w[i]
        } else return jfail("Expecting value")
    }
    return 1
}

# the text of one string into STR: escapes decoded, \u beyond ASCII as '?'
function jdecode(s,    n, parts, i, code, out) {
    if (s ~ /[\t\n\r]/) return jfail("Invalid control character at")
    if (s ~ /\\([^\/bfnrtu]|$)/) return jfail("Invalid \\escape")
    if (index(s, "\\u") && length(s) > 256) {
        # long text (a prompt): only its length matters, each escape stands for one char
        if (gsub(/\\u[0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F]/, "?", s) >= 0 && index(s, "\\u"))
            return jfail("Invalid \\uXXXX escape")
    } else if (index(s, "\\u")) {
        n = split(s, parts, /\\u/)
        out = parts[1]
        for (i = 2; i <= n; i++) {
            if (parts[i] !~ /^[0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F]/) return jfail("Invalid \\uXXXX escape")
            code = hexnum(substr(parts[i], 1, 4))
            out = out (code >= 32 && code < 127 ? sprintf("%c", code) : "?") substr(parts[i], 5)
        }
        s = out
    }
    if (index(s, "\\")) {
        gsub(/\\n/, "\n", s)
        gsub(/\\t/, "\t", s)
        gsub(/\\r/, "\r", s)
        gsub(/\\[bf]/, " ", s)
        gsub(/\\\//, "/", s)
    }
    gsub(/\001/, "\\", s)
    gsub(/\002/, "\"", s)
    STR = s
    return 1
}

function key(name) { return SUBSEP name }

function jfail(msg) {
    if (JERR == "") JERR = msg
    return 0
}

function jerr(msg) { # an error at the current token
    JERRPOS = TI <= NT ? TP[TI] : JERRPOS
    return jfail(msg)
}

function value(path, depth,    t) {
    if (depth > 64) return jerr("Too deeply nested")
    if (TI > NT) return jerr("Expecting value")
    t = TT[TI]
    if (t == "{") return object(path, depth)
    if (t == "[") return array(path, depth)
    if (t == "s" || t == "n") {
        T[path] = t == "s" ? "string" : "number"
        V[path] = TV[TI++]
        return 1
    }
    if (t == "true" || t == "false" || t == "null") {
        T[path] = t
        TI++
        return 1
    }
    return jerr("Expecting value")
}

function object(path, depth,    k) {
    T[path] = "object"
    if (TT[++TI] == "}") { TI++; return 1 }
    while (1) {
        if (TT[TI] != "s") return jerr("Expecting property name enclosed in double quotes")
        k = TV[TI++]
        if (TT[TI++] != ":") { TI--; return jerr("Expecting ':' delimiter") }
        if (!value(path SUBSEP k, depth + 1)) return 0
        if (TT[TI] == "}") { TI++; return 1 }
        if (TT[TI++] != ",") { TI--; return jerr("Expecting ',' delimiter") }
    }
}

function array(path, depth,    n) {
    T[path] = "array"
    n = 0
    if (TT[++TI] == "]") { TI++; LEN[path] = 0; return 1 }
    while (1) {
        if (!value(path SUBSEP (++n), depth + 1)) return 0
        if (TT[TI] == "]") { TI++; LEN[path] = n; return 1 }
        if (TT[TI++] != ",") { TI--; return jerr("Expecting ',' delimiter") }
    }
}
