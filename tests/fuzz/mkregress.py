#!/usr/bin/env python3
# Rebuilds tests/fuzz/regress/ from a real recording (the crafted files of
# issue 16, each a crash before 59bffed). Not run by make: the files are
# committed. Usage: tests/fuzz/mkregress.py tests/fuzz/corpus/mixed-v4-v6-mapped.tcrec
#
# Besides issue 16's files, the two the fuzzer found later (README.md):
# recfile-bsearch-null-ports.tcrec and prom-label-invalid-utf8.tcrec.
#
# Format (user/model/recfile.h): "TCPCLREC", u32 version, u32 n, n bytes of header
# JSON, then frames: u32 type, u32 length, payload (host byte order; these
# files are little-endian, as the x86 recordings they come from).
import json, os, struct, sys

CLOSE, TW, PORTS, END = 1, 2, 3, 9
here = os.path.dirname(os.path.abspath(__file__))
out = os.path.join(here, "regress")


def parse(data):
    assert data[:8] == b"TCPCLREC"
    ver, n = struct.unpack_from("<II", data, 8)
    header = json.loads(data[16:16 + n])
    frames, o = [], 16 + n
    while o + 8 <= len(data):
        t, l = struct.unpack_from("<II", data, o)
        frames.append((t, data[o + 8:o + 8 + l]))
        o += 8 + l
    return ver, header, frames


def build(ver, header, frames, hdr_len=None):
    h = json.dumps(header, separators=(",", ":")).encode()
    b = b"TCPCLREC" + struct.pack("<II", ver, len(h) if hdr_len is None else hdr_len) + h
    for t, p in frames:
        b += struct.pack("<II", t, len(p)) + p
    return b


def write(name, data):
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)


ver, header, frames = parse(open(sys.argv[1], "rb").read())
body = [f for f in frames if f[0] != END]
trailer = json.loads([p for t, p in frames if t == END][0])
os.makedirs(out, exist_ok=True)


def with_header(name, **kv):
    h = dict(header)
    h.update(kv)
    write(name, build(ver, h, frames))


def with_trailer(name, change):
    t = json.loads(json.dumps(trailer))
    change(t)
    write(name, build(ver, header, body + [(END, json.dumps(t).encode())]))


# header: byte_order null reached strcmp (SIGSEGV)
with_header("header-byte-order-null.tcrec", byte_order=None)
with_header("header-byte-order-number.tcrec", byte_order=1)
sz = header["sizes"]
with_header("header-sizes-array.tcrec", sizes=[sz["event"], sz["tw_event"], sz["portrec"]])
with_header("header-hook-escape.tcrec", state_hook="\x1b[2J\x1b[31mred")
with_header("header-flags-strings.tcrec", port_hooks="yes", tw_snapshot=1, survey=None)
# header length past the end of the file
write("header-length-huge.tcrec", build(ver, header, frames, hdr_len=0xFFFFFFF0))

# trailer: a value that is not an array reached json_object_array_length (SIGABRT)
with_trailer("trailer-health-stat-object.tcrec", lambda t: t["health"].update(stat={"a": 1}))
with_trailer("trailer-health-stat-string.tcrec", lambda t: t["health"].update(stat=[1, "2", -3]))
with_trailer("trailer-health-array.tcrec", lambda t: t.update(health=[1, 2]))
with_trailer("trailer-programs-string.tcrec", lambda t: t.update(programs="tc_state_btf"))
with_trailer("trailer-programs-number.tcrec", lambda t: t.update(programs=[5]))
with_trailer("trailer-program-name-utf8.tcrec",
             lambda t: t.update(prog_stats=True, programs=[{"name": "\u00e9" * 40, "runs": 1,
                                                            "run_ns": 2}]))
with_trailer("trailer-netns-number.tcrec", lambda t: t.update(netns=7))
with_trailer("trailer-netns-null.tcrec", lambda t: t.update(netns=[None]))
with_trailer("trailer-netns-ranges.tcrec",
             lambda t: t["netns"][0].update(port_lo=-1, port_hi=1 << 40, found="1"))
with_trailer("trailer-cgroups-numbers.tcrec", lambda t: t.update(cgroups={"1": 2}))
with_trailer("trailer-duration-string.tcrec", lambda t: t.update(duration_s="2"))

# a frame claiming 1 GiB in a file of a few KB: allocated before the file
# was seen to be that short
big = 1 << 30
write("frame-1gib-end.tcrec", build(ver, header, body) + struct.pack("<II", END, big) + b"{}")
write("frame-1gib-unknown.tcrec", build(ver, header, body) + struct.pack("<II", 77, big) + b"x" * 64)
write("frame-4gib-unknown.tcrec", build(ver, header, body) + struct.pack("<II", 77, 0xFFFFFFFF))
write("frame-1gib-close.tcrec", build(ver, header, body[:1]) + struct.pack("<II", CLOSE, big) + body[1][1])
write("frame-ports-huge.tcrec", build(ver, header, body) + struct.pack("<II", PORTS, 8 + 48 * 22369621))

# found by the fuzzer later (README.md), once in tests/fuzz/found:
# a trailer whose netns was surveyed ("found" 1) and no port-survey frame:
# ports_of() bsearched r->ports = NULL (UBSan, before f19bdcc). The events'
# netns is the trailer's, so the model has it and looks for its ports.
t = json.loads(json.dumps(trailer))
assert t["netns"] and t["netns"][0]["found"] == 1
write("recfile-bsearch-null-ports.tcrec",
      build(ver, header, [f for f in body if f[0] != PORTS] + [(END, json.dumps(t).encode())]))


# a close whose comm is the bytes \377 (not UTF-8): must still reach the
# Prometheus renderer, as a valid label (it once refused the whole scrape).
# comm is struct tc_owner's first char array in struct tc_event: found by
# the name closer gives its processes (tc-server / tc-client).
def bad_comm(p):
    i = p.find(b"tc-")
    assert i > 0 and p[i:i + 16].rstrip(b"\0") in (b"tc-server", b"tc-client"), p
    return p[:i] + b"\377".ljust(16, b"\0") + p[i + 16:]


first = next(k for k, f in enumerate(body) if f[0] == CLOSE)
write("prom-label-invalid-utf8.tcrec",
      build(ver, header, [(CLOSE, bad_comm(body[first][1]))] + [f for f in body if f[0] == PORTS] +
            [(END, json.dumps(trailer).encode())]))
