"""Database wire protocols, one TCP segment at a time: MySQL (client/server protocol, TCP 3306) and
PostgreSQL (frontend/backend protocol v3, TCP 5432).

Direction is told by the port (a segment to the server's port is the client's). Without state, a
MySQL login request is recognised as the client's packet number 1 (the answer to the greeting), and a
PostgreSQL segment starting with a length and protocol code is a startup/SSL request.
"""

from __future__ import annotations

from sniffer.decode.core import TCP_PORTS, Ctx, data_layer

MYSQL_PORT = 3306
PGSQL_PORT = 5432

MYSQL_COMMANDS = {
    0: "Sleep",
    1: "Quit",
    2: "Use Database",
    3: "Query",
    4: "Show Fields",
    5: "Create Database",
    6: "Drop Database",
    7: "Refresh",
    8: "Shutdown",
    9: "Statistics",
    10: "Process List",
    11: "Connect",
    12: "Kill Server Thread",
    13: "Dump Debug Info",
    14: "Ping",
    17: "Change User",
    22: "Prepare Statement",
    23: "Execute Statement",
    24: "Send BLOB",
    25: "Close Statement",
    26: "Reset Statement",
    27: "Set Option",
    28: "Fetch Data",
}


def _to_server(ctx: Ctx, port: int) -> bool:
    dp = ctx.fields.get("tcp.dstport")
    if isinstance(dp, list):
        dp = dp[-1]
    return bool(dp == port)


def _lenenc(data: bytes, o: int) -> tuple[int, int]:
    """A MySQL length-encoded integer at ``o``: (value, size)."""
    b = data[o]
    if b < 0xFB:
        return b, 1
    n = {0xFC: 2, 0xFD: 3, 0xFE: 8}.get(b, 0)
    return int.from_bytes(data[o + 1 : o + 1 + n], "little"), 1 + n


def _cstr(data: bytes, o: int, lim: int) -> str:
    e = data.find(b"\0", o, lim)
    return data[o : e if e >= 0 else lim].decode("latin-1")


@TCP_PORTS.register(MYSQL_PORT)
def dissect_mysql(ctx: Ctx, off: int, end: int) -> None:
    data = ctx.data
    lim = min(end, len(data))
    if off + 4 > lim:
        data_layer(ctx, off, end)
        return
    ctx.push("mysql", "MySQL Protocol", off, lim - off)
    ctx.proto = "MySQL"
    req = _to_server(ctx, MYSQL_PORT)
    info = ""
    o = off
    first = True
    while o + 4 <= lim:
        n = int.from_bytes(data[o : o + 3], "little")
        num = data[o + 3]
        ctx.add("mysql.packet_length", n, o, 3, "Packet Length")
        ctx.add("mysql.packet_number", num, o + 3, 1, "Packet Number")
        p = o + 4
        e = min(p + n, lim)
        if p >= e:
            o = p + n
            continue
        if req and first:
            if num == 0:
                cmd = data[p]
                ctx.add("mysql.command", cmd, p, 1, "Command")
                info = f"Request {MYSQL_COMMANDS.get(cmd, f'Unknown ({cmd})')}"
                if cmd in (3, 22):
                    ctx.add(
                        "mysql.query",
                        data[p + 1 : e].decode("utf-8", "replace"),
                        p + 1,
                        e - p - 1,
                        "Statement",
                    )
                elif cmd == 2:
                    ctx.add(
                        "mysql.schema", data[p + 1 : e].decode("utf-8", "replace"), p + 1, e - p - 1, "Schema"
                    )
            elif num == 1 and n >= 32:  # the handshake response: capabilities, max packet, charset, user
                user = _cstr(data, p + 32, e)
                ctx.add("mysql.user", user, p + 32, len(user) + 1, "Username")
                info = f"Login Request user={user} "
            else:
                info = "Request"
        elif not req:
            b = data[p]
            if first and num == 0 and b == 10:  # the server greeting (protocol 10)
                version = _cstr(data, p + 1, e)
                ctx.add("mysql.protocol", b, p, 1, "Protocol")
                ctx.add("mysql.version", version, p + 1, len(version) + 1, "Version")
                q = p + 2 + len(version)
                if q + 4 <= e:
                    ctx.add("mysql.thread_id", int.from_bytes(data[q : q + 4], "little"), q, 4, "Thread ID")
                if q + 18 <= e:  # thread id, salt (8), filler, capabilities (2), charset, status
                    ctx.add(
                        "mysql.server_status",
                        int.from_bytes(data[q + 16 : q + 18], "little"),
                        q + 16,
                        2,
                        "Server Status",
                    )
                info = f"Server Greeting  proto={b} version={version} "
            elif b == 0x00 and first:
                ctx.add("mysql.response_code", b, p, 1, "Response Code")
                rows, k = _lenenc(data, p + 1)
                ctx.add("mysql.affected_rows", rows, p + 1, k, "Affected Rows")
                _iid, k2 = _lenenc(data, p + 1 + k)
                q = p + 1 + k + k2
                if q + 4 <= e:
                    ctx.add(
                        "mysql.server_status",
                        int.from_bytes(data[q : q + 2], "little"),
                        q,
                        2,
                        "Server Status",
                    )
                    ctx.add(
                        "mysql.warnings", int.from_bytes(data[q + 2 : q + 4], "little"), q + 2, 2, "Warnings"
                    )
                info = "Response  OK "
            elif b == 0xFF:
                code = int.from_bytes(data[p + 1 : p + 3], "little")
                ctx.add("mysql.response_code", b, p, 1, "Response Code")
                ctx.add("mysql.error_code", code, p + 1, 2, "Error Code")
                info = info or f"Response  Error {code} "
            elif b == 0xFE and n < 9:  # EOF
                ctx.add("mysql.response_code", b, p, 1, "Response Code")
                if p + 5 <= e:
                    ctx.add(
                        "mysql.warnings", int.from_bytes(data[p + 1 : p + 3], "little"), p + 1, 2, "Warnings"
                    )
                    ctx.add(
                        "mysql.server_status",
                        int.from_bytes(data[p + 3 : p + 5], "little"),
                        p + 3,
                        2,
                        "Server Status",
                    )
                info = info or "Response "
            elif first:
                cols, k = _lenenc(data, p)
                ctx.add("mysql.num_fields", cols, p, k, "Number of fields")
                info = "Response TABULAR Response "
        first = False
        o = p + n
    ctx.info = info or ("Request" if req else "Response ")


