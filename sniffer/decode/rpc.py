"""ONC RPC (RFC 5531) with Portmap (RFC 1833), MOUNT and NFSv3 (RFC 1813) calls, one packet at a time.

Calls carry their program, version and procedure and are decoded in full (the NFS file handle hash,
names, offsets as Wireshark's Info shows them). A reply names neither: Wireshark finds its call by
transaction id across packets; here, without state, the reply's program is told by the well-known
port it comes from (2049 NFS, 111 Portmap, 20048 mountd) and its procedure is not known.
"""

from __future__ import annotations

import zlib

from sniffer.decode.core import HEX8, TCP_PORTS, UDP_PORTS, Ctx, F, Header, data_layer

PORTMAP_PORT = 111
NFS_PORT = 2049
MOUNTD_PORT = 20048  # Linux rpc.mountd's usual fixed port

PROG_PORTMAP = 100000
PROG_NFS = 100003
PROG_MOUNT = 100005
PROG_NFSACL = 100227
#: program number -> (Wireshark's protocol column, layer name)
PROGRAMS = {
    PROG_PORTMAP: ("Portmap", "portmap"),
    100001: ("RSTAT", "rstat"),
    PROG_NFS: ("NFS", "nfs"),
    PROG_MOUNT: ("MOUNT", "mount"),
    100021: ("NLM", "nlm"),
    100024: ("STAT", "stat"),
    PROG_NFSACL: ("NFSACL", "nfsacl"),
}
#: the program a reply from a well-known port belongs to
PORT_PROGRAMS = {PORTMAP_PORT: PROG_PORTMAP, NFS_PORT: PROG_NFS, MOUNTD_PORT: PROG_MOUNT}

RPC_CALL = Header(
    (
        F("rpc.xid", "XID", 0, 4, disp=HEX8),
        F("rpc.msgtyp", "Message Type", 4, 4, names={0: "Call", 1: "Reply"}),
        F("rpc.version", "RPC Version", 8, 4),
        F("rpc.program", "Program", 12, 4),
        F("rpc.programversion", "Program Version", 16, 4),
        F("rpc.procedure", "Procedure", 20, 4),
    )
)
RPC_REPLY = Header(
    (
        F("rpc.xid", "XID", 0, 4, disp=HEX8),
        F("rpc.msgtyp", "Message Type", 4, 4, names={0: "Call", 1: "Reply"}),
        F("rpc.replystat", "Reply State", 8, 4, names={0: "accepted", 1: "denied"}),
    )
)

PORTMAP_PROCS = {0: "NULL", 1: "SET", 2: "UNSET", 3: "GETPORT", 4: "DUMP", 5: "CALLIT"}
MOUNT_PROCS = {0: "NULL", 1: "MNT", 2: "DUMP", 3: "UMNT", 4: "UMNTALL", 5: "EXPORT"}
NFS3_PROCS = {
    0: "NULL",
    1: "GETATTR",
    2: "SETATTR",
    3: "LOOKUP",
    4: "ACCESS",
    5: "READLINK",
    6: "READ",
    7: "WRITE",
    8: "CREATE",
    9: "MKDIR",
    10: "SYMLINK",
    11: "MKNOD",
    12: "REMOVE",
    13: "RMDIR",
    14: "RENAME",
    15: "LINK",
    16: "READDIR",
    17: "READDIRPLUS",
    18: "FSSTAT",
    19: "FSINFO",
    20: "PATHCONF",
    21: "COMMIT",
}
NFSACL_PROCS = {0: "NULL", 1: "GETACL", 2: "SETACL"}
PROCS = {
    PROG_PORTMAP: PORTMAP_PROCS,
    PROG_MOUNT: MOUNT_PROCS,
    PROG_NFS: NFS3_PROCS,
    PROG_NFSACL: NFSACL_PROCS,
}
_ACCESS_BITS = ((1, "RD"), (2, "LU"), (4, "MD"), (8, "XT"), (0x10, "DL"), (0x20, "XE"))
_STABLE = {0: "UNSTABLE", 1: "DATA_SYNC", 2: "FILE_SYNC"}
_CREATE_MODES = {0: "UNCHECKED", 1: "GUARDED", 2: "EXCLUSIVE"}
_IPPROTO = {6: "TCP", 17: "UDP"}


class _Cut(Exception):
    """The arguments run past the end of the bytes."""


