/* sniffer.decode._fastfields: the native accelerator of the full dissection's L2-L4 layers (docs/decode.md).
 *
 * Walker.walk(ctx, wire_length) does for a no-tree, full-field dissection of an Ethernet frame what
 * link.dissect_eth, inet.dissect_ipv4/ipv6 and inet.dissect_tcp/udp do: it records the same fields, in the
 * same order, into ctx.fields, appends the same layers to ctx.protos and sets the same context (columns,
 * src/dst, pseudo header, fragment flag, hop limit, depth, current layer). Where the Python dissector hands
 * the rest of the packet on (an ethertype other than IPv4/IPv6, an IP protocol other than TCP/UDP, a TCP or
 * UDP payload), it calls the Python continuation Python gave it (link.ethertype, inet.ipv4_next, ...).
 *
 * The header tables (names, offsets, sizes, masks, scales) are the Python declarations (link.ETH,
 * inet.IPV4_ALL, IPV6, TCP, UDP), given at construction; so are the TCP flag texts and option names.
 *
 * It first checks the whole packet (nothing written) and declines (returns None: the Python dissectors
 * run) on anything unusual: a header cut or shorter than declared, a bogus IPv4 option, a zero or bogus length, a
 * bogus TCP option, a bad UDP length, 802.3 frames.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <stdint.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>

enum { K_U = 0, K_IP4, K_IP6, K_MAC, K_BYTES };

typedef struct {
    PyObject *name; /* borrowed from self->decls */
    int off, size, kind, shift, scale;
    uint32_t mask;
} Field;

typedef struct {
    Field *f;
    Py_ssize_t n;
} Hdr;

typedef struct {
    PyObject_HEAD
    PyObject *decls; /* the tuple of every object given at construction (keeps the names alive) */
    Hdr eth, ip4, ip6, tcp, udp;
    /* IGMP v1/v2 over IPv4 (igmp.dissect_igmp, while it is the registered dissector; n == 0: not here) */
    Hdr igmp_hdr, igmp_v1, igmp_v12;
    Hdr vrrp, vrrp2, vrrp3; /* VRRP over IPv4/IPv6 (routing.dissect_vrrp while registered; n == 0: not here) */
    PyObject *igmp_names[4]; /* Info names of 0x11, 0x12, 0x16, 0x17 */
    PyObject *igmp_versions[3]; /* Protocol column of IGMP, IGMPv1, IGMPv2 */
    /* payloads no dissector takes (data, in C): the port tables' keys (bit 1 TCP, 2 UDP), TCP's heuristics'
     * 3-byte prefixes (sorted), UDP's heuristics' probes; the live objects, to see a change */
    int data_on;
    uint8_t ports[65536];
    uint32_t *hpfx;
    Py_ssize_t nhpfx;
    struct {
        int off, len;
        uint8_t v[4];
    } probes[64];
    int nprobes;
    PyObject *tcp_map, *udp_map, *conv_map, *heur_tcp, *heur_udp;
    Py_ssize_t tcp_n, udp_n, htcp_n, hudp_n;
    PyObject *flag_names[4096]; /* inet.tcp_flags_str of every 12-bit value (borrowed from decls) */
    PyObject *flag_strs[4096];  /* inet._flag_str */
    PyObject *opt_names[256];   /* "tcp.options.<name>" of every option kind */
    PyObject *proto_names[256]; /* inet.PROTO_NAMES (or "Unknown") of every IP protocol: fragments' Info */
    PyObject *nodes;            /* dict proto -> shared layer node (core._LAYERS) */
    PyObject *make_layer;       /* core._layer: the node of a proto missing from nodes */
    PyObject *cont_eth, *cont_ip4, *cont_ip6, *cont_tcp, *cont_udp;
} Walker;

/* interned strings: attributes of Ctx, field names the dissectors add in code, protocol names */
static PyObject *s_data, *s_fields, *s_protos, *s_proto, *s_info, *s_src, *s_dst, *s_pseudo, *s_frag,
    *s_hlim, *s_depth, *s_layer, *s_root, *s_parent, *s_malformed, *s_truncated, *s_expert;
static PyObject *s_malformed_suffix, *s_truncated_suffix, *s_size_limited, *s_colon, *n_protocols, *n_col_protocol,
    *n_col_info, *n_expert, *n_malformed, *n_truncated;
static PyObject *n_eth_type, *n_ip_version, *n_ipv6_addr, *n_tcp_flags_str, *n_tcp_len, *n_tcp_options,
    *n_opt_kind, *n_opt_len, *n_mss_val, *n_wscale_shift, *n_wscale_mult, *n_sack_le, *n_sack_re, *n_tsval,
    *n_tsecr, *n_tcp_payload, *n_udp_payload;
static PyObject *p_eth, *p_ethertype, *p_ip, *p_ipv6, *p_tcp, *p_udp, *p_mptcp, *p_data;
static PyObject *c_ethernet, *c_ipv4, *c_ipv6, *c_tcp, *c_udp, *c_mptcp;
static PyObject *p_vrrp, *c_vrrp, *n_vrrp_ip4, *n_vrrp_ip6;
static PyObject *p_igmp, *n_igmp_version, *n_igmp_status, *n_igmp_maddr;
static PyObject *n_interface_id, *n_time_epoch, *n_frame_len, *n_cap_len, *n_linktype;
static PyObject *n_data_data, *n_data_len, *n_ip_opt_type, *n_ip_opt_len, *n_ip_opt_ra;