PGSQL_FRONTEND = {
    "B": "Bind",
    "C": "Close",
    "D": "Describe",
    "E": "Execute",
    "F": "Function call",
    "H": "Flush",
    "P": "Parse",
    "Q": "Simple query",
    "S": "Sync",
    "X": "Termination",
    "d": "Copy data",
    "c": "Copy completion",
    "f": "Copy failure",
    "p": "Password message",
}
PGSQL_BACKEND = {
    "R": "Authentication request",
    "K": "Backend key data",
    "S": "Parameter status",
    "1": "Parse completion",
    "2": "Bind completion",
    "3": "Close completion",
    "C": "Command completion",
    "t": "Parameter description",
    "T": "Row description",
    "D": "Data row",
    "I": "Empty query",
    "n": "No data",
    "E": "Error",
    "N": "Notice",
    "s": "Portal suspended",
    "Z": "Ready for query",
    "A": "Notification",
    "V": "Function call response",
    "G": "CopyIn response",
    "H": "CopyOut response",
    "d": "Copy data",
    "c": "Copy completion",
}


@TCP_PORTS.register(PGSQL_PORT)
def dissect_pgsql(ctx: Ctx, off: int, end: int) -> None:
    data = ctx.data
    lim = min(end, len(data))
    if off + 5 > lim:
        data_layer(ctx, off, end)
        return
    req = _to_server(ctx, PGSQL_PORT)
    codes = []
    o = off
    first_byte = data[off]
    if req and first_byte == 0:  # no type byte: startup, SSL or cancel request (length, then a code)
        n = int.from_bytes(data[off : off + 4], "big")
        code = int.from_bytes(data[off + 4 : off + 8], "big")
        ctx.push("pgsql", "PostgreSQL", off, lim - off)
        ctx.proto = "PGSQL"
        name = {80877103: "SSL request", 80877102: "Cancel request", 80877104: "GSSENC request"}.get(
            code, "Startup message"
        )
        ctx.add("pgsql.type", name, off, 0, "Type")
        ctx.add("pgsql.length", n, off, 4, "Length")
        if name == "Startup message":
            p = off + 8
            stop = min(off + n, lim)
            while p < stop and data[p]:
                k = _cstr(data, p, stop)
                p += len(k) + 1
                v = _cstr(data, p, stop)
                p += len(v) + 1
                ctx.add("pgsql.parameter_name", k, p, 0, "Parameter name")
                ctx.add("pgsql.parameter_value", v, p, 0, "Parameter value")
        ctx.info = ">"
        return
    table = PGSQL_FRONTEND if req else PGSQL_BACKEND
    if chr(first_byte) not in table:
        data_layer(ctx, off, end)
        return
    ctx.push("pgsql", "PostgreSQL", off, lim - off)
    ctx.proto = "PGSQL"
    while o + 5 <= lim:
        t = chr(data[o])
        kind = table.get(t)
        if kind is None:
            break
        n = int.from_bytes(data[o + 1 : o + 5], "big")
        if req and t == "p":  # the password message carries the SASL exchange too (told by its contents)
            body = data[o + 5 : min(lim, o + 1 + n)]
            if body.startswith(b"SCRAM-") or body.startswith(b"GS2-"):
                kind = "SASLInitialResponse message"
            elif body.startswith(b"c="):
                kind = "SASLResponse message"
        ctx.add("pgsql.type", kind, o, 1, "Type")
        ctx.add("pgsql.length", n, o + 1, 4, "Length")
        if t == "R" and not req and o + 9 <= lim:
            ctx.add(
                "pgsql.authtype", int.from_bytes(data[o + 5 : o + 9], "big"), o + 5, 4, "Authentication type"
            )
        elif t == "S" and not req:
            stop = min(lim, o + 1 + n)
            k = _cstr(data, o + 5, stop)
            v = _cstr(data, o + 6 + len(k), stop)
            ctx.add("pgsql.parameter_name", k, o + 5, len(k) + 1, "Parameter name")
            ctx.add("pgsql.parameter_value", v, o + 6 + len(k), len(v) + 1, "Parameter value")
        elif t == "Q" and req:
            ctx.add("pgsql.query", _cstr(data, o + 5, min(lim, o + 1 + n)), o + 5, n - 4, "Query")
        codes.append(t)
        if n < 4:
            break
        o += 1 + n
    ctx.info = ("<" if not req else ">") + "/".join(codes)