class _Xdr:
    """A reader of XDR items (big-endian 4-byte units) over ctx.data, recording fields as it goes."""

    def __init__(self, ctx: Ctx, o: int, lim: int) -> None:
        self.ctx = ctx
        self.o = o
        self.lim = lim

    def u32(self, name: str = "", label: str = "") -> int:
        if self.o + 4 > self.lim:
            raise _Cut
        v = int.from_bytes(self.ctx.data[self.o : self.o + 4], "big")
        if name:
            self.ctx.add(name, v, self.o, 4, label)
        self.o += 4
        return v

    def u64(self, name: str = "", label: str = "") -> int:
        if self.o + 8 > self.lim:
            raise _Cut
        v = int.from_bytes(self.ctx.data[self.o : self.o + 8], "big")
        if name:
            self.ctx.add(name, v, self.o, 8, label)
        self.o += 8
        return v

    def opaque(self) -> tuple[int, bytes]:
        """(offset, bytes) of a variable-length opaque/string, padded to 4."""
        n = self.u32()
        s = self.o
        if s + n > self.lim or n > 1 << 20:
            raise _Cut
        self.o = s + ((n + 3) & ~3)
        return s, self.ctx.data[s : s + n]

    def string(self, name: str, label: str) -> str:
        s, b = self.opaque()
        v = b.decode("latin-1")
        self.ctx.add(name, v, s, len(b), label)
        return v

    def fh(self) -> str:
        """An NFSv3 file handle: its length, bytes and Wireshark's hash (CRC-32), as "0x%08x"."""
        s, b = self.opaque()
        self.ctx.add("nfs.fh.length", len(b), s - 4, 4, "length")
        h = zlib.crc32(b)
        self.ctx.add("nfs.fh.hash", h, s, len(b), "hash", f"[hash (CRC-32): 0x{h:08x}]")
        self.ctx.add("nfs.fhandle", b.hex(":"), s, len(b), "filehandle")
        return f"0x{h:08x}"

    def sattr3(self) -> None:
        """Skip an sattr3 (the attributes SETATTR/CREATE/MKDIR/SYMLINK may set)."""
        for size in (4, 4, 4, 8):  # mode, uid, gid, size: a bool, then the value if set
            if self.u32():
                self.o += size
        for _ in range(2):  # atime, mtime: 0 don't change, 1 server time, 2 client time + nfstime3
            if self.u32() == 2:
                self.o += 8


def _auth(x: _Xdr) -> None:
    """The credentials (AUTH_UNIX decoded) and the verifier."""
    ctx = x.ctx
    flavor = x.u32("rpc.auth.flavor", "Flavor")
    n = x.u32("rpc.auth.length", "Length")
    body = x.o
    if flavor == 1 and n >= 20:  # AUTH_UNIX: stamp, machine name, uid, gid, aux gids
        x.u32("rpc.auth.stamp", "Stamp")
        x.string("rpc.auth.machinename", "Machine Name")
        x.u32("rpc.auth.uid", "UID")
        x.u32("rpc.auth.gid", "GID")
        for _ in range(min(x.u32(), 16)):
            x.u32("rpc.auth.gid", "GID")
    x.o = body + ((n + 3) & ~3)
    ctx.add("rpc.auth.flavor", x.u32(), x.o - 4, 4, "Flavor")  # the verifier
    vn = x.u32("rpc.auth.length", "Length")
    x.o += (vn + 3) & ~3


def _nfs3_call(x: _Xdr, proc: int) -> str:
    """The arguments of an NFSv3 call; returns the Info text after "V3 NAME Call"."""
    if proc in (1, 2, 5, 16, 17, 18, 19, 20, 21):
        return f", FH: {x.fh()}"
    if proc in (3, 9, 12, 13):  # diropargs3
        h = x.fh()
        return f", DH: {h}/{x.string('nfs.name', 'Name')}"
    if proc == 4:
        h = x.fh()
        bits = x.u32("nfs.access_check", "Check access")
        names = " ".join(n for b, n in _ACCESS_BITS if bits & b)
        return f", FH: {h}, [Check: {names}]"
    if proc in (6, 7):
        h = x.fh()
        offset = x.u64("nfs.offset3", "offset")
        count = x.u32("nfs.count3", "count")
        if proc == 6:
            return f", FH: {h} Offset: {offset} Len: {count}"
        stable = x.u32("nfs.write.stable", "Stable")
        return f", FH: {h} Offset: {offset} Len: {count} {_STABLE.get(stable, stable)}"
    if proc == 8:
        h = x.fh()
        name = x.string("nfs.name", "Name")
        mode = x.u32("nfs.createmode", "Create Mode")
        return f", DH: {h}/{name} Mode: {_CREATE_MODES.get(mode, mode)}"
    if proc == 10:
        h = x.fh()
        name = x.string("nfs.name", "Name")
        x.sattr3()
        target = x.string("nfs.symlink.to", "To")
        return f", From DH: {h}/{name} To {target}"
    if proc == 14:
        h = x.fh()
        name = x.string("nfs.name", "Name")
        h2 = x.fh()
        name2 = x.string("nfs.name", "Name")
        return f", From DH: {h}/{name} To DH: {h2}/{name2}"
    if proc == 15:
        h = x.fh()
        h2 = x.fh()
        return f", From DH: {h} To DH: {h2}/{x.string('nfs.name', 'Name')}"
    return ""


