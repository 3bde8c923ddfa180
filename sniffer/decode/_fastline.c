/* sniffer.decode._fastline: the native accelerator of `sniffer read`'s text loop (docs/decode.md).
 *
 * A Walker walks classic pcap records in a reader's read buffer (or takes one frame at a time) and writes,
 * for every packet it knows completely, the exact line decode/summary.py's Python loop writes. At the first
 * record it does not know (or that does not fit in the buffer) it stops and hands that record back: the
 * Python loop formats it (its own fast path or the dissector) and calls the walker again. What "known" means
 * is given by Python at construction (the dissected port sets, the heuristics' prefixes and probes, the
 * conversations' live port set, the TCP flag texts, the ICMP echo names, the local-time formatter): this
 * file copies the conditions of summary._text_raw's inlined fast path, never a protocol table.
 *
 * Every read of a record is checked against its caplen and the buffer's end; a test feeds random bytes.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define NUMS_MAX 65600 /* summary's num table: str(i) for i < 65600; a larger wire length is Python's */

typedef struct {
    PyObject_HEAD
    uint8_t ports[65536]; /* bit 1: TCP port with a dissector, 2: ... not heuristic, 4/8: the same for UDP */
    uint8_t *pfx;         /* 2^24 bits: the 3-byte payload prefixes of the port tables' heuristic dissectors */
    uint8_t *hpfx;        /* 2^24 bits: TCP's heuristic dissectors' prefixes (any port) */
    uint8_t first[256];
    uint8_t hfirst[256];
    uint8_t udp_b1[256]; /* UDP heuristics: payload byte 1 */
    uint32_t *w0;        /* UDP heuristics: payload bytes 0-3, 4-7 (big-endian) */
    Py_ssize_t nw0;
    uint32_t *w4;
    Py_ssize_t nw4;
    PyObject *bound; /* the live set of UDP conversation ports */
    PyObject *hms_fn; /* summary._hms: "HH:MM:SS." of a Unix second (local time) */
    int arp;          /* Ethernet and ARP are the dissectors whose columns format_arp copies */
    char igmp[256][40]; /* IGMPv2's type names (decode.igmp.IGMP_TYPES) while IPv4 and IGMP are the
                           registered dissectors; empty: not formatted here */
    uint8_t igmp_len[256];
    char frag[256][40]; /* IP protocol names (decode.inet.PROTO_NAMES, "Unknown") for IPv4 fragments' Info
                           while IPv4 is the registered dissector; empty: not formatted here */
    uint8_t frag_len[256];
    char *flags;      /* the 4096 TCP flag texts, NUL-separated */
    uint32_t flag_off[4096];
    uint16_t flag_len[4096];
    char echo[256][40];
    uint8_t echo_len[256];
    long long last_sec;
    char hms[32];
    Py_ssize_t hms_len;
    char *out;
    Py_ssize_t cap;
} Walker;

static void walker_dealloc(Walker *w) {
    PyMem_Free(w->pfx);
    PyMem_Free(w->hpfx);
    PyMem_Free(w->w0);
    PyMem_Free(w->w4);
    PyMem_Free(w->flags);
    PyMem_Free(w->out);
    Py_XDECREF(w->bound);
    Py_XDECREF(w->hms_fn);
    Py_TYPE(w)->tp_free((PyObject *)w);
}

/* a 2^24-bit table of a set of 3-byte bytes objects (ValueError for another length) */
static uint8_t *prefix_table(PyObject *set) {
    uint8_t *t = PyMem_Calloc(1 << 21, 1);
    if (t == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    PyObject *it = PyObject_GetIter(set), *item;
    if (it == NULL) {
        PyMem_Free(t);
        return NULL;
    }
    while ((item = PyIter_Next(it)) != NULL) {
        if (!PyBytes_Check(item) || PyBytes_GET_SIZE(item) != 3) {
            Py_DECREF(item);
            Py_DECREF(it);
            PyMem_Free(t);
            PyErr_SetString(PyExc_ValueError, "prefixes must be 3-byte bytes");
            return NULL;
        }
        const uint8_t *b = (const uint8_t *)PyBytes_AS_STRING(item);
        uint32_t v = (uint32_t)b[0] << 16 | (uint32_t)b[1] << 8 | b[2];
        t[v >> 3] |= (uint8_t)(1 << (v & 7));
        Py_DECREF(item);
    }
    Py_DECREF(it);
    if (PyErr_Occurred()) {
        PyMem_Free(t);
        return NULL;
    }
    return t;
}

static uint32_t *u32_array(PyObject *set, Py_ssize_t *n) {
    PyObject *seq = PySequence_List(set);
    if (seq == NULL)
        return NULL;
    Py_ssize_t len = PyList_GET_SIZE(seq);
    uint32_t *a = PyMem_Malloc(sizeof(uint32_t) * (size_t)(len ? len : 1));
    if (a == NULL) {
        Py_DECREF(seq);
        PyErr_NoMemory();
        return NULL;
    }
    for (Py_ssize_t i = 0; i < len; i++) {
        unsigned long v = PyLong_AsUnsignedLong(PyList_GET_ITEM(seq, i));
        if (v == (unsigned long)-1 && PyErr_Occurred()) {
            Py_DECREF(seq);
            PyMem_Free(a);
            return NULL;
        }
        a[i] = (uint32_t)v;
    }
    Py_DECREF(seq);
    *n = len;
    return a;
}

static int copy_table256(PyObject *b, uint8_t *dst) {
    if (!PyBytes_Check(b) || PyBytes_GET_SIZE(b) != 256) {
        PyErr_SetString(PyExc_ValueError, "a 256-byte table is needed");
        return -1;
    }
    memcpy(dst, PyBytes_AS_STRING(b), 256);
    return 0;
}

/* names[t] = d[t] for a {0..255: ASCII str of <= 39 characters} dict (empty allowed or not) */
static int name_table(PyObject *d, char names[256][40], uint8_t lens[256], int allow_empty, const char *what) {
    PyObject *k, *v;
    Py_ssize_t ppos = 0;
    while (PyDict_Next(d, &ppos, &k, &v)) {
        long t = PyLong_AsLong(k);
        if (t < 0 || t > 255 || !PyUnicode_Check(v) || !PyUnicode_IS_ASCII(v) || PyUnicode_GET_LENGTH(v) > 39 ||
            (!allow_empty && PyUnicode_GET_LENGTH(v) == 0)) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_ValueError, what);
            return -1;
        }
        lens[t] = (uint8_t)PyUnicode_GET_LENGTH(v);
        memcpy(names[t], PyUnicode_DATA(v), lens[t]);
    }
    return 0;
}