static uint32_t be(const uint8_t *p, int n) {
    uint32_t v = 0;
    for (int i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

/* Python's _put: a name already there becomes (or grows) a list. Steals v. (One lookup: setdefault.) */
static int put(PyObject *d, PyObject *k, PyObject *v) {
    if (v == NULL)
        return -1;
    int r = 0;
    Py_ssize_t n = PyDict_GET_SIZE(d); /* (inserted: the size grew; the value alone cannot tell, the
                                          memoised texts are shared) */
    PyObject *old = PyDict_SetDefault(d, k, v);
    if (old == NULL) {
        r = -1;
    } else if (PyDict_GET_SIZE(d) != n) {
        /* inserted */
    } else if (PyList_CheckExact(old)) {
        r = PyList_Append(old, v);
    } else {
        PyObject *l = PyList_New(2);
        if (l == NULL) {
            Py_DECREF(v);
            return -1;
        }
        Py_INCREF(old);
        Py_INCREF(v);
        PyList_SET_ITEM(l, 0, old);
        PyList_SET_ITEM(l, 1, v);
        r = PyDict_SetItem(d, k, l);
        Py_DECREF(l);
    }
    Py_DECREF(v);
    return r;
}

/* the address texts, memoised as core's formatters are (direct-mapped: a slot holds the last address
 * that hashed to it) */
#define CACHE_SLOTS 4096
typedef struct {
    uint8_t key[16];
    int used;
    PyObject *s;
} Slot;
static Slot cache4[CACHE_SLOTS], cache6[CACHE_SLOTS], cachem[CACHE_SLOTS];

static unsigned slot_of(const uint8_t *p, int n) {
    uint64_t h = 1469598103934665603ULL;
    for (int i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ULL;
    return (unsigned)(h ^ (h >> 29)) & (CACHE_SLOTS - 1);
}

static PyObject *cached(Slot *table, const uint8_t *p, int n, PyObject *(*make)(const uint8_t *)) {
    Slot *e = &table[slot_of(p, n)];
    if (e->used && memcmp(e->key, p, n) == 0) {
        Py_INCREF(e->s);
        return e->s;
    }
    PyObject *s = make(p);
    if (s == NULL)
        return NULL;
    Py_XSETREF(e->s, s);
    Py_INCREF(s);
    memcpy(e->key, p, n);
    e->used = 1;
    return s;
}

static PyObject *hexcolon(const uint8_t *p, Py_ssize_t n) {
    static const char hx[] = "0123456789abcdef";
    if (n <= 0)
        return PyUnicode_FromStringAndSize("", 0);
    PyObject *s = PyUnicode_New(n * 3 - 1, 127);
    if (s == NULL)
        return NULL;
    Py_UCS1 *o = PyUnicode_1BYTE_DATA(s);
    *o++ = hx[p[0] >> 4];
    *o++ = hx[p[0] & 15];
    for (Py_ssize_t i = 1; i < n; i++) {
        o[0] = ':';
        o[1] = hx[p[i] >> 4];
        o[2] = hx[p[i] & 15];
        o += 3;
    }
    return s;
}

static PyObject *make_ip4(const uint8_t *p) {
    char b[16];
    int n = snprintf(b, sizeof b, "%u.%u.%u.%u", p[0], p[1], p[2], p[3]);
    return PyUnicode_FromStringAndSize(b, n);
}

static PyObject *make_ip6(const uint8_t *p) {
    char b[INET6_ADDRSTRLEN];
    if (inet_ntop(AF_INET6, p, b, sizeof b) == NULL) {
        PyErr_SetString(PyExc_ValueError, "inet_ntop");
        return NULL;
    }
    return PyUnicode_FromString(b);
}

static PyObject *make_mac(const uint8_t *p) { return hexcolon(p, 6); }

static PyObject *fmt_ip4(const uint8_t *p) { return cached(cache4, p, 4, make_ip4); }
static PyObject *fmt_ip6(const uint8_t *p) { return cached(cache6, p, 16, make_ip6); }
static PyObject *fmt_mac(const uint8_t *p) { return cached(cachem, p, 6, make_mac); }

static PyObject *value(const Field *f, const uint8_t *base) {
    switch (f->kind) {
    case K_IP4:
        return fmt_ip4(base + f->off);
    case K_IP6:
        return fmt_ip6(base + f->off);
    case K_MAC:
        return fmt_mac(base + f->off);
    case K_BYTES:
        return hexcolon(base + f->off, f->size);
    default: {
        uint32_t v = be(base + f->off, f->size);
        if (f->mask)
            v = (v & f->mask) >> f->shift;
        return PyLong_FromUnsignedLongLong((unsigned long long)v * (unsigned long long)f->scale);
    }
    }
}

static int read_hdr(PyObject *d, const Hdr *h, const uint8_t *base) {
    for (Py_ssize_t i = 0; i < h->n; i++)
        if (put(d, h->f[i].name, value(&h->f[i], base)) < 0)
            return -1;
    return 0;
}

/* the bytes a header declares (its fixed part) */
static int hdr_size(const Hdr *h) {
    int m = 0;
    for (Py_ssize_t i = 0; i < h->n; i++)
        if (h->f[i].off + h->f[i].size > m)
            m = h->f[i].off + h->f[i].size;
    return m;
}

static int parse_hdr(PyObject *seq, Hdr *h, const char *what) {
    PyObject *fast = PySequence_Fast(seq, what);
    if (fast == NULL)
        return -1;
    h->n = PySequence_Fast_GET_SIZE(fast);
    h->f = PyMem_Calloc(h->n ? h->n : 1, sizeof(Field));
    if (h->f == NULL) {
        Py_DECREF(fast);
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < h->n; i++) {
        /* (name, off, size, kind, mask, scale) */
        PyObject *t = PySequence_Fast_GET_ITEM(fast, i);
        PyObject *name, *kind;
        unsigned long mask;
        int off, size, scale;
        if (!PyArg_ParseTuple(t, "UiiUki", &name, &off, &size, &kind, &mask, &scale)) {
            Py_DECREF(fast);
            return -1;
        }
        Field *f = &h->f[i];
        f->name = name; /* kept alive by decls */
        f->off = off;
        f->size = size;
        f->mask = (uint32_t)mask;
        f->shift = mask ? __builtin_ctzl(mask) : 0;
        f->scale = scale;
        if (PyUnicode_CompareWithASCIIString(kind, "u") == 0 && size >= 1 && size <= 4)
            f->kind = K_U;
        else if (PyUnicode_CompareWithASCIIString(kind, "ip4") == 0 && size == 4)
            f->kind = K_IP4;
        else if (PyUnicode_CompareWithASCIIString(kind, "ip6") == 0 && size == 16)
            f->kind = K_IP6;
        else if (PyUnicode_CompareWithASCIIString(kind, "mac") == 0 && size == 6)
            f->kind = K_MAC;
        else if (PyUnicode_CompareWithASCIIString(kind, "bytes") == 0 && size >= 1)
            f->kind = K_BYTES;
        else {
            PyErr_Format(PyExc_ValueError, "%s: field %U of kind %U, size %d not handled", what, name, kind,
                         size);
            Py_DECREF(fast);
            return -1;
        }
    }
    Py_DECREF(fast);
    return 0;
}

static void walker_dealloc(Walker *self) {
    PyMem_Free(self->eth.f);
    PyMem_Free(self->ip4.f);
    PyMem_Free(self->ip6.f);
    PyMem_Free(self->tcp.f);
    PyMem_Free(self->udp.f);
    PyMem_Free(self->igmp_hdr.f);
    PyMem_Free(self->igmp_v1.f);
    PyMem_Free(self->igmp_v12.f);
    PyMem_Free(self->hpfx);
    PyMem_Free(self->vrrp.f);
    PyMem_Free(self->vrrp2.f);
    PyMem_Free(self->vrrp3.f);
    Py_XDECREF(self->decls);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* Walker(eth, ipv4, ipv6, tcp, udp, flag_names, flag_strs, option_names, proto_names, nodes, make_layer,
 *        cont_eth, cont_ip4, cont_ip6, cont_tcp, cont_udp, igmp)
 * igmp: None, or (IGMP_HDR, IGMP_V1, IGMP_V12 specs, [names of 0x11, 0x12, 0x16, 0x17], [3 versions])
 * data: None, or (TCP_PORTS.map, UDP_PORTS.map, UDP_CONVERSATIONS.map, TCP_HEURISTICS.entries,
 *       UDP_HEURISTICS.entries, sorted TCP prefixes as ints, [(offset, bytes) of each UDP probe])
 * vrrp: None, or (VRRP, VRRP2, VRRP3 specs) */
static int walker_init(Walker *self, PyObject *args, PyObject *kw) {
    PyObject *eth, *ip4, *ip6, *tcp, *udp, *fnames, *fstrs, *onames, *pnames, *nodes, *mk, *ce, *c4, *c6, *ct,
        *cu, *igmp, *dat, *vrrp;
    if (!PyArg_ParseTuple(args, "OOOOOO!O!O!O!O!OOOOOOOOO", &eth, &ip4, &ip6, &tcp, &udp, &PyList_Type, &fnames,
                          &PyList_Type, &fstrs, &PyList_Type, &onames, &PyList_Type, &pnames, &PyDict_Type,
                          &nodes, &mk, &ce, &c4, &c6, &ct, &cu, &igmp, &dat, &vrrp))
        return -1;
    if (self->decls != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Walker initialised twice");
        return -1;
    }
    Py_INCREF(args);
    self->decls = args;
    if (parse_hdr(eth, &self->eth, "eth") < 0 || parse_hdr(ip4, &self->ip4, "ipv4") < 0 ||
        parse_hdr(ip6, &self->ip6, "ipv6") < 0 || parse_hdr(tcp, &self->tcp, "tcp") < 0 ||
        parse_hdr(udp, &self->udp, "udp") < 0)
        return -1;
    if (igmp != Py_None) {
        PyObject *h, *v1, *v12, *names, *vers;
        if (!PyArg_ParseTuple(igmp, "OOOO!O!", &h, &v1, &v12, &PyList_Type, &names, &PyList_Type, &vers))
            return -1;
        if (parse_hdr(h, &self->igmp_hdr, "igmp") < 0 || parse_hdr(v1, &self->igmp_v1, "igmp v1") < 0 ||
            parse_hdr(v12, &self->igmp_v12, "igmp v2") < 0)
            return -1;
        if (PyList_GET_SIZE(names) != 4 || PyList_GET_SIZE(vers) != 3 || hdr_size(&self->igmp_hdr) > 8 ||
            hdr_size(&self->igmp_v1) > 8 || hdr_size(&self->igmp_v12) > 8) {
            PyErr_SetString(PyExc_ValueError, "igmp: 4 names, 3 versions, headers within 8 bytes expected");
            return -1;
        }
        for (int i = 0; i < 4; i++)
            if (!PyUnicode_Check(self->igmp_names[i] = PyList_GET_ITEM(names, i)) || !PyUnicode_IS_ASCII(self->igmp_names[i]))
                return PyErr_SetString(PyExc_TypeError, "igmp names: ASCII str"), -1;
        for (int i = 0; i < 3; i++)
            if (!PyUnicode_Check(self->igmp_versions[i] = PyList_GET_ITEM(vers, i)))
                return PyErr_SetString(PyExc_TypeError, "igmp versions: str"), -1;
    }
    if (vrrp != Py_None) {
        PyObject *a, *b, *c;
        if (!PyArg_ParseTuple(vrrp, "OOO", &a, &b, &c) || parse_hdr(a, &self->vrrp, "vrrp") < 0 ||
            parse_hdr(b, &self->vrrp2, "vrrp2") < 0 || parse_hdr(c, &self->vrrp3, "vrrp3") < 0)
            return -1;
        if (hdr_size(&self->vrrp) > 8 || hdr_size(&self->vrrp2) > 8 || hdr_size(&self->vrrp3) > 8)
            return PyErr_SetString(PyExc_ValueError, "vrrp: headers within 8 bytes expected"), -1;
    }
    if (dat != Py_None) {
        PyObject *tm, *um, *cm, *ht, *hu, *pf, *pr;
        if (!PyArg_ParseTuple(dat, "O!O!O!O!O!O!O!", &PyDict_Type, &tm, &PyDict_Type, &um, &PyDict_Type, &cm,
                              &PyList_Type, &ht, &PyList_Type, &hu, &PyList_Type, &pf, &PyList_Type, &pr))
            return -1;
        PyObject *k, *v;
        Py_ssize_t pos = 0;
        while (PyDict_Next(tm, &pos, &k, &v)) {
            long port = PyLong_AsLong(k);
            if (port >= 0 && port < 65536)
                self->ports[port] |= 1;
        }
        pos = 0;
        while (PyDict_Next(um, &pos, &k, &v)) {
            long port = PyLong_AsLong(k);
            if (port >= 0 && port < 65536)
                self->ports[port] |= 2;
        }
        if (PyErr_Occurred())
            return -1;
        self->nhpfx = PyList_GET_SIZE(pf);
        self->hpfx = PyMem_Calloc(self->nhpfx + 1, sizeof(uint32_t));
        if (self->hpfx == NULL)
            return PyErr_NoMemory(), -1;
        for (Py_ssize_t i = 0; i < self->nhpfx; i++)
            self->hpfx[i] = (uint32_t)PyLong_AsUnsignedLong(PyList_GET_ITEM(pf, i));
        if (PyList_GET_SIZE(pr) > 64)
            return PyErr_SetString(PyExc_ValueError, "at most 64 UDP probes"), -1;
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(pr); i++) {
            int o;
            const char *b;
            Py_ssize_t n;
            if (!PyArg_ParseTuple(PyList_GET_ITEM(pr, i), "iy#", &o, &b, &n))
                return -1;
            if (n < 1 || n > 4 || o < 0)
                return PyErr_SetString(PyExc_ValueError, "UDP probe shape"), -1;
            self->probes[i].off = o;
            self->probes[i].len = (int)n;
            memcpy(self->probes[i].v, b, n);
        }
        if (PyErr_Occurred())
            return -1;
        self->nprobes = (int)PyList_GET_SIZE(pr);
        self->tcp_map = tm;
        self->udp_map = um;
        self->conv_map = cm;
        self->heur_tcp = ht;
        self->heur_udp = hu;
        self->tcp_n = PyDict_GET_SIZE(tm);
        self->udp_n = PyDict_GET_SIZE(um);
        self->htcp_n = PyList_GET_SIZE(ht);
        self->hudp_n = PyList_GET_SIZE(hu);
        self->data_on = 1;
    }
    if (hdr_size(&self->eth) > 14 || hdr_size(&self->ip4) > 20 || hdr_size(&self->ip6) > 40 ||
        hdr_size(&self->tcp) > 20 || hdr_size(&self->udp) > 8) {
        PyErr_SetString(PyExc_ValueError, "a header declares more bytes than its fixed part");
        return -1;
    }
    if (PyList_GET_SIZE(fnames) != 4096 || PyList_GET_SIZE(fstrs) != 4096 || PyList_GET_SIZE(onames) != 256) {
        PyErr_SetString(PyExc_ValueError, "flag tables of 4096 and option names of 256 entries expected");
        return -1;
    }
    for (int i = 0; i < 4096; i++) {
        self->flag_names[i] = PyList_GET_ITEM(fnames, i);
        self->flag_strs[i] = PyList_GET_ITEM(fstrs, i);
        if (!PyUnicode_Check(self->flag_names[i]) || !PyUnicode_Check(self->flag_strs[i]) ||
            !PyUnicode_IS_ASCII(self->flag_names[i])) {
            PyErr_SetString(PyExc_TypeError, "flag tables: ASCII str expected");
            return -1;
        }
    }
    if (PyList_GET_SIZE(pnames) != 256) {
        PyErr_SetString(PyExc_ValueError, "256 IP protocol names expected");
        return -1;
    }
    for (int i = 0; i < 256; i++) {
        self->opt_names[i] = PyList_GET_ITEM(onames, i);
        self->proto_names[i] = PyList_GET_ITEM(pnames, i);
        if (!PyUnicode_Check(self->opt_names[i]) || !PyUnicode_Check(self->proto_names[i])) {
            PyErr_SetString(PyExc_TypeError, "option names: str expected");
            return -1;
        }
    }
    self->nodes = nodes;
    self->make_layer = mk;
    self->cont_eth = ce;
    self->cont_ip4 = c4;
    self->cont_ip6 = c6;
    self->cont_tcp = ct;
    self->cont_udp = cu;
    return 0;
}

/* what the check pass found: where each layer is and what comes after */
enum { NEXT_ETH = 1, NEXT_IP4, NEXT_IP6, NEXT_TCP, NEXT_UDP, FRAGMENT, DONE };

typedef struct {
    Py_ssize_t caplen, end, l3, l4, lim;
    int etype, l3kind; /* 4 or 6, 0: none */
    int proto;         /* IP protocol / next header */
    int frag, hlim;
    int next; /* NEXT_* : which continuation runs, or DONE */
    int l4kind; /* 6 / 17 / 0 */
    int hl, seglen_neg;
    Py_ssize_t seglen;
    int sp, dp, ulen;
    int payload; /* TCP/UDP payload present */
    int mptcp;   /* an MPTCP option: the layer and the Protocol column (inet.dissect_tcp) */
    int foff, ident; /* an IPv4 fragment past the first: its Info and the data layer (dissect_ipv4) */
    int ihl;         /* IPv4 header length: options when > 20 */
    int igmp_version, igmp_status;
} Plan;

/* -1: a bogus IPv4 option (decline: Python warns), else 0 (inet._ipv4_options' walk) */
static int check_ip_options(const uint8_t *d, Py_ssize_t o, Py_ssize_t oend) {
    while (o < oend) {
        int t = d[o];
        if (t == 0)
            return 0;
        if (t == 1) {
            o++;
            continue;
        }
        if (o + 1 >= oend)
            return -1;
        int ln = d[o + 1];
        if (ln < 2 || o + ln > oend)
            return -1;
        o += ln;
    }
    return 0;
}

static int emit_ip_options(PyObject *f, const uint8_t *d, Py_ssize_t o, Py_ssize_t oend) {
    while (o < oend) {
        int t = d[o];
        if (put(f, n_ip_opt_type, PyLong_FromLong(t)) < 0)
            return -1;
        if (t == 0)
            return 0;
        if (t == 1) {
            o++;
            continue;
        }
        int ln = d[o + 1];
        if (put(f, n_ip_opt_len, PyLong_FromLong(ln)) < 0)
            return -1;
        if (t == 148 && ln == 4 && put(f, n_ip_opt_ra, PyLong_FromLong(be(d + o + 2, 2))) < 0)
            return -1;
        o += ln;
    }
    return 0;
}

/* -1: a bogus option (decline); 1: an MPTCP option is there (inet._has_option), else 0 */
static int check_tcp_options(const uint8_t *d, Py_ssize_t o, Py_ssize_t oend) {
    int mptcp = 0;
    while (o < oend) {
        int kind = d[o];
        if (kind == 0)
            return mptcp;
        if (kind == 1) {
            o++;
            continue;
        }
        if (o + 1 >= oend)
            return -1;
        int ln = d[o + 1];
        if (ln < 2 || o + ln > oend)
            return -1;
        if (kind == 30)
            mptcp = 1;
        o += ln;
    }
    return mptcp;
}

static int push(PyObject *protos, PyObject *name) { return PyList_Append(protos, name); }

/* True when no port dissector, conversation nor heuristic can take the payload at po (inet.tcp_payload /
 * udp_payload would end in core.data_layer): while the tables are the ones given at construction */
static int is_data(Walker *w, const uint8_t *d, Py_ssize_t caplen, Py_ssize_t po, int udp, int sp, int dp) {
    if (!w->data_on || PyDict_GET_SIZE(w->tcp_map) != w->tcp_n || PyDict_GET_SIZE(w->udp_map) != w->udp_n ||
        PyList_GET_SIZE(w->heur_tcp) != w->htcp_n || PyList_GET_SIZE(w->heur_udp) != w->hudp_n)
        return 0;
    int bit = udp ? 2 : 1;
    if ((w->ports[sp] | w->ports[dp]) & bit)
        return 0;
    if (udp) {
        if (PyDict_GET_SIZE(w->conv_map))
            return 0;
        for (int i = 0; i < w->nprobes; i++) {
            Py_ssize_t o = po + w->probes[i].off;
            if (o + w->probes[i].len <= caplen && memcmp(d + o, w->probes[i].v, w->probes[i].len) == 0)
                return 0;
        }
        return 1;
    }
    if (po + 3 > caplen)
        return 1;
    uint32_t key = (uint32_t)d[po] << 16 | d[po + 1] << 8 | d[po + 2];
    Py_ssize_t lo = 0, hi = w->nhpfx;
    while (lo < hi) {
        Py_ssize_t mid = (lo + hi) / 2;
        if (w->hpfx[mid] < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return !(lo < w->nhpfx && w->hpfx[lo] == key);
}

/* core.data_layer at [po, lim): the "data" layer, data.data (``hex``, their text: stolen) and data.len */
static int emit_data(PyObject *protos, PyObject *f, PyObject *hex, Py_ssize_t po, Py_ssize_t lim) {
    if (push(protos, p_data) < 0) {
        Py_DECREF(hex);
        return -1;
    }
    return put(f, n_data_data, hex) < 0 || put(f, n_data_len, PyLong_FromSsize_t(lim - po)) < 0 ? -1 : 0;
}

/* VRRP messages routing.dissect_vrrp reads whole: 0 */
static int vrrp_plan(const uint8_t *d, Py_ssize_t off, Py_ssize_t end, Py_ssize_t caplen, int size) {
    Py_ssize_t need = off + 8 + (Py_ssize_t)d[off + 3 < caplen ? off + 3 : 0] * size;
    if (off + 8 > end || off + 8 > caplen || need > end || need > caplen)
        return -1;
    return 0;
}

/* IGMP v1/v2 messages igmp.dissect_igmp takes with nothing unusual: 0 (version, checksum status in p) */
static int igmp_plan(const uint8_t *d, Py_ssize_t off, Py_ssize_t end, Py_ssize_t caplen, Plan *p) {
    if (off + 8 > end || off + 8 > caplen)
        return -1;
    int t = d[off];
    Py_ssize_t size = end - off;
    if (t == 0x11) {
        if (size >= 12)
            return -1; /* v3 */
        p->igmp_version = d[off + 1] == 0 ? 1 : 2;
    } else if (t == 0x12)
        p->igmp_version = 1;
    else if (t == 0x16 || t == 0x17)
        p->igmp_version = 2;
    else
        return -1;
    if (p->frag || end > caplen) {
        p->igmp_status = 2;
    } else {
        uint32_t sum = 0;
        Py_ssize_t i;
        for (i = off; i + 1 < end; i += 2)
            sum += (uint32_t)(d[i] << 8 | d[i + 1]);
        if (i < end)
            sum += (uint32_t)d[i] << 8;
        while (sum >> 16)
            sum = (sum & 0xFFFF) + (sum >> 16);
        if (sum != 0xFFFF)
            return -1; /* bad: Python warns */
        p->igmp_status = 1;
    }
    return 0;
}

/* the check pass: 0 when the packet is one this file dissects (plan filled), -1 to decline */
static int plan(Walker *w, const uint8_t *d, Py_ssize_t caplen, Py_ssize_t wirelen, Plan *p) {
    memset(p, 0, sizeof *p);
    p->caplen = caplen;
    Py_ssize_t end = wirelen;
    if (14 > end || 14 > caplen)
        return -1;
    int etype = (d[12] << 8) | d[13];
    if (etype <= 1500)
        return -1;
    p->etype = etype;
    Py_ssize_t off = 14;
    p->l3 = off;
    if (etype == 0x0800 && w->ip4.n) {
        if (off + 20 > end || off + 20 > caplen)
            return -1;
        if (d[off] >> 4 != 4 || (d[off] & 15) < 5)
            return -1;
        int ihl = (d[off] & 15) * 4;
        if (off + ihl > end || off + ihl > caplen)
            return -1;
        int tlen = (d[off + 2] << 8) | d[off + 3];
        if (tlen < ihl)
            return -1; /* 0 (TSO) or bogus */
        if (ihl > 20 && check_ip_options(d, off + 20, off + ihl) < 0)
            return -1;
        p->ihl = ihl;
        int mf = d[off + 6] & 0x20, foff = ((d[off + 6] << 8) | d[off + 7]) & 0x1FFF;
        if (off + tlen < end)
            end = off + tlen;
        p->l3kind = 4;
        p->frag = mf || foff;
        p->hlim = d[off + 8];
        p->proto = d[off + 9];
        p->foff = foff;
        p->ident = (d[off + 4] << 8) | d[off + 5];
        off += ihl;
        if (foff)
            p->next = FRAGMENT;
        else if (p->proto == 6 && w->tcp.n)
            p->l4kind = 6;
        else if (p->proto == 17 && w->udp.n)
            p->l4kind = 17;
        else if (p->proto == 2 && w->igmp_hdr.n && igmp_plan(d, off, end, caplen, p) == 0)
            p->l4kind = 2;
        else if (p->proto == 112 && w->vrrp.n && vrrp_plan(d, off, end, caplen, 4) == 0)
            p->l4kind = 112;
        else
            p->next = NEXT_IP4;
    } else if (etype == 0x86DD && w->ip6.n) {
        if (off + 40 > end || off + 40 > caplen)
            return -1;
        int plen = (d[off + 4] << 8) | d[off + 5];
        int nxt = d[off + 6];
        if ((plen || nxt != 0) && off + 40 + plen < end)
            end = off + 40 + plen;
        p->l3kind = 6;
        p->hlim = d[off + 7];
        p->proto = nxt;
        off += 40;
        if (nxt == 6 && w->tcp.n)
            p->l4kind = 6;
        else if (nxt == 17 && w->udp.n)
            p->l4kind = 17;
        else if (nxt == 112 && w->vrrp.n && vrrp_plan(d, off, end, caplen, 16) == 0)
            p->l4kind = 112;
        else
            p->next = NEXT_IP6;
    } else {
        p->next = NEXT_ETH;
    }
    p->l4 = off;
    if (p->l4kind == 6) {
        if (off + 20 > end || off + 20 > caplen)
            return -1;
        int hl = (d[off + 12] >> 4) * 4;
        if (hl < 20)
            return -1;
        p->hl = hl;
        p->sp = (d[off] << 8) | d[off + 1];
        p->dp = (d[off + 2] << 8) | d[off + 3];
        Py_ssize_t seglen = end - off - hl;
        p->seglen = seglen < 0 ? 0 : seglen;
        if (hl > 20) {
            if (off + hl > end || off + hl > caplen)
                return -1;
            p->mptcp = check_tcp_options(d, off + 20, off + hl);
            if (p->mptcp < 0)
                return -1;
        }
        Py_ssize_t lim = end < caplen ? end : caplen;
        p->lim = lim;
        p->payload = p->seglen > 0 && off + hl < lim;
        p->next = p->payload ? NEXT_TCP : DONE;
    } else if (p->l4kind == 17) {
        if (off + 8 > end || off + 8 > caplen)
            return -1;
        int ulen = (d[off + 4] << 8) | d[off + 5];
        if (ulen < 8)
            return -1;
        if (off + ulen > end && !p->frag)
            return -1;
        if (off + ulen <= end && off + ulen < end)
            end = off + ulen;
        p->ulen = ulen;
        p->sp = (d[off] << 8) | d[off + 1];
        p->dp = (d[off + 2] << 8) | d[off + 3];
        Py_ssize_t lim = end < caplen ? end : caplen;
        p->lim = lim;
        p->payload = off + 8 < lim;
        p->next = p->payload ? NEXT_UDP : DONE;
    }
    p->end = end;
    return 0;
}


/* core.Ctx's slots: their offsets, found once from the class's member descriptors; a context of another
 * class (or a slot that is not a plain object slot) goes through setattr/getattr */
#define NATTRS 17
static PyObject **attr_names[NATTRS] = {&s_data,  &s_fields, &s_protos,    &s_proto,     &s_info,   &s_src,
                                        &s_dst,   &s_pseudo, &s_frag,      &s_hlim,      &s_depth,  &s_layer,
                                        &s_root,  &s_parent, &s_malformed, &s_truncated, &s_expert};
static PyTypeObject *ctx_type;
static Py_ssize_t attr_offs[NATTRS];

static Py_ssize_t attr_off(PyObject *ctx, PyObject *attr) {
    PyTypeObject *t = Py_TYPE(ctx);
    if (t != ctx_type) {
        Py_ssize_t offs[NATTRS];
        for (int i = 0; i < NATTRS; i++) {
            PyObject *d = PyObject_GetAttr((PyObject *)t, *attr_names[i]);
            if (d == NULL) {
                PyErr_Clear();
                return -1;
            }
            int ok = Py_IS_TYPE(d, &PyMemberDescr_Type) &&
                     ((PyMemberDescrObject *)d)->d_member->type == T_OBJECT_EX &&
                     !(((PyMemberDescrObject *)d)->d_member->flags & READONLY);
            offs[i] = ok ? ((PyMemberDescrObject *)d)->d_member->offset : -1;
            Py_DECREF(d);
            if (!ok)
                return -1;
        }
        Py_XSETREF(ctx_type, (PyTypeObject *)Py_NewRef(t));
        memcpy(attr_offs, offs, sizeof offs);
    }
    for (int i = 0; i < NATTRS; i++)
        if (*attr_names[i] == attr)
            return attr_offs[i];
    return -1;
}

/* ctx.<attr> = v (steals v) */
static int set(PyObject *ctx, PyObject *attr, PyObject *v) {
    if (v == NULL)
        return -1;
    Py_ssize_t off = attr_off(ctx, attr);
    if (off >= 0) {
        PyObject **slot = (PyObject **)((char *)ctx + off);
        PyObject *old = *slot;
        *slot = v;
        Py_XDECREF(old);
        return 0;
    }
    int r = PyObject_SetAttr(ctx, attr, v);
    Py_DECREF(v);
    return r;
}

/* ctx.<attr> (a new reference) */
static PyObject *get(PyObject *ctx, PyObject *attr) {
    Py_ssize_t off = attr_off(ctx, attr);
    if (off >= 0) {
        PyObject *v = *(PyObject **)((char *)ctx + off);
        if (v != NULL)
            return Py_NewRef(v);
    }
    return PyObject_GetAttr(ctx, attr);
}

static int set_layer(Walker *w, PyObject *ctx, PyObject *proto) {
    PyObject *node = PyDict_GetItemWithError(w->nodes, proto);
    if (node != NULL)
        return set(ctx, s_layer, Py_NewRef(node));
    if (PyErr_Occurred())
        return -1;
    return set(ctx, s_layer, PyObject_CallOneArg(w->make_layer, proto)); /* (core._layer, as ctx.push) */
}

static PyObject *tcp_info(Walker *w, int sp, int dp, int flags, uint32_t seq, uint32_t ack, int win,
                          Py_ssize_t seglen) {
    char b[256];
    const char *names = PyUnicode_AsUTF8(w->flag_names[flags & 0xFFF]);
    if (names == NULL)
        return NULL;
    int n;
    if (flags & 0x10)
        n = snprintf(b, sizeof b, "%d -> %d [%s] Seq=%u Ack=%u Win=%d Len=%zd", sp, dp, names, seq, ack, win,
                     seglen);
    else
        n = snprintf(b, sizeof b, "%d -> %d [%s] Seq=%u Win=%d Len=%zd", sp, dp, names, seq, win, seglen);
    if (n < 0 || n >= (int)sizeof b) {
        PyErr_SetString(PyExc_ValueError, "TCP Info too long");
        return NULL;
    }
    return PyUnicode_FromStringAndSize(b, n);
}

static int emit_tcp_options(Walker *w, PyObject *f, const uint8_t *d, Py_ssize_t o, Py_ssize_t oend) {
    if (put(f, n_tcp_options, hexcolon(d + o, oend - o)) < 0)
        return -1;
    while (o < oend) {
        int kind = d[o];
        if (put(f, n_opt_kind, PyLong_FromLong(kind)) < 0)
            return -1;
        if (kind == 0)
            return 0;
        if (kind == 1) {
            o++;
            continue;
        }
        int ln = d[o + 1];
        if (put(f, n_opt_len, PyLong_FromLong(ln)) < 0)
            return -1;
        Py_INCREF(w->opt_names[kind]);
        PyObject *nm = w->opt_names[kind];
        int r = put(f, nm, hexcolon(d + o, ln));
        Py_DECREF(nm);
        if (r < 0)
            return -1;
        const uint8_t *v = d + o + 2;
        if (kind == 2 && ln == 4) {
            if (put(f, n_mss_val, PyLong_FromLong(be(v, 2))) < 0)
                return -1;
        } else if (kind == 3 && ln == 3) {
            if (put(f, n_wscale_shift, PyLong_FromLong(v[0])) < 0 ||
                put(f, n_wscale_mult, PyLong_FromLong(1L << (v[0] < 14 ? v[0] : 14))) < 0)
                return -1;
        } else if (kind == 5) {
            for (Py_ssize_t i = o + 2; i < o + ln - 7; i += 8)
                if (put(f, n_sack_le, PyLong_FromUnsignedLong(be(d + i, 4))) < 0 ||
                    put(f, n_sack_re, PyLong_FromUnsignedLong(be(d + i + 4, 4))) < 0)
                    return -1;
        } else if (kind == 8 && ln == 10) {
            if (put(f, n_tsval, PyLong_FromUnsignedLong(be(v, 4))) < 0 ||
                put(f, n_tsecr, PyLong_FromUnsignedLong(be(v + 4, 4))) < 0)
                return -1;
        }
        o += ln;
    }
    return 0;
}

static PyObject *call_next(PyObject *fn, PyObject *ctx, Py_ssize_t off, Py_ssize_t end, long a, long b,
                           int nargs) {
    PyObject *args[5] = {ctx, PyLong_FromSsize_t(off), PyLong_FromSsize_t(end), PyLong_FromLong(a),
                         PyLong_FromLong(b)};
    PyObject *r = NULL;
    if (args[1] && args[2] && args[3] && args[4])
        r = PyObject_Vectorcall(fn, args, nargs, NULL);
    for (int i = 1; i < 5; i++)
        Py_XDECREF(args[i]);
    return r;
}

/* the walk proper: True (dissected, continuation included) or None (declined: nothing changed) */
/* A TCP (udp 0) or UDP payload at [po, lim): its hex text as ``name`` (tcp.payload / udp.payload), then
 * the data layer when nothing may take it (*last = p_data; returns 0), else the Python dissector of what
 * follows, ``cont``, with the current layer set to *last (returns 1, its result in *result); -1: an error */
static int payload(Walker *w, PyObject *ctx, PyObject *f, PyObject *protos, const uint8_t *d, const Plan *p,
                   Py_ssize_t po, int udp, PyObject *name, PyObject *cont, PyObject **last, PyObject **result) {
    PyObject *hex = hexcolon(d + po, p->lim - po); /* (data.data is the same text: one object) */
    if (hex == NULL || put(f, name, Py_NewRef(hex)) < 0) {
        Py_XDECREF(hex);
        return -1;
    }
    if (is_data(w, d, p->caplen, po, udp, p->sp, p->dp)) {
        *last = p_data;
        return emit_data(protos, f, hex, po, p->lim) < 0 ? -1 : 0;
    }
    Py_DECREF(hex);
    if (set_layer(w, ctx, *last) < 0)
        return -1;
    *result = call_next(cont, ctx, po, p->end, p->sp, p->dp, 5);
    return 1;
}

static PyObject *walk_impl(Walker *w, PyObject *const *args, Py_ssize_t nargs) {
    int sized = nargs >= 3 && PyObject_IsTrue(args[2]) == 1; /* ctx.fields came from frame_dict */
    PyObject *ctx = args[0];
    Py_ssize_t wirelen = PyLong_AsSsize_t(args[1]);
    if (wirelen == -1 && PyErr_Occurred())
        return NULL;
    PyObject *data = get(ctx, s_data);
    if (data == NULL)
        return NULL;
    if (!PyBytes_CheckExact(data)) {
        Py_DECREF(data);
        Py_RETURN_NONE;
    }
    const uint8_t *d = (const uint8_t *)PyBytes_AS_STRING(data);
    Plan p;
    if (plan(w, d, PyBytes_GET_SIZE(data), wirelen, &p) < 0) {
        Py_DECREF(data);
        Py_RETURN_NONE;
    }
    PyObject *f = get(ctx, s_fields);
    PyObject *protos = f ? get(ctx, s_protos) : NULL;
    PyObject *result = NULL;
    if (protos == NULL || !PyDict_CheckExact(f) || !PyList_CheckExact(protos)) {
        if (!PyErr_Occurred()) {
            Py_INCREF(Py_None);
            result = Py_None;
        }
        goto out;
    }
    if (!sized && PyDict_GET_SIZE(f) < 16) { /* the engine's few frame.* fields: one dict sized for the rest too */
        PyObject *nf = _PyDict_NewPresized(PyDict_GET_SIZE(f) + 64);
        if (nf == NULL || PyDict_Update(nf, f) < 0 || set(ctx, s_fields, Py_NewRef(nf)) < 0) {
            Py_XDECREF(nf);
            goto out;
        }
        Py_SETREF(f, nf);
    }
    PyObject *last = p_eth;
    int depth = 0;
    /* Ethernet */
    if (push(protos, p_eth) < 0 || set(ctx, s_proto, (Py_INCREF(c_ethernet), c_ethernet)) < 0 ||
        read_hdr(f, &w->eth, d) < 0)
        goto out;
    {
        PyObject *src = get(ctx, s_src);
        if (src == NULL)
            goto out;
        int empty = PyObject_Not(src);
        Py_DECREF(src);
        if (empty < 0)
            goto out;
        if (empty && (set(ctx, s_src, fmt_mac(d + 6)) < 0 || set(ctx, s_dst, fmt_mac(d)) < 0))
            goto out;
    }
    if (put(f, n_eth_type, PyLong_FromLong(p.etype)) < 0)
        goto out;
    if (p.next == NEXT_ETH) {
        if (set_layer(w, ctx, last) < 0)
            goto out;
        result = call_next(w->cont_eth, ctx, 14, p.end, p.etype, 0, 4);
        goto done;
    }
    if (push(protos, p_ethertype) < 0)
        goto out;
    depth++;
    const uint8_t *l3 = d + p.l3;
    if (p.l3kind == 4) {
        last = p_ip;
        if (push(protos, p_ip) < 0 || set(ctx, s_proto, (Py_INCREF(c_ipv4), c_ipv4)) < 0 ||
            read_hdr(f, &w->ip4, l3) < 0 || set(ctx, s_src, fmt_ip4(l3 + 12)) < 0 ||
            set(ctx, s_dst, fmt_ip4(l3 + 16)) < 0 || (p.ihl > 20 && emit_ip_options(f, d, p.l3 + 20, p.l3 + p.ihl) < 0))
            goto out;
        PyObject *ps = Py_BuildValue("(y#y#)", l3 + 12, (Py_ssize_t)4, l3 + 16, (Py_ssize_t)4);
        if (set(ctx, s_pseudo, ps) < 0)
            goto out;
    } else {
        last = p_ipv6;
        if (push(protos, p_ipv6) < 0 || set(ctx, s_proto, (Py_INCREF(c_ipv6), c_ipv6)) < 0 ||
            read_hdr(f, &w->ip6, l3) < 0 || put(f, n_ip_version, PyLong_FromLong(6)) < 0 ||
            put(f, n_ipv6_addr, fmt_ip6(l3 + 8)) < 0 || put(f, n_ipv6_addr, fmt_ip6(l3 + 24)) < 0 ||
            set(ctx, s_src, fmt_ip6(l3 + 8)) < 0 || set(ctx, s_dst, fmt_ip6(l3 + 24)) < 0)
            goto out;
        PyObject *ps = Py_BuildValue("(y#y#)", l3 + 8, (Py_ssize_t)16, l3 + 24, (Py_ssize_t)16);
        if (set(ctx, s_pseudo, ps) < 0)
            goto out;
    }
    if (set(ctx, s_frag, PyBool_FromLong(p.frag)) < 0 || set(ctx, s_hlim, PyLong_FromLong(p.hlim)) < 0)
        goto out;
    if (p.next == FRAGMENT) { /* Info, then what follows as data (core.data_layer) */
        char b[128];
        const char *name = PyUnicode_AsUTF8(w->proto_names[p.proto]);
        if (name == NULL)
            goto out;
        int n = snprintf(b, sizeof b, "Fragmented IP protocol (proto=%s %d, off=%d, ID=%04x)", name, p.proto,
                         p.foff * 8, p.ident);
        if (n < 0 || n >= (int)sizeof b || set(ctx, s_info, PyUnicode_FromStringAndSize(b, n)) < 0 ||
            set(ctx, s_depth, PyLong_FromLong(depth)) < 0)
            goto out;
        Py_ssize_t lim = p.end < p.caplen ? p.end : p.caplen;
        if (lim > p.l4) {
            last = p_data;
            if (push(protos, p_data) < 0 || put(f, n_data_data, hexcolon(d + p.l4, lim - p.l4)) < 0 ||
                put(f, n_data_len, PyLong_FromSsize_t(lim - p.l4)) < 0)
                goto out;
        }
        if (set_layer(w, ctx, last) < 0)
            goto out;
        Py_INCREF(Py_True);
        result = Py_True;
        goto out;
    }
    if (p.next == NEXT_IP4 || p.next == NEXT_IP6) { /* (the continuation counts its own depth) */
        if (set(ctx, s_depth, PyLong_FromLong(depth)) < 0 || set_layer(w, ctx, last) < 0)
            goto out;
        result = call_next(p.next == NEXT_IP4 ? w->cont_ip4 : w->cont_ip6, ctx, p.l4, p.end, p.proto, 0, 4);
        goto done;
    }
    depth++;
    if (set(ctx, s_depth, PyLong_FromLong(depth)) < 0)
        goto out;
    const uint8_t *l4 = d + p.l4;
    if (p.l4kind == 112) {
        last = p_vrrp;
        int ver = l4[0] >> 4, t = l4[0] & 15, count = l4[3];
        if (push(protos, p_vrrp) < 0 || set(ctx, s_proto, Py_NewRef(c_vrrp)) < 0 ||
            read_hdr(f, &w->vrrp, l4) < 0)
            goto out;
        PyObject *info = t == 1 ? PyUnicode_FromFormat("Announcement (v%d)", ver)
                                : PyUnicode_FromFormat("Unknown (%d) (v%d)", t, ver);
        if (set(ctx, s_info, info) < 0 || read_hdr(f, ver == 3 ? &w->vrrp3 : &w->vrrp2, l4) < 0)
            goto out;
        for (int i = 0; i < count; i++)
            if (p.l3kind == 6 ? put(f, n_vrrp_ip6, fmt_ip6(l4 + 8 + 16 * i)) < 0
                              : put(f, n_vrrp_ip4, fmt_ip4(l4 + 8 + 4 * i)) < 0)
                goto out;
        if (set_layer(w, ctx, last) < 0)
            goto out;
        result = Py_NewRef(Py_True);
        goto out;
    }
    if (p.l4kind == 2) {
        last = p_igmp;
        int t = l4[0], v = p.igmp_version;
        if (push(protos, p_igmp) < 0 || set(ctx, s_proto, Py_NewRef(w->igmp_versions[v])) < 0 ||
            put(f, n_igmp_version, PyLong_FromLong(v)) < 0 || read_hdr(f, &w->igmp_hdr, l4) < 0 ||
            read_hdr(f, v == 1 ? &w->igmp_v1 : &w->igmp_v12, l4) < 0 ||
            put(f, n_igmp_status, PyLong_FromLong(p.igmp_status)) < 0)
            goto out;
        PyObject *g = fmt_ip4(l4 + 4);
        if (g == NULL || put(f, n_igmp_maddr, Py_NewRef(g)) < 0) {
            Py_XDECREF(g);
            goto out;
        }
        const char *name = PyUnicode_AsUTF8(w->igmp_names[t == 0x11 ? 0 : t == 0x12 ? 1 : t == 0x16 ? 2 : 3]);
        const char *gs = PyUnicode_AsUTF8(g);
        PyObject *info = NULL;
        if (name != NULL && gs != NULL) {
            if (t == 0x11 && v == 2)
                info = strcmp(gs, "0.0.0.0") == 0 ? PyUnicode_FromFormat("%s, general", name)
                                                  : PyUnicode_FromFormat("%s, specific for group %s", name, gs);
            else if (t == 0x16)
                info = PyUnicode_FromFormat("%s group %s", name, gs);
            else if (t == 0x17)
                info = PyUnicode_FromFormat("%s %s", name, gs);
            else
                info = PyUnicode_FromString(name);
        }
        Py_DECREF(g);
        if (set(ctx, s_info, info) < 0 || set_layer(w, ctx, last) < 0)
            goto out;
        result = Py_NewRef(Py_True);
        goto out;
    }
    if (p.l4kind == 6) {
        last = p_tcp;
        int flags = ((l4[12] << 8) | l4[13]) & 0x0FFF;
        if (push(protos, p_tcp) < 0 || set(ctx, s_proto, (Py_INCREF(c_tcp), c_tcp)) < 0 ||
            read_hdr(f, &w->tcp, l4) < 0)
            goto out;
        Py_INCREF(w->flag_strs[flags]);
        if (put(f, n_tcp_flags_str, w->flag_strs[flags]) < 0 || put(f, n_tcp_len, PyLong_FromSsize_t(p.seglen)) < 0)
            goto out;
        if (p.hl > 20 && emit_tcp_options(w, f, d, p.l4 + 20, p.l4 + p.hl) < 0)
            goto out;
        if (p.mptcp && (push(protos, p_mptcp) < 0 || set(ctx, s_proto, (Py_INCREF(c_mptcp), c_mptcp)) < 0))
            goto out;
        if (set(ctx, s_info,
                tcp_info(w, p.sp, p.dp, flags, be(l4 + 4, 4), be(l4 + 8, 4), (l4[14] << 8) | l4[15], p.seglen)) <
            0)
            goto out;
        if (p.payload) {
            int r = payload(w, ctx, f, protos, d, &p, p.l4 + p.hl, 0, n_tcp_payload, w->cont_tcp, &last, &result);
            if (r < 0)
                goto out;
            if (r > 0)
                goto done;
        }
    } else {
        last = p_udp;
        if (push(protos, p_udp) < 0 || set(ctx, s_proto, (Py_INCREF(c_udp), c_udp)) < 0 ||
            read_hdr(f, &w->udp, l4) < 0)
            goto out;
        char b[64];
        int n = snprintf(b, sizeof b, "%d -> %d Len=%d", p.sp, p.dp, p.ulen - 8);
        if (set(ctx, s_info, PyUnicode_FromStringAndSize(b, n)) < 0)
            goto out;
        if (p.payload) {
            int r = payload(w, ctx, f, protos, d, &p, p.l4 + 8, 1, n_udp_payload, w->cont_udp, &last, &result);
            if (r < 0)
                goto out;
            if (r > 0)
                goto done;
        }
    }
    if (set_layer(w, ctx, last) < 0)
        goto out;
    Py_INCREF(Py_True);
    result = Py_True;
    goto out;
done:
    if (result != NULL) {
        Py_DECREF(result);
        Py_INCREF(Py_True);
        result = Py_True;
    }
out:
    Py_XDECREF(protos);
    Py_XDECREF(f);
    Py_DECREF(data);
    return result;
}

/* frame_dict(interface_id, ts_ns, frame_len, cap_len, linktype) -> the engine's frame.* fields, in a dict
 * sized for the whole dissection (engine.run's literal; a negative time is Python's) */
static PyObject *walker_frame_dict(Walker *w, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 5) {
        PyErr_SetString(PyExc_TypeError, "frame_dict(interface_id, ts_ns, frame_len, cap_len, linktype)");
        return NULL;
    }
    long long ts = PyLong_AsLongLong(args[1]);
    if (ts == -1 && PyErr_Occurred())
        return NULL;
    if (ts < 0) {
        PyErr_SetString(PyExc_ValueError, "negative time");
        return NULL;
    }
    char b[48];
    int n = snprintf(b, sizeof b, "%lld.%09lld", ts / 1000000000LL, ts % 1000000000LL);
    PyObject *epoch = PyUnicode_FromStringAndSize(b, n);
    PyObject *d = epoch ? _PyDict_NewPresized(72) : NULL;
    if (d == NULL || PyDict_SetItem(d, n_interface_id, args[0]) < 0 ||
        PyDict_SetItem(d, n_time_epoch, epoch) < 0 || PyDict_SetItem(d, n_frame_len, args[2]) < 0 ||
        PyDict_SetItem(d, n_cap_len, args[3]) < 0 || PyDict_SetItem(d, n_linktype, args[4]) < 0) {
        Py_XDECREF(epoch);
        Py_XDECREF(d);
        return NULL;
    }
    Py_DECREF(epoch);
    return d;
}

/* engine.run's tail for a no-tree dissection with fields: the Info's malformed/truncated suffix, then
 * frame.protocols, the columns and the _ws.* verdicts; ctx.layer back to the frame's node */
static int tail(PyObject *ctx, PyObject *frame_node) {
    int r = -1;
    PyObject *info = get(ctx, s_info), *mal = get(ctx, s_malformed), *trunc = get(ctx, s_truncated);
    PyObject *f = NULL, *protos = NULL, *expert = NULL, *proto = NULL, *joined = NULL;
    if (info == NULL || mal == NULL || trunc == NULL)
        goto end;
    if (set(ctx, s_layer, Py_NewRef(frame_node)) < 0 || set(ctx, s_parent, get(ctx, s_root)) < 0)
        goto end;
    int is_mal = PyObject_IsTrue(mal), is_trunc = PyObject_IsTrue(trunc);
    if (is_mal < 0 || is_trunc < 0)
        goto end;
    if (is_mal) {
        Py_SETREF(info, PyUnicode_Concat(info, s_malformed_suffix));
    } else if (is_trunc) {
        int has = PyUnicode_Contains(info, s_size_limited);
        if (has < 0)
            goto end;
        if (!has)
            Py_SETREF(info, PyUnicode_Concat(info, s_truncated_suffix));
    }
    if (info == NULL || set(ctx, s_info, Py_NewRef(info)) < 0)
        goto end;
    f = get(ctx, s_fields);
    protos = f ? get(ctx, s_protos) : NULL;
    expert = protos ? get(ctx, s_expert) : NULL;
    proto = expert ? get(ctx, s_proto) : NULL;
    if (proto == NULL || !PyDict_Check(f) || !PyList_Check(expert)) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_TypeError, "ctx.fields / ctx.expert");
        goto end;
    }
    joined = PyUnicode_Join(s_colon, protos);
    if (joined == NULL || PyDict_SetItem(f, n_protocols, joined) < 0 || PyDict_SetItem(f, n_col_protocol, proto) < 0 ||
        PyDict_SetItem(f, n_col_info, info) < 0)
        goto end;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(expert); i++)
        if (put(f, n_expert, Py_NewRef(PyList_GET_ITEM(expert, i))) < 0)
            goto end;
    if (is_mal && put(f, n_malformed, Py_NewRef(mal)) < 0)
        goto end;
    if (is_trunc && put(f, n_truncated, PyLong_FromLong(1)) < 0)
        goto end;
    r = 0;
end:
    Py_XDECREF(info);
    Py_XDECREF(mal);
    Py_XDECREF(trunc);
    Py_XDECREF(f);
    Py_XDECREF(protos);
    Py_XDECREF(expert);
    Py_XDECREF(proto);
    Py_XDECREF(joined);
    return r;
}

/* walk(ctx, wire_length, sized=False, frame_node=None) -> True (dissected, continuation included), 2 (the
 * same, and engine.run's tail done too: frame_node given), or None (declined: nothing changed) */
static PyObject *walker_walk(Walker *w, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs < 2 || nargs > 4) {
        PyErr_SetString(PyExc_TypeError, "walk(ctx, wire_length, sized=False, frame_node=None)");
        return NULL;
    }
    PyObject *r = walk_impl(w, args, nargs);
    if (r != Py_True || nargs < 4 || args[3] == Py_None)
        return r;
    Py_DECREF(r);
    if (tail(args[0], args[3]) < 0)
        return NULL;
    return PyLong_FromLong(2);
}