def _call(ctx: Ctx, x: _Xdr, off: int) -> None:
    v = RPC_CALL.read(ctx, off, x.lim)
    if v is None:
        return
    prog, vers, proc = v["rpc.program"], v["rpc.programversion"], v["rpc.procedure"]
    x.o = off + 24
    proto = PROGRAMS.get(prog)
    if proto is not None:
        ctx.proto = proto[0]
    pname = PROCS.get(prog, {}).get(proc, f"Unknown proc ({proc})")
    ctx.info = f"V{vers} {pname} Call"
    # Wireshark shows the version twice (the program's, then the one the procedure table is for)
    ctx.add("rpc.programversion", vers, off + 16, 4, "Program Version")
    try:
        _auth(x)
        if proto is None:
            return
        if proc:  # NULL calls have no arguments (nor a layer of their program in Wireshark)
            ctx.push(proto[1], proto[0], x.o, x.lim - x.o)
        if prog == PROG_NFS and vers == 3:
            ctx.add("nfs.procedure_v3", proc, off + 20, 4, "V3 Procedure")
            if proc:
                ctx.info += _nfs3_call(x, proc)
        elif prog == PROG_MOUNT:
            ctx.add(f"mount.procedure_v{vers}", proc, off + 20, 4, "Procedure")
            if proc in (1, 3):
                ctx.info += f" {x.string('mount.path', 'Path')}"
        elif prog == PROG_PORTMAP:
            ctx.add(f"portmap.procedure_v{vers}", proc, off + 20, 4, "Procedure")
            if proc in (1, 2, 3):
                p = x.u32("portmap.prog", "Program")
                pv = x.u32("portmap.version", "Version")
                ip = x.u32("portmap.proto", "Proto")
                x.u32("portmap.port", "Port")
                pn = PROGRAMS.get(p, ("Unknown",))[0]
                ctx.info += f" {pn}({p}) V:{pv} {_IPPROTO.get(ip, ip)}"
        elif prog == PROG_NFSACL:
            ctx.add(f"nfsacl.procedure_v{vers}", proc, off + 20, 4, "Procedure")
            if proc in (1, 2):
                x.fh()
    except _Cut:
        ctx.short(x.lim + 1, x.lim)


def _reply(ctx: Ctx, x: _Xdr, off: int, port: int) -> None:
    v = RPC_REPLY.read(ctx, off, x.lim)
    if v is None:
        return
    prog = PORT_PROGRAMS.get(port)
    proto = PROGRAMS.get(prog or 0)
    if proto is not None:
        ctx.proto = proto[0]
    ctx.info = "Reply"
    if v["rpc.replystat"] == 0 and off + 24 <= x.lim:
        x.o = off + 12
        try:
            x.u32()  # verifier flavor
            x.o += (x.u32() + 3) & ~3
            x.u32("rpc.state_accept", "Accept State")
        except _Cut:
            pass


def _rpc(ctx: Ctx, off: int, end: int, port: int) -> bool:
    """An RPC message at ``off``: False (nothing recorded) if it does not look like one."""
    data = ctx.data
    lim = min(end, len(data))
    if off + 12 > lim:
        return False
    mt = int.from_bytes(data[off + 4 : off + 8], "big")
    if mt == 0:
        if int.from_bytes(data[off + 8 : off + 12], "big") != 2 or off + 24 > lim:
            return False
    elif mt != 1 or int.from_bytes(data[off + 8 : off + 12], "big") > 1:
        return False
    ctx.push("rpc", "Remote Procedure Call", off, lim - off)
    ctx.proto = "RPC"
    x = _Xdr(ctx, off, lim)
    if mt == 0:
        _call(ctx, x, off)
    else:
        _reply(ctx, x, off, port)
    return True


def _server_port(ctx: Ctx, prefix: str) -> int:
    sp = ctx.fields.get(f"{prefix}.srcport")
    if isinstance(sp, list):
        sp = sp[-1]
    return sp if isinstance(sp, int) else 0


@UDP_PORTS.register(PORTMAP_PORT, NFS_PORT, MOUNTD_PORT)
def dissect_rpc_udp(ctx: Ctx, off: int, end: int) -> None:
    if not _rpc(ctx, off, end, _server_port(ctx, "udp")):
        data_layer(ctx, off, end)


@TCP_PORTS.register(PORTMAP_PORT, NFS_PORT, MOUNTD_PORT)
def dissect_rpc_tcp(ctx: Ctx, off: int, end: int) -> None:
    """Over TCP each message follows a record mark (the last-fragment bit and the fragment length); a
    segment may hold several."""
    data = ctx.data
    lim = min(end, len(data))
    infos = []
    o = off
    while o + 4 <= lim:
        mark = int.from_bytes(data[o : o + 4], "big")
        n = mark & 0x7FFFFFFF
        if not 12 <= n <= 1 << 24 or not _rpc(ctx, o + 4, min(end, o + 4 + n), _server_port(ctx, "tcp")):
            break
        ctx.add("rpc.lastfrag", mark >> 31, o, 4, "Last Fragment")
        ctx.add("rpc.fraglen", n, o, 4, "Fragment Length")
        infos.append(ctx.info)
        o += 4 + n
    if not infos:
        data_layer(ctx, off, end)
        return
    ctx.info = "  ; ".join(infos)


#: names the code builds (for the filter engine's list of what sniffer decodes)
DECLARES = (
    "mount.procedure_v3",
    "portmap.procedure_v2",
    "nfsacl.procedure_v3",
    "nfs",
    "mount",
    "portmap",
    "nfsacl",
)