static PyObject *walker_new(PyTypeObject *type, PyObject *args, PyObject *kw) {
    PyObject *ports, *pfx, *first, *hpfx, *hfirst, *b1, *w0, *w4, *bound, *flags, *echo, *hms_fn, *igmp, *frag;
    int arp;
    if (kw != NULL && PyDict_GET_SIZE(kw)) {
        PyErr_SetString(PyExc_TypeError, "Walker takes positional arguments only");
        return NULL;
    }
    if (!PyArg_ParseTuple(args, "SOSOSOOOOOOOpOO:Walker", &ports, &pfx, &first, &hpfx, &hfirst, &b1, &w0,
                          &w4, &bound, &flags, &echo, &hms_fn, &arp, &igmp, &frag))
        return NULL;
    if (PyBytes_GET_SIZE(ports) != 65536 || !PySet_Check(bound) || !PyList_Check(flags) ||
        PyList_GET_SIZE(flags) != 4096 || !PyDict_Check(echo) || !PyDict_Check(igmp) ||
        !PyDict_Check(frag) || !PyCallable_Check(hms_fn)) {
        PyErr_SetString(PyExc_ValueError, "Walker: bad tables");
        return NULL;
    }
    Walker *w = (Walker *)type->tp_alloc(type, 0);
    if (w == NULL)
        return NULL;
    w->last_sec = -1;
    w->arp = arp;
    memcpy(w->ports, PyBytes_AS_STRING(ports), 65536);
    if (copy_table256(first, w->first) < 0 || copy_table256(hfirst, w->hfirst) < 0)
        goto fail;
    if ((w->pfx = prefix_table(pfx)) == NULL || (w->hpfx = prefix_table(hpfx)) == NULL)
        goto fail;
    uint32_t *b1a;
    Py_ssize_t nb1;
    if ((b1a = u32_array(b1, &nb1)) == NULL)
        goto fail;
    for (Py_ssize_t i = 0; i < nb1; i++)
        if (b1a[i] < 256)
            w->udp_b1[b1a[i]] = 1;
    PyMem_Free(b1a);
    if ((w->w0 = u32_array(w0, &w->nw0)) == NULL || (w->w4 = u32_array(w4, &w->nw4)) == NULL)
        goto fail;
    Py_INCREF(bound);
    w->bound = bound;
    Py_INCREF(hms_fn);
    w->hms_fn = hms_fn;
    /* the flag texts: ASCII, one blob */
    size_t total = 0;
    for (Py_ssize_t i = 0; i < 4096; i++) {
        PyObject *s = PyList_GET_ITEM(flags, i);
        if (!PyUnicode_Check(s) || !PyUnicode_IS_ASCII(s) || PyUnicode_GET_LENGTH(s) > 120) {
            PyErr_SetString(PyExc_ValueError, "Walker: flag texts must be ASCII str");
            goto fail;
        }
        total += (size_t)PyUnicode_GET_LENGTH(s) + 1;
    }
    if ((w->flags = PyMem_Malloc(total)) == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    size_t off = 0;
    for (Py_ssize_t i = 0; i < 4096; i++) {
        PyObject *s = PyList_GET_ITEM(flags, i);
        Py_ssize_t len = PyUnicode_GET_LENGTH(s);
        memcpy(w->flags + off, PyUnicode_DATA(s), (size_t)len);
        w->flag_off[i] = (uint32_t)off;
        w->flag_len[i] = (uint16_t)len;
        off += (size_t)len + 1;
    }
    if (name_table(echo, w->echo, w->echo_len, 1, "Walker: echo names: {0..255: ASCII str}") < 0 ||
        name_table(igmp, w->igmp, w->igmp_len, 0, "Walker: IGMP names: {0..255: ASCII str}") < 0 ||
        name_table(frag, w->frag, w->frag_len, 0, "Walker: IP protocol names: {0..255: ASCII str}") < 0)
        goto fail;
    w->cap = 1 << 16;
    if ((w->out = PyMem_Malloc((size_t)w->cap)) == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    return (PyObject *)w;
fail:
    Py_DECREF(w);
    return NULL;
}

/* -------------------------------------------------------------------------------------------------- */

static inline unsigned be16(const uint8_t *p) { return (unsigned)p[0] << 8 | p[1]; }
static inline uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint32_t rd32(const uint8_t *p, int big) {
    return big ? be32(p) : ((uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0]);
}

static inline char *put_u64(char *o, unsigned long long v) {
    char tmp[24];
    int i = 0;
    do {
        tmp[i++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (i)
        *o++ = tmp[--i];
    return o;
}

static inline char *put_str(char *o, const char *s, size_t n) {
    memcpy(o, s, n);
    return o + n;
}
#define PUT_LIT(o, lit) put_str(o, lit, sizeof(lit) - 1)

static inline char *put_d3(char *o, unsigned v) {
    o[0] = (char)('0' + v / 100);
    o[1] = (char)('0' + v / 10 % 10);
    o[2] = (char)('0' + v % 10);
    return o + 3;
}

static inline char *put_ip4(char *o, const uint8_t *a) {
    for (int i = 0; i < 4; i++) {
        if (i)
            *o++ = '.';
        o = put_u64(o, a[i]);
    }
    return o;
}

static inline int in_prefixes(const uint8_t *table, const uint8_t *p, Py_ssize_t avail) {
    if (avail < 3) /* Python's 3-byte slice is shorter here: no 3-byte prefix equals it */
        return 0;
    uint32_t v = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
    return table[v >> 3] >> (v & 7) & 1;
}

static inline int in_u32(const uint32_t *a, Py_ssize_t n, uint32_t v) {
    for (Py_ssize_t i = 0; i < n; i++)
        if (a[i] == v)
            return 1;
    return 0;
}

/* 1 if port is in the live bound set, 0 if not, -1 on error */
static int bound_has(Walker *w, unsigned port) {
    PyObject *k = PyLong_FromLong((long)port);
    if (k == NULL)
        return -1;
    int r = PySet_Contains(w->bound, k);
    Py_DECREF(k);
    return r;
}

/* "HH:MM:SS." of sec into w->hms (summary._hms: Python's local time, so TZ is Python's); -1 on error,
 * 0 if the text is not plain ASCII (then the record is Python's) */
static int set_hms(Walker *w, long long sec) {
    if (sec == w->last_sec)
        return 1;
    PyObject *r = PyObject_CallFunction(w->hms_fn, "L", sec);
    if (r == NULL)
        return -1;
    if (!PyUnicode_Check(r) || !PyUnicode_IS_ASCII(r) || PyUnicode_GET_LENGTH(r) > 30) {
        Py_DECREF(r);
        return 0;
    }
    w->hms_len = PyUnicode_GET_LENGTH(r);
    memcpy(w->hms, PyUnicode_DATA(r), (size_t)w->hms_len);
    Py_DECREF(r);
    w->last_sec = sec;
    return 1;
}

#define LINE_MAX_BYTES 400 /* the longest line below: ~20 + 9+6 + 31 + ... + a flags text (< 100) */

static inline char *put_mac(char *o, const uint8_t *a) {
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 6; i++) {
        if (i)
            *o++ = ':';
        *o++ = hex[a[i] >> 4];
        *o++ = hex[a[i] & 15];
    }
    return o;
}

/* "n HH:MM:SS.mmmuuu " */
static inline char *put_head(Walker *w, char *o, unsigned long long n, unsigned us) {
    o = put_u64(o, n);
    *o++ = ' ';
    o = put_str(o, w->hms, (size_t)w->hms_len);
    o = put_d3(o, us / 1000);
    o = put_d3(o, us % 1000);
    *o++ = ' ';
    return o;
}

/* An Ethernet ARP request or reply for IPv4 over Ethernet addresses, all captured: decode.link's
 * dissect_eth (the MAC addresses as the columns) and dissect_arp's columns-only branch with _arp_info. */
static char *format_arp(Walker *w, char *o, unsigned long long n, long long sec, unsigned us,
                        const uint8_t *p, Py_ssize_t caplen) {
    if (caplen < 42)
        return NULL;
    const uint8_t *a = p + 14;
    unsigned op = be16(a + 6);
    if (a[4] != 6 || a[5] != 4 || (op != 1 && op != 2))
        return NULL;
    const uint8_t *smac = a + 8, *sip = a + 14, *tmac = a + 18, *tip = a + 24;
    static const uint8_t zero[6] = {0};
    int h = set_hms(w, sec);
    if (h <= 0)
        return h < 0 ? (char *)-1 : NULL;
    o = put_head(w, o, n, us);
    o = put_mac(o, p + 6);
    o = PUT_LIT(o, " -> ");
    o = put_mac(o, p);
    o = PUT_LIT(o, " ARP ");
    o = put_u64(o, (unsigned long long)caplen);
    *o++ = ' ';
    int same = memcmp(sip, tip, 4) == 0;
    if (op == 1) {
        if (same) {
            o = memcmp(tmac, zero, 6) == 0 ? PUT_LIT(o, "ARP Announcement for ") : PUT_LIT(o, "Gratuitous ARP for ");
            o = put_ip4(o, sip);
            if (memcmp(tmac, zero, 6) != 0)
                o = PUT_LIT(o, " (Request)");
        } else if (memcmp(sip, zero, 4) == 0) {
            o = PUT_LIT(o, "Who has ");
            o = put_ip4(o, tip);
            o = PUT_LIT(o, "? (ARP Probe)");
        } else {
            o = PUT_LIT(o, "Who has ");
            o = put_ip4(o, tip);
            o = PUT_LIT(o, "? Tell ");
            o = put_ip4(o, sip);
        }
    } else if (same) {
        o = PUT_LIT(o, "Gratuitous ARP for ");
        o = put_ip4(o, sip);
        o = PUT_LIT(o, " (Reply)");
    } else {
        o = put_ip4(o, sip);
        o = PUT_LIT(o, " is at ");
        o = put_mac(o, smac);
    }
    return o;
}

/* An IGMPv2 report, leave or query in an unfragmented IPv4 packet (no option but Router Alert), all
 * captured: decode.inet's dissect_ipv4 (the addresses) and decode.igmp's dissect_igmp for version 2. */
static char *format_igmp2(Walker *w, char *o, unsigned long long n, long long sec, unsigned us,
                          const uint8_t *p, Py_ssize_t caplen) {
    if (caplen < 34)
        return NULL;
    unsigned vihl = p[14], tlen = be16(p + 16), frag = be16(p + 20);
    unsigned ihl = (vihl & 15) * 4;
    if ((vihl != 0x45 && vihl != 0x46) || (frag & 0x3FFF) || p[23] != 2)
        return NULL;
    if (ihl == 24 && (caplen < 38 || p[34] != 148 || p[35] != 4)) /* Router Alert, 4 bytes */
        return NULL;
    /* the IGMP message: [14 + ihl, 14 + tlen), 8 bytes, within the captured bytes */
    if (tlen < ihl + 8 || 14 + (Py_ssize_t)tlen > caplen)
        return NULL;
    const uint8_t *g = p + 14 + ihl;
    unsigned t = g[0], size = tlen - ihl;
    if (t == 0x11) {
        if (size >= 12 || g[1] == 0) /* IGMPv3 / v1 queries */
            return NULL;
    } else if (t != 0x16 && t != 0x17) {
        return NULL;
    }
    if (!w->igmp_len[t])
        return NULL;
    int h = set_hms(w, sec);
    if (h <= 0)
        return h < 0 ? (char *)-1 : NULL;
    o = put_head(w, o, n, us);
    o = put_ip4(o, p + 26);
    o = PUT_LIT(o, " -> ");
    o = put_ip4(o, p + 30);
    o = PUT_LIT(o, " IGMPv2 ");
    o = put_u64(o, (unsigned long long)caplen);
    *o++ = ' ';
    o = put_str(o, w->igmp[t], w->igmp_len[t]);
    if (t == 0x11) {
        if (be32(g + 4) == 0) {
            o = PUT_LIT(o, ", general");
        } else {
            o = PUT_LIT(o, ", specific for group ");
            o = put_ip4(o, g + 4);
        }
    } else {
        o = t == 0x16 ? PUT_LIT(o, " group ") : PUT_LIT(o, " ");
        o = put_ip4(o, g + 4);
    }
    return o;
}

/* A later fragment (offset > 0) of an IPv4 packet without options, all captured: decode.inet's
 * dissect_ipv4 ("Fragmented IP protocol (proto=NAME N, off=BYTES, ID=hhhh)"; its payload is data). */
static char *format_frag(Walker *w, char *o, unsigned long long n, long long sec, unsigned us,
                         const uint8_t *p, Py_ssize_t caplen) {
    unsigned proto = p[23], ident = be16(p + 18), foff = be16(p + 20) & 0x1FFF;
    if (be16(p + 16) < 20 || !w->frag_len[proto])
        return NULL;
    int h = set_hms(w, sec);
    if (h <= 0)
        return h < 0 ? (char *)-1 : NULL;
    static const char hex[] = "0123456789abcdef";
    o = put_head(w, o, n, us);
    o = put_ip4(o, p + 26);
    o = PUT_LIT(o, " -> ");
    o = put_ip4(o, p + 30);
    o = PUT_LIT(o, " IPv4 ");
    o = put_u64(o, (unsigned long long)caplen);
    o = PUT_LIT(o, " Fragmented IP protocol (proto=");
    o = put_str(o, w->frag[proto], w->frag_len[proto]);
    *o++ = ' ';
    o = put_u64(o, proto);
    o = PUT_LIT(o, ", off=");
    o = put_u64(o, foff * 8);
    o = PUT_LIT(o, ", ID=");
    *o++ = hex[ident >> 12];
    *o++ = hex[ident >> 8 & 15];
    *o++ = hex[ident >> 4 & 15];
    *o++ = hex[ident & 15];
    *o++ = ')';
    return o;
}

/* Format the line of one Ethernet frame p[0:caplen] (wire length wl, packet number n, time sec + us) at o.
 * Returns the end of the line, NULL if the packet is not one this file knows (Python's), or (char *)-1 on
 * a Python error. */
static char *format_eth(Walker *w, char *o, unsigned long long n, long long sec, unsigned us,
                        const uint8_t *p, Py_ssize_t caplen, unsigned long long wl) {
    if ((unsigned long long)caplen != wl || wl < 14 || wl >= NUMS_MAX)
        return NULL;
    if (be16(p + 12) == 0x0806)
        return w->arp ? format_arp(w, o, n, sec, us, p, caplen) : NULL;
    if (caplen >= 34 && p[14] == 0x45 && (be16(p + 20) & 0x1FFF) && be16(p + 12) == 0x0800)
        return format_frag(w, o, n, sec, us, p, caplen);
    if (caplen >= 24 && p[23] == 2 && be16(p + 12) == 0x0800)
        return format_igmp2(w, o, n, sec, us, p, caplen);
    if (wl < 54)
        return NULL;
    unsigned et = be16(p + 12), vihl = p[14], tlen = be16(p + 16), frag = be16(p + 20), ttl = p[22],
             proto = p[23];
    if (et != 0x0800 || vihl != 0x45 || (frag & 0x3FFF) || tlen < 20 || tlen > wl - 14)
        return NULL;
    unsigned sp = be16(p + 34), dp = be16(p + 36), offfl = be16(p + 46), win = be16(p + 48);
    uint32_t seq = be32(p + 38), ack = be32(p + 42);
    const char *name = NULL;
    size_t name_len = 0;
    unsigned hl = 0;
    long seglen = 0, ulen = 0;
    const uint8_t *ports = w->ports;
    if (proto == 6) {
        hl = (offfl >> 10) & 0x3C;
        seglen = (long)tlen - 20 - (long)hl;
        if (hl < 20 || seglen < 0)
            return NULL;
        if (hl > 20 && memchr(p + 54, 30, hl - 20) != NULL) /* maybe MPTCP (34 + hl <= 14 + tlen <= wl) */
            return NULL;
        if (seglen) {
            const uint8_t *pl = p + 34 + hl; /* < p + 14 + tlen <= p + caplen */
            Py_ssize_t avail = caplen - 34 - (Py_ssize_t)hl;
            if (w->hfirst[pl[0]] && in_prefixes(w->hpfx, pl, avail))
                return NULL;
            if ((ports[sp] & 1) || (ports[dp] & 1)) {
                if ((w->first[pl[0]] && in_prefixes(w->pfx, pl, avail)) || (ports[sp] & 2) || (ports[dp] & 2))
                    return NULL;
            }
        }
    } else if (proto == 17) {
        ulen = (long)(seq >> 16);
        if (ulen < 8 || ulen > (long)tlen - 20)
            return NULL;
        if ((ports[sp] & 4) || (ports[dp] & 4)) {
            if ((w->first[p[42]] && in_prefixes(w->pfx, p + 42, caplen - 42)) || (ports[sp] & 8) ||
                (ports[dp] & 8))
                return NULL;
        }
        if (w->udp_b1[(ack >> 16) & 0xFF] || in_u32(w->w0, w->nw0, ack) ||
            in_u32(w->w4, w->nw4, (uint32_t)offfl << 16 | win))
            return NULL;
        if (PySet_GET_SIZE(w->bound)) {
            int r = bound_has(w, sp);
            if (r == 0)
                r = bound_has(w, dp);
            if (r < 0)
                return (char *)-1;
            if (r)
                return NULL;
        }
    } else if (proto == 1) {
        unsigned t = sp >> 8;
        if (!w->echo_len[t])
            return NULL;
        name = w->echo[t];
        name_len = w->echo_len[t];
    } else {
        return NULL;
    }
    int h = set_hms(w, sec);
    if (h <= 0)
        return h < 0 ? (char *)-1 : NULL;
    o = put_head(w, o, n, us);
    o = put_ip4(o, p + 26);
    o = PUT_LIT(o, " -> ");
    o = put_ip4(o, p + 30);
    if (proto == 6) {
        unsigned fl = offfl & 0xFFF;
        o = PUT_LIT(o, " TCP ");
        o = put_u64(o, wl);
        *o++ = ' ';
        o = put_u64(o, sp);
        o = PUT_LIT(o, " -> ");
        o = put_u64(o, dp);
        o = PUT_LIT(o, " [");
        o = put_str(o, w->flags + w->flag_off[fl], w->flag_len[fl]);
        o = PUT_LIT(o, "] Seq=");
        o = put_u64(o, seq);
        if (fl & 0x10) {
            o = PUT_LIT(o, " Ack=");
            o = put_u64(o, ack);
        }
        o = PUT_LIT(o, " Win=");
        o = put_u64(o, win);
        o = PUT_LIT(o, " Len=");
        o = put_u64(o, (unsigned long long)seglen);
    } else if (proto == 17) {
        o = PUT_LIT(o, " UDP ");
        o = put_u64(o, wl);
        *o++ = ' ';
        o = put_u64(o, sp);
        o = PUT_LIT(o, " -> ");
        o = put_u64(o, dp);
        o = PUT_LIT(o, " Len=");
        o = put_u64(o, (unsigned long long)(ulen - 8));
    } else {
        static const char hex[] = "0123456789abcdef";
        unsigned id = seq >> 16, iseq = seq & 0xFFFF;
        o = PUT_LIT(o, " ICMP ");
        o = put_u64(o, wl);
        *o++ = ' ';
        o = put_str(o, name, name_len);
        o = PUT_LIT(o, " id=0x");
        *o++ = hex[id >> 12];
        *o++ = hex[id >> 8 & 15];
        *o++ = hex[id >> 4 & 15];
        *o++ = hex[id & 15];
        o = PUT_LIT(o, ", seq=");
        o = put_u64(o, iseq);
        *o++ = '/';
        o = put_u64(o, (iseq >> 8) | ((iseq & 0xFF) << 8));
        o = PUT_LIT(o, ", ttl=");
        o = put_u64(o, ttl);
    }
    return o;
}

static PyObject *text_of(Walker *w, Py_ssize_t len) {
    PyObject *s = PyUnicode_New(len, 127);
    if (s == NULL)
        return NULL;
    memcpy(PyUnicode_DATA(s), w->out, (size_t)len);
    return s;
}

/* walk(buf, pos, n, left, big_endian, nanosecond, maxcap) -> (text | None, pos, k)
 *
 * Classic pcap records (16-byte headers) of an Ethernet capture from buf[pos:]: the lines of up to
 * ``left`` known packets, numbered from n + 1, joined by newlines (no trailing one); pos is where it
 * stopped: at a record it does not know, one that does not fit in the buffer or whose caplen exceeds
 * maxcap (the reader's damage check), or after the left-th line. */
static PyObject *walker_walk(Walker *w, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 7) {
        PyErr_SetString(PyExc_TypeError, "walk(buf, pos, n, left, big_endian, nanosecond, maxcap)");
        return NULL;
    }
    Py_buffer view;
    if (PyObject_GetBuffer(args[0], &view, PyBUF_SIMPLE) < 0)
        return NULL;
    Py_ssize_t pos = PyLong_AsSsize_t(args[1]);
    long long n = PyLong_AsLongLong(args[2]);
    Py_ssize_t left = PyLong_AsSsize_t(args[3]);
    int big = PyObject_IsTrue(args[4]);
    int nsec = PyObject_IsTrue(args[5]);
    long long maxcap = PyLong_AsLongLong(args[6]);
    PyObject *result = NULL;
    if (PyErr_Occurred() || big < 0 || nsec < 0) {
        PyBuffer_Release(&view);
        return NULL;
    }
    const uint8_t *buf = view.buf;
    Py_ssize_t blen = view.len, k = 0, used = 0;
    if (pos < 0)
        pos = blen;
    if (left > 0 && left * LINE_MAX_BYTES > w->cap) {
        Py_ssize_t cap = left * LINE_MAX_BYTES;
        char *o = PyMem_Realloc(w->out, (size_t)cap);
        if (o == NULL) {
            PyBuffer_Release(&view);
            return PyErr_NoMemory();
        }
        w->out = o;
        w->cap = cap;
    }
    while (k < left && blen - pos >= 16) {
        const uint8_t *h = buf + pos;
        long long sec = rd32(h, big), frac = rd32(h + 4, big);
        Py_ssize_t caplen = (Py_ssize_t)rd32(h + 8, big);
        unsigned long long wl = rd32(h + 12, big);
        if (caplen > maxcap || caplen > blen - pos - 16)
            break;
        if (nsec)
            frac /= 1000;
        if (frac >= 1000000) { /* a damaged fraction past 1 s: carry, as Frame.ts does */
            sec += frac / 1000000;
            frac %= 1000000;
        }
        char *o = w->out + used;
        if (k)
            *o++ = '\n';
        char *e = format_eth(w, o, (unsigned long long)(n + 1), sec, (unsigned)frac, h + 16, caplen, wl);
        if (e == NULL)
            break;
        if (e == (char *)-1)
            goto done;
        used = e - w->out;
        pos += 16 + caplen;
        n++;
        k++;
    }
    PyObject *text;
    if (k) {
        if ((text = text_of(w, used)) == NULL)
            goto done;
    } else {
        text = Py_NewRef(Py_None);
    }
    result = Py_BuildValue("(Nnn)", text, pos, k);
done:
    PyBuffer_Release(&view);
    return result;
}

/* line(n, ts_ns, data, wire_length) -> str | None: one Ethernet frame's line, None if it is Python's */
static PyObject *walker_line(Walker *w, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "line(n, ts_ns, data, wire_length)");
        return NULL;
    }
    int overflow = 0;
    long long n = PyLong_AsLongLongAndOverflow(args[0], &overflow);
    if (overflow || n < 0)
        Py_RETURN_NONE;
    long long ts = PyLong_AsLongLongAndOverflow(args[1], &overflow);
    if (overflow || ts < 0)
        Py_RETURN_NONE;
    long long wl = PyLong_AsLongLongAndOverflow(args[3], &overflow);
    if (PyErr_Occurred())
        return NULL;
    if (overflow || wl < 0)
        Py_RETURN_NONE;
    if (!PyBytes_Check(args[2]))
        Py_RETURN_NONE;
    const uint8_t *p = (const uint8_t *)PyBytes_AS_STRING(args[2]);
    Py_ssize_t caplen = PyBytes_GET_SIZE(args[2]);
    long long sec = ts / 1000000000;
    unsigned us = (unsigned)(ts / 1000 % 1000000);
    char *e = format_eth(w, w->out, (unsigned long long)n, sec, us, p, caplen, (unsigned long long)wl);
    if (e == (char *)-1)
        return NULL;
    if (e == NULL)
        Py_RETURN_NONE;
    return text_of(w, e - w->out);
}