static PyMethodDef walker_methods[] = {
    {"frame_dict", (PyCFunction)(void (*)(void))walker_frame_dict, METH_FASTCALL,
     "frame_dict(interface_id, ts_ns, frame_len, cap_len, linktype) -> dict (sized for the dissection)"},
    {"walk", (PyCFunction)(void (*)(void))walker_walk, METH_FASTCALL,
     "walk(ctx, wire_length, sized=False, frame_node=None) -> True | 2 (tail done) | None (declined)"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject WalkerType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "sniffer.decode._fastfields.Walker",
    .tp_basicsize = sizeof(Walker),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "The L2-L4 layers of the full dissection (docs/decode.md)",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)walker_init,
    .tp_dealloc = (destructor)walker_dealloc,
    .tp_methods = walker_methods,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "sniffer.decode._fastfields",
    "Native accelerator of the full dissection's L2-L4 layers (docs/decode.md)", -1, NULL,
};

#define INTERN(var, text)                                                                                  \
    do {                                                                                                   \
        if ((var = PyUnicode_InternFromString(text)) == NULL)                                             \
            return NULL;                                                                                   \
    } while (0)

PyMODINIT_FUNC PyInit__fastfields(void) {
    INTERN(s_data, "data");
    INTERN(s_fields, "fields");
    INTERN(s_protos, "protos");
    INTERN(s_proto, "proto");
    INTERN(s_info, "info");
    INTERN(s_src, "src");
    INTERN(s_dst, "dst");
    INTERN(s_pseudo, "pseudo");
    INTERN(s_frag, "frag");
    INTERN(s_hlim, "hlim");
    INTERN(s_depth, "depth");
    INTERN(s_layer, "layer");
    INTERN(s_root, "root");
    INTERN(s_parent, "parent");
    INTERN(s_malformed, "malformed");
    INTERN(s_truncated, "truncated");
    INTERN(s_expert, "expert");
    INTERN(s_malformed_suffix, "[Malformed Packet]");
    INTERN(s_truncated_suffix, "[Packet size limited during capture]");
    INTERN(s_size_limited, "Packet size limited");
    INTERN(s_colon, ":");
    INTERN(n_protocols, "frame.protocols");
    INTERN(n_col_protocol, "_ws.col.Protocol");
    INTERN(n_col_info, "_ws.col.Info");
    INTERN(n_expert, "_ws.expert");
    INTERN(n_malformed, "_ws.malformed");
    INTERN(n_truncated, "_ws.truncated");
    INTERN(n_eth_type, "eth.type");
    INTERN(n_ip_version, "ip.version");
    INTERN(n_ipv6_addr, "ipv6.addr");
    INTERN(n_tcp_flags_str, "tcp.flags.str");
    INTERN(n_tcp_len, "tcp.len");
    INTERN(n_tcp_options, "tcp.options");
    INTERN(n_opt_kind, "tcp.option_kind");
    INTERN(n_opt_len, "tcp.option_len");
    INTERN(n_mss_val, "tcp.options.mss_val");
    INTERN(n_wscale_shift, "tcp.options.wscale.shift");
    INTERN(n_wscale_mult, "tcp.options.wscale.multiplier");
    INTERN(n_sack_le, "tcp.options.sack_le");
    INTERN(n_sack_re, "tcp.options.sack_re");
    INTERN(n_tsval, "tcp.options.timestamp.tsval");
    INTERN(n_tsecr, "tcp.options.timestamp.tsecr");
    INTERN(n_tcp_payload, "tcp.payload");
    INTERN(n_udp_payload, "udp.payload");
    INTERN(p_eth, "eth");
    INTERN(p_ethertype, "ethertype");
    INTERN(p_ip, "ip");
    INTERN(p_ipv6, "ipv6");
    INTERN(p_tcp, "tcp");
    INTERN(p_udp, "udp");
    INTERN(c_ethernet, "Ethernet");
    INTERN(c_ipv4, "IPv4");
    INTERN(c_ipv6, "IPv6");
    INTERN(c_tcp, "TCP");
    INTERN(c_udp, "UDP");
    INTERN(c_mptcp, "MPTCP");
    INTERN(p_mptcp, "mptcp");
    INTERN(p_data, "data");
    INTERN(n_data_data, "data.data");
    INTERN(n_data_len, "data.len");
    INTERN(n_ip_opt_type, "ip.opt.type");
    INTERN(n_interface_id, "frame.interface_id");
    INTERN(p_igmp, "igmp");
    INTERN(p_vrrp, "vrrp");
    INTERN(c_vrrp, "VRRP");
    INTERN(n_vrrp_ip4, "vrrp.ip_addr");
    INTERN(n_vrrp_ip6, "vrrp.ipv6_addr");
    INTERN(n_igmp_version, "igmp.version");
    INTERN(n_igmp_status, "igmp.checksum.status");
    INTERN(n_igmp_maddr, "igmp.maddr");
    INTERN(n_time_epoch, "frame.time_epoch");
    INTERN(n_frame_len, "frame.len");
    INTERN(n_cap_len, "frame.cap_len");
    INTERN(n_linktype, "frame.linktype");
    INTERN(n_ip_opt_len, "ip.opt.len");
    INTERN(n_ip_opt_ra, "ip.opt.ra");
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