/* export's entry point (sniffer/dataset/rows.py): its own block at the end of this file */
static PyObject *walker_columns(Walker *w, PyObject *const *args, Py_ssize_t nargs);
static PyObject *walker_export_setup(Walker *w, PyObject *const *args, Py_ssize_t nargs);
static PyObject *walker_headers(Walker *w, PyObject *arg);

static PyMethodDef walker_methods[] = {
    {"walk", (PyCFunction)(void (*)(void))walker_walk, METH_FASTCALL,
     "walk(buf, pos, n, left, big_endian, nanosecond, maxcap) -> (text | None, pos, lines)"},
    {"line", (PyCFunction)(void (*)(void))walker_line, METH_FASTCALL,
     "line(n, ts_ns, data, wire_length) -> str | None"},
    {"columns", (PyCFunction)(void (*)(void))walker_columns, METH_FASTCALL,
     "columns(data, wire_length) -> (src, dst, protocol, info, shape) | 0 | None"},
    {"export_setup", (PyCFunction)(void (*)(void))walker_export_setup, METH_FASTCALL,
     "export_setup(Transport, FRAGMENT, UNKNOWN, vlan, not_ip, tunnel_udp, ipv6_ext, not_tcp, icmp_errors)"},
    {"headers", (PyCFunction)walker_headers, METH_O, "headers(frame) -> (Transport, segment) | None"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject WalkerType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "sniffer.decode._fastline.Walker",
    .tp_basicsize = sizeof(Walker),
    .tp_dealloc = (destructor)walker_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "The text loop's native walker (see decode.summary.native_walker)",
    .tp_methods = walker_methods,
    .tp_new = walker_new,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "sniffer.decode._fastline",
    "Native accelerator of sniffer read's text loop (docs/decode.md)", -1, NULL,
};

PyMODINIT_FUNC PyInit__fastline(void) {
    if (PyType_Ready(&WalkerType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    Py_INCREF(&WalkerType);
    if (PyModule_AddObject(m, "Walker", (PyObject *)&WalkerType) < 0) {
        Py_DECREF(&WalkerType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}

/* -------------------------------------------------------------------------------------------------- */
/* export's entry point (sniffer/dataset/rows.py, docs/dataset.md): the packet-list columns of a packet this
 * walker knows, without the line around them.
 *
 * columns(data, wire_length) -> (src, dst, protocol, info, shape) | 0 | None
 *
 * The columns are the ones format_eth writes into `read`'s line (so export and read share one copy of the
 * formatting: the line is written, then cut at its fixed separators); None for every packet the walker does
 * not know (then export runs its Python path). ``shape`` names the packet's protocol stack for the caller's
 * cache (the stack depends only on it, as in decode.summary.fast_protocols): 1 ARP, 2 a later IPv4
 * fragment (4: one without a payload byte), 3 IGMPv2, and for the TCP/UDP/ICMP of the fast path 16 + 2 *
 * the IP protocol + 1 if a payload follows the transport header. Only those shapes are answered: a packet
 * format_eth learns to take later (another lane's) is None here until this block names its shape. 0 for a
 * packet the summary's fast path
 * (decode.summary._fast) certainly declines (fast_declines: export then skips it; tests/dataset/
 * test_native_rows.py checks the claim on every corpus frame and on mutated ones). */

#define SHAPE_ARP 1
#define SHAPE_FRAG 2
#define SHAPE_IGMP 3
#define SHAPE_FRAG_EMPTY 4

/* the shape of an Ethernet frame p[0:caplen] if it is one of the kinds above (by format_eth's own order
 * of tests), else 0 (the checks that it is well formed are format_eth's) */
static int export_shape(const uint8_t *p, Py_ssize_t caplen) {
    if (caplen < 14)
        return 0;
    unsigned et = be16(p + 12);
    if (et == 0x0806)
        return SHAPE_ARP;
    if (et != 0x0800 || caplen < 34)
        return 0;
    if (p[14] == 0x45 && (be16(p + 20) & 0x1FFF)) /* its payload is a "data" layer when it has a byte */
        return 14 + (Py_ssize_t)be16(p + 16) > 34 && caplen > 34 ? SHAPE_FRAG : SHAPE_FRAG_EMPTY;
    unsigned proto = p[23];
    if (proto == 2)
        return SHAPE_IGMP;
    if (p[14] != 0x45 || (proto != 6 && proto != 17 && proto != 1))
        return 0;
    long end = 14 + (long)be16(p + 16), hdr = 8;
    if (proto == 1 && end < 42)
        return 0; /* an ICMP header past the IP packet's end: the fast path declines it (format_eth does not) */
    if (proto == 6) {
        if (caplen < 54)
            return 0;
        hdr = (p[46] >> 4) << 2;
    }
    return 16 + 2 * (int)proto + (end > 34 + hdr);
}

/* 1 if decode.summary._fast certainly declines this Ethernet frame p[0:caplen] because of its own checks
 * on Ethernet / IPv4 without options: a TCP segment with payload or a UDP datagram from or to a port whose
 * dissector is not heuristic (the walker's port bits 2 and 8, from the same port tables), an ICMP message
 * that is not an echo (the same names); 0 when it may take it. (A sufficient condition: every way the
 * fast path can take the frame passes the checks this one fails.) */
static int fast_declines(Walker *w, const uint8_t *p, Py_ssize_t caplen) {
    if (caplen < 34 || be16(p + 12) != 0x0800 || p[14] != 0x45)
        return 0;
    unsigned proto = p[23];
    if (proto == 6 && caplen >= 47) {
        long seglen = (long)be16(p + 16) - 20 - (long)((p[46] >> 4) * 4);
        return seglen != 0 && ((w->ports[be16(p + 34)] | w->ports[be16(p + 36)]) & 2);
    }
    if (proto == 17 && caplen >= 38)
        return ((w->ports[be16(p + 34)] | w->ports[be16(p + 36)]) & 8) != 0;
    if (proto == 1 && caplen >= 35)
        return !w->echo_len[p[34]];
    return 0;
}

static PyObject *walker_columns(Walker *w, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "columns(data, wire_length)");
        return NULL;
    }
    if (!PyBytes_Check(args[0]))
        Py_RETURN_NONE;
    int overflow = 0;
    long long wl = PyLong_AsLongLongAndOverflow(args[1], &overflow);
    if (wl == -1 && PyErr_Occurred())
        return NULL;
    if (overflow || wl < 0)
        Py_RETURN_NONE;
    const uint8_t *p = (const uint8_t *)PyBytes_AS_STRING(args[0]);
    Py_ssize_t caplen = PyBytes_GET_SIZE(args[0]);
    int shape = export_shape(p, caplen);
    if (!shape)
        Py_RETURN_NONE;
    /* the line of packet 0 at the last second formatted (no call of the time formatter but the first) */
    char *e = format_eth(w, w->out, 0, w->last_sec >= 0 ? w->last_sec : 0, 0, p, caplen,
                         (unsigned long long)wl);
    if (e == (char *)-1)
        return NULL;
    if (e == NULL) {
        if (fast_declines(w, p, caplen))
            return PyLong_FromLong(0);
        Py_RETURN_NONE;
    }
    /* "0 HH:MM:SS.000000 SRC -> DST PROTOCOL LENGTH INFO": no column but Info has a space */
    const char *s = w->out + 2 + w->hms_len + 7, *end = e, *cut[4];
    const char *q = s;
    for (int i = 0; i < 4; i++) {
        q = memchr(q, ' ', (size_t)(end - q));
        if (q == NULL)
            Py_RETURN_NONE;
        cut[i] = q;
        q += (i == 0) ? 4 : 1; /* " -> " after the source */
        if (q > end)
            Py_RETURN_NONE;
    }
    if (cut[0] + 4 > end || memcmp(cut[0], " -> ", 4) != 0)
        Py_RETURN_NONE;
    static const char *const names[] = {"ARP", "IPv4", "IGMPv2", "TCP", "UDP", "ICMP"};
    Py_ssize_t plen = cut[2] - (cut[1] + 1);
    const char *want = shape == SHAPE_ARP                                ? names[0]
                       : shape == SHAPE_FRAG || shape == SHAPE_FRAG_EMPTY ? names[1]
                       : shape == SHAPE_IGMP ? names[2]
                       : shape >= 16 + 12 && shape < 16 + 14 ? names[3]
                       : shape >= 16 + 34 && shape < 16 + 36 ? names[4]
                                                              : names[5];
    if ((size_t)plen != strlen(want) || memcmp(cut[1] + 1, want, (size_t)plen) != 0)
        Py_RETURN_NONE; /* not the kind the shape says: Python's */
    const char *info = cut[3] + 1;
    return Py_BuildValue("(s#s#s#s#i)", s, (Py_ssize_t)(cut[0] - s), cut[0] + 4, (Py_ssize_t)(cut[1] - (cut[0] + 4)),
                         cut[1] + 1, plen, info, (Py_ssize_t)(end - info), shape);
}

/* -------------------------------------------------------------------------------------------------- */
/* export's header walk (sniffer/dataset/rows.py ``_walk``, its Python reference): for the common Ethernet
 * frames (VLAN tags skipped; IPv4 without options; IPv6 without extension headers), model.l4's Transport
 * and model.tcpanalysis' segment tuple in one C walk. Its objects and tables come from Python once
 * (``export_setup``); xp_options copies model.tcpanalysis.tcp_options. A test compares both walks on
 * every corpus frame and on mutated ones. */

#include <arpa/inet.h>

static PyObject *xp_transport, *xp_fragment, *xp_unknown, *xp_ip, *xp_ipv6, *xp_empty;
static uint8_t xp_vlan[65536], xp_not_ip[65536], xp_tunnel[65536], xp_v6ext[256], xp_not_tcp[256],
    xp_icmp_err[256];

static int xp_table(PyObject *items, uint8_t *t, Py_ssize_t size) {
    PyObject *it = PyObject_GetIter(items), *x;
    if (it == NULL)
        return -1;
    memset(t, 0, (size_t)size);
    while ((x = PyIter_Next(it)) != NULL) {
        long v = PyLong_AsLong(x);
        Py_DECREF(x);
        if (v < 0 || v >= size) {
            Py_DECREF(it);
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_ValueError, "export_setup: a number out of its table");
            return -1;
        }
        t[v] = 1;
    }
    Py_DECREF(it);
    return PyErr_Occurred() ? -1 : 0;
}

/* export_setup(Transport, FRAGMENT, UNKNOWN, vlan_types, not_ip_ethertypes, tunnel_udp_ports, ipv6_ext,
 *              not_tcp, icmp_errors) -> None */
static PyObject *walker_export_setup(Walker *w, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 9 || !PyType_Check(args[0]) || !PyType_IsSubtype((PyTypeObject *)args[0], &PyTuple_Type)) {
        PyErr_SetString(PyExc_TypeError, "export_setup(Transport, FRAGMENT, UNKNOWN, vlan, not_ip, tunnel_udp, "
                                         "ipv6_ext, not_tcp, icmp_errors)");
        return NULL;
    }
    if (xp_table(args[3], xp_vlan, 65536) < 0 || xp_table(args[4], xp_not_ip, 65536) < 0 ||
        xp_table(args[5], xp_tunnel, 65536) < 0 || xp_table(args[6], xp_v6ext, 256) < 0 ||
        xp_table(args[7], xp_not_tcp, 256) < 0 || xp_table(args[8], xp_icmp_err, 256) < 0)
        return NULL;
    if (xp_ip == NULL && ((xp_ip = PyUnicode_InternFromString("ip")) == NULL ||
                          (xp_ipv6 = PyUnicode_InternFromString("ipv6")) == NULL ||
                          (xp_empty = PyBytes_FromStringAndSize(NULL, 0)) == NULL))
        return NULL;
    Py_XSETREF(xp_transport, Py_NewRef(args[0]));
    Py_XSETREF(xp_fragment, Py_NewRef(args[1]));
    Py_XSETREF(xp_unknown, Py_NewRef(args[2]));
    Py_RETURN_NONE;
}

static PyObject *xp_ascii(const char *s, Py_ssize_t n) {
    PyObject *o = PyUnicode_New(n, 127);
    if (o != NULL)
        memcpy(PyUnicode_DATA(o), s, (size_t)n);
    return o;
}

static PyObject *xp_mac(const uint8_t *a) {
    char s[17];
    put_mac(s, a);
    return xp_ascii(s, 17);
}

static PyObject *xp_ip4(const uint8_t *a) {
    char s[16];
    char *e = put_ip4(s, a);
    return xp_ascii(s, e - s);
}

static PyObject *xp_ip6(const uint8_t *a) {
    char s[INET6_ADDRSTRLEN];
    if (inet_ntop(AF_INET6, a, s, sizeof(s)) == NULL)
        return PyErr_SetFromErrno(PyExc_OSError);
    return xp_ascii(s, (Py_ssize_t)strlen(s));
}

/* a tuple (of type tp, or a plain one for NULL) of n items, whose references it steals; NULL (all freed)
 * if an item is NULL or on error */
static PyObject *xp_tuple(PyTypeObject *tp, PyObject **items, int n) {
    int bad = 0;
    for (int i = 0; i < n; i++)
        bad |= items[i] == NULL;
    PyObject *t = bad ? NULL : tp != NULL ? tp->tp_alloc(tp, n) : PyTuple_New(n);
    if (t == NULL) {
        for (int i = 0; i < n; i++)
            Py_XDECREF(items[i]);
        return NULL;
    }
    for (int i = 0; i < n; i++)
        PyTuple_SET_ITEM(t, i, items[i]);
    return t;
}

/* a Transport (version, src, dst, proto, sport, dport, seq, ack, flags, payload, eth_src, eth_dst, frag,
 * quoted, window) of the frame d; steals every object argument */
static PyObject *xp_make(int v, PyObject *src, PyObject *dst, long proto, PyObject *sport, PyObject *dport,
                         PyObject *seq, PyObject *ack, PyObject *flags, PyObject *payload, const uint8_t *d,
                         PyObject *frag, PyObject *window) {
    PyObject *items[15] = {PyLong_FromLong(v), src,          dst,       PyLong_FromLong(proto), sport,
                           dport,              seq,          ack,       flags,                  payload,
                           xp_mac(d + 6),      xp_mac(d),    frag,      Py_NewRef(Py_False),    window};
    return xp_tuple((PyTypeObject *)xp_transport, items, 15);
}

static PyObject *xp_zero(void) { return PyLong_FromLong(0); }

static PyObject *xp_slice(const uint8_t *d, Py_ssize_t a, Py_ssize_t b) {
    if (b <= a)
        return Py_NewRef(xp_empty);
    return PyBytes_FromStringAndSize((const char *)d + a, b - a);
}

/* model.tcpanalysis.tcp_options of d[o:oend] (within the frame): 1 with *wscale and *sack set (new
 * references, None when absent), 0 if an option's length is bogus, -1 on error */
static int xp_options(const uint8_t *d, Py_ssize_t o, Py_ssize_t oend, PyObject **wscale, PyObject **sack) {
    PyObject *ws = Py_NewRef(Py_None), *sk = Py_NewRef(Py_None);
    int have_sack = 0;
    while (o < oend) {
        unsigned kind = d[o];
        if (kind == 0)
            break;
        if (kind == 1) {
            o++;
            continue;
        }
        if (o + 1 >= oend)
            break;
        Py_ssize_t ln = d[o + 1];
        if (ln < 2 || o + ln > oend) {
            Py_DECREF(ws);
            Py_DECREF(sk);
            return 0;
        }
        if (kind == 3 && ln == 3) {
            Py_SETREF(ws, PyLong_FromLong(d[o + 2]));
        } else if (kind == 5 && ln >= 10 && !have_sack) {
            Py_ssize_t nb = 0;
            for (Py_ssize_t b = o + 2; b < o + ln - 7; b += 8)
                nb++;
            PyObject *t = PyTuple_New(nb);
            if (t != NULL) {
                Py_ssize_t i = 0;
                for (Py_ssize_t b = o + 2; b < o + ln - 7; b += 8, i++) {
                    PyObject *pair = Py_BuildValue("(kk)", (unsigned long)be32(d + b), (unsigned long)be32(d + b + 4));
                    if (pair == NULL) {
                        Py_CLEAR(t);
                        break;
                    }
                    PyTuple_SET_ITEM(t, i, pair);
                }
            }
            Py_SETREF(sk, t);
            have_sack = 1;
        }
        if (ws == NULL || sk == NULL) {
            Py_XDECREF(ws);
            Py_XDECREF(sk);
            return -1;
        }
        o += ln;
    }
    *wscale = ws;
    *sack = sk;
    return 1;
}

/* headers(frame) -> (Transport | None, segment | FRAGMENT | UNKNOWN | None) | None: rows._walk */
static PyObject *walker_headers(Walker *w, PyObject *arg) {
    if (xp_transport == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "headers: export_setup first");
        return NULL;
    }
    if (!PyTuple_Check(arg) || PyTuple_GET_SIZE(arg) < 4 || !PyBytes_Check(PyTuple_GET_ITEM(arg, 1)) ||
        !PyLong_CheckExact(PyTuple_GET_ITEM(arg, 3)))
        Py_RETURN_NONE;
    if (PyLong_AsLong(PyTuple_GET_ITEM(arg, 3)) != 1) {
        if (PyErr_Occurred())
            return NULL;
        Py_RETURN_NONE;
    }
    PyObject *data = PyTuple_GET_ITEM(arg, 1);
    const uint8_t *d = (const uint8_t *)PyBytes_AS_STRING(data);
    Py_ssize_t n = PyBytes_GET_SIZE(data);
    if (n < 14)
        Py_RETURN_NONE;
    unsigned et = be16(d + 12);
    Py_ssize_t off = 14, l4, end, cut;
    while (xp_vlan[et] && n >= off + 4) {
        et = be16(d + off + 2);
        off += 4;
    }
    int v;
    unsigned proto;
    PyObject *name, *src, *dst;
    if (et == 0x0800) {
        if (n < off + 20 || d[off] != 0x45)
            Py_RETURN_NONE;
        unsigned total = be16(d + off + 2), ident = be16(d + off + 4), frag = be16(d + off + 6);
        proto = d[off + 9];
        if (total < 20)
            Py_RETURN_NONE;
        v = 4;
        name = xp_ip;
        l4 = off + 20;
        end = off + (Py_ssize_t)total;
        cut = end <= n ? end : n;
        if (frag & 0x3FFF) {
            PyObject *fr4 = Py_BuildValue("(IInnI)", frag, proto, l4, cut, ident);
            PyObject *t = xp_make(4, xp_ip4(d + off + 12), xp_ip4(d + off + 16), -1, xp_zero(), xp_zero(),
                                  xp_zero(), xp_zero(), xp_zero(), Py_NewRef(xp_empty), d, fr4, xp_zero());
            PyObject *pair[2] = {t, Py_NewRef(xp_fragment)};
            return xp_tuple(NULL, pair, 2);
        }
        src = xp_ip4(d + off + 12);
        dst = xp_ip4(d + off + 16);
    } else if (et == 0x86DD) {
        if (n < off + 40 || d[off] >> 4 != 6)
            Py_RETURN_NONE;
        unsigned plen = be16(d + off + 4);
        proto = d[off + 6];
        if (!plen || xp_v6ext[proto] || proto == 44)
            Py_RETURN_NONE;
        v = 6;
        name = xp_ipv6;
        l4 = off + 40;
        end = l4 + (Py_ssize_t)plen;
        cut = end <= n ? end : n;
        src = xp_ip6(d + off + 8);
        dst = xp_ip6(d + off + 24);
    } else if (xp_not_ip[et]) {
        return PyTuple_Pack(2, Py_None, Py_None);
    } else {
        Py_RETURN_NONE;
    }
    if (src == NULL || dst == NULL) {
        Py_XDECREF(src);
        Py_XDECREF(dst);
        return NULL;
    }
    PyObject *items[2];
    if (proto == 6) {
        if (n < l4 + 20) {
            Py_DECREF(src);
            Py_DECREF(dst);
            Py_RETURN_NONE;
        }
        const uint8_t *h = d + l4;
        unsigned offflags = be16(h + 12);
        Py_ssize_t hl = (Py_ssize_t)(offflags >> 12) * 4;
        PyObject *sport = PyLong_FromLong(be16(h)), *dport = PyLong_FromLong(be16(h + 2)),
                 *seq = PyLong_FromUnsignedLong(be32(h + 4)), *ack = PyLong_FromUnsignedLong(be32(h + 8)),
                 *flags = PyLong_FromLong(offflags & 0x0FFF), *win = PyLong_FromLong(be16(h + 14));
        PyObject *payload = hl >= 20 ? xp_slice(d, l4 + hl, cut) : Py_NewRef(xp_empty);
        /* (the segment shares the Transport's objects: one more reference each) */
        Py_XINCREF(src);
        Py_XINCREF(dst);
        Py_XINCREF(sport);
        Py_XINCREF(dport);
        Py_XINCREF(seq);
        Py_XINCREF(ack);
        Py_XINCREF(flags);
        Py_XINCREF(win);
        PyObject *shared[8] = {src, dst, sport, dport, seq, ack, flags, win};
        items[0] = xp_make(v, src, dst, 6, sport, dport, seq, ack, flags, payload, d, Py_NewRef(Py_None), win);
        if (items[0] == NULL || hl < 20 || l4 + hl > n) {
            for (int i = 0; i < 8; i++)
                Py_XDECREF(shared[i]);
            if (items[0] == NULL)
                return NULL;
            items[1] = Py_NewRef(xp_unknown);
            return xp_tuple(NULL, items, 2);
        }
        PyObject *wscale = Py_NewRef(Py_None), *sack = Py_NewRef(Py_None);
        if (hl > 20) {
            Py_DECREF(wscale);
            Py_DECREF(sack);
            int r = xp_options(d, l4 + 20, l4 + hl, &wscale, &sack);
            if (r <= 0) {
                for (int i = 0; i < 8; i++)
                    Py_DECREF(shared[i]);
                if (r < 0) {
                    Py_DECREF(items[0]);
                    return NULL;
                }
                items[1] = Py_NewRef(xp_unknown);
                return xp_tuple(NULL, items, 2);
            }
        }
        Py_ssize_t seglen = end - l4 - hl;
        PyObject *pair[2] = {Py_NewRef(name), src}, *pair2[2] = {Py_NewRef(name), dst};
        PyObject *seg[11] = {xp_tuple(NULL, pair, 2), xp_tuple(NULL, pair2, 2), sport, dport, seq, ack, flags,
                             win, PyLong_FromSsize_t(seglen > 0 ? seglen : 0), wscale, sack};
        items[1] = xp_tuple(NULL, seg, 11);
        return xp_tuple(NULL, items, 2);
    }
    if (proto == 17) {
        if (n < l4 + 8) {
            Py_DECREF(src);
            Py_DECREF(dst);
            Py_RETURN_NONE;
        }
        unsigned sport = be16(d + l4), dport = be16(d + l4 + 2), ulen = be16(d + l4 + 4);
        Py_ssize_t uend = cut;
        if (ulen >= 8 && l4 + (Py_ssize_t)ulen < cut)
            uend = l4 + (Py_ssize_t)ulen;
        items[0] = xp_make(v, src, dst, 17, PyLong_FromLong(sport), PyLong_FromLong(dport), xp_zero(), xp_zero(),
                           xp_zero(), xp_slice(d, l4 + 8, uend), d, Py_NewRef(Py_None), xp_zero());
        items[1] = Py_NewRef(xp_tunnel[sport] || xp_tunnel[dport] ? xp_unknown : Py_None);
        return xp_tuple(NULL, items, 2);
    }
    if (n >= l4 + 8 &&
        ((proto == 1 && v == 4 && xp_icmp_err[d[l4]]) || (proto == 58 && v == 6 && d[l4] >= 1 && d[l4] <= 4))) {
        Py_DECREF(src);
        Py_DECREF(dst);
        Py_RETURN_NONE; /* an ICMP error: the transport is the quoted packet's */
    }
    items[0] = xp_make(v, src, dst, (long)proto, xp_zero(), xp_zero(), xp_zero(), xp_zero(), xp_zero(),
                       Py_NewRef(xp_empty), d, Py_NewRef(Py_None), xp_zero());
    items[1] = Py_NewRef(xp_not_tcp[proto] ? Py_None : xp_unknown);
    return xp_tuple(NULL, items, 2);
}
