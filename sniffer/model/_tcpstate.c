/*
 * The native core of model/tcpanalysis.py's TcpAnalyzer (its pure-Python code stays the reference and runs
 * where this is not built; tests/model/test_tcpstate_native.py compares the two frame for frame on every
 * corpus capture with TCP, on crafted sequences and on mutated ones).
 *
 * Core(max_conversations) holds the per-conversation state of ``TcpAnalyzer._start``/``_sequence`` (a hash
 * table of conversations in least-recently-used order, each direction with its unacknowledged segments)
 * and answers:
 *   analyze(number, ts, src, dst, sport, dport, seq, ack, flags, window, seglen, wscale, sack) -> dict
 *       ``TcpAnalyzer.analyze``: the same extra fields, in the same order;
 *   flags(number, ts, src, dst, sport, dport, seq, ack, flags, window, seglen, wscale) -> int
 *       ``feed_flags``' answer for a placed segment (its flags-only mode: no segments kept);
 *   frame(number, frame, flags_only) -> dict | int | None | FRAGMENT | UNKNOWN
 *       ``fast_segment(frame)`` read in C and, for a TCP segment, analysed at once.
 * Conversations are keyed by the addresses' bytes: ``src``/``dst`` are (``"ip"``|``"ipv6"``, text) as
 * ``fast_segment`` and ``segment`` give them. Everything named by Python (the "[TCP ...]" table, the expert
 * messages and severities, the ethertype/protocol/port tables, FRAGMENT and UNKNOWN) comes from
 * ``setup(...)`` once, from tcpanalysis.py's declarations.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>

#include "../_native.h"

#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_PUSH 0x08
#define TH_ACK 0x10

#define A_RETRANSMISSION 0x0001
#define A_LOST_PACKET 0x0002
#define A_ACK_LOST_PACKET 0x0004
#define A_KEEP_ALIVE 0x0008
#define A_DUPLICATE_ACK 0x0010
#define A_ZERO_WINDOW 0x0020
#define A_ZERO_WINDOW_PROBE 0x0040
#define A_ZERO_WINDOW_PROBE_ACK 0x0080
#define A_KEEP_ALIVE_ACK 0x0100
#define A_OUT_OF_ORDER 0x0200
#define A_FAST_RETRANSMISSION 0x0400
#define A_WINDOW_UPDATE 0x0800
#define A_WINDOW_FULL 0x1000
#define A_REUSED_PORTS 0x2000
#define A_SPURIOUS_RETRANSMISSION 0x4000

/* ---------------------------------------------------------------------------------------------- setup */

static long max_unacked = 10000, ooo_threshold_ns = 3000000, fast_retrans_ns = 20000000;
/* the "[TCP ...]" table: (bit, field, prefix, ((message, severity), ...)) in Wireshark's order */
#define MAXPRINT 32
static int nprint;
static long print_bit[MAXPRINT];
static PyObject *print_field[MAXPRINT], *print_prefix[MAXPRINT], *print_msgs[MAXPRINT];
/* the analysis' own expert items: texts (the SYN/SYN+ACK ones end before the port) and severities */
enum { M_SYN, M_SYNACK, M_FIN, M_FIN_ACTIVE, M_FIN_PASSIVE, M_RST, M_DSACK, M_DUPACK, NMSG };
static PyObject *msg_text[NMSG];
static long msg_sev[NMSG];
static long pi_sequence;
/* inet.TCP_FLAG_NAMES */
#define MAXFLAGNAMES 16
static int nflagnames;
static long flag_bits[MAXFLAGNAMES];
static PyObject *flag_names[MAXFLAGNAMES];
static PyObject *o_fragment, *o_unknown, *o_ip, *o_ipv6;
static uint8_t t_vlan[65536], t_not_ip[65536], t_tunnel[65536], t_v6ext[256], t_not_tcp[256];
/* the encapsulations the header read walks into, while their registered dissectors are the ones it copies
 * (tcpanalysis._native_core checks): TUN_* bits */
#define TUN_PPPOE 1
#define TUN_PBB 2
#define TUN_MPLS 4
#define TUN_GRE 8
#define TUN_GRE_ETH 16
#define TUN_AH 32
#define TUN_IPIP 64
#define TUN_VXLAN 128
#define TUN_GENEVE 256
#define TUN_GRE_UDP 512
#define TUN_AYIYA 1024
static long tunnels;
/* the UDP ports with a dissector (inet.udp_payload tries the lower port's first), and the decoder's bound
 * UDP conversations (UDP_CONVERSATIONS.map: while any is bound, a tunnel's datagram is the decoder's) */
static uint8_t t_udp_port[65536];
static PyObject *udp_conversations;

enum {
    K_TIME_REL, K_TIME_DELTA, K_SEQ, K_ACK, K_NXTSEQ, K_WIN, K_WINSCALE, K_SYNACK, K_SYN, K_FIN, K_FIN_ACTIVE,
    K_FIN_PASSIVE, K_RST, K_DSACK, K_FLAGS, K_RETRANS, K_RTO, K_RTO_FRAME, K_DUPNUM, K_DUPFRAME, K_ACKS_FRAME,
    K_ACK_RTT, K_IRTT, K_BIF, K_PUSH, K_EMSG, K_ESEV, K_EGROUP, K_PREFIX, K_AFLAGS, K_RAW, K_ADDR, NKEY
};
static const char *key_names[NKEY] = {
    "tcp.time_relative", "tcp.time_delta", "tcp.seq", "tcp.ack", "tcp.nxtseq", "tcp.window_size",
    "tcp.window_size_scalefactor", "tcp.connection.synack", "tcp.connection.syn", "tcp.connection.fin",
    "tcp.connection.fin_active", "tcp.connection.fin_passive", "tcp.connection.rst", "tcp.options.sack.dsack",
    "tcp.analysis.flags", "tcp.analysis.retransmission", "tcp.analysis.rto", "tcp.analysis.rto_frame",
    "tcp.analysis.duplicate_ack_num", "tcp.analysis.duplicate_ack_frame", "tcp.analysis.acks_frame",
    "tcp.analysis.ack_rtt", "tcp.analysis.initial_rtt", "tcp.analysis.bytes_in_flight",
    "tcp.analysis.push_bytes_sent", "_ws.expert.message", "_ws.expert.severity", "_ws.expert.group",
    "_tcp.prefix", "_tcp.flags", "_tcp.raw", "_tcp.addr"};
static PyObject *keys[NKEY];
static int ready;

#define byte_table native_byte_table

/* setup(print_table, messages, severities, pi_sequence, limits, fragment, unknown, vlan_types,
 *       not_ip_ethertypes, tunnel_udp_ports, ipv6_ext, not_tcp, tcp_flag_names, tunnels, udp_ports,
 *       udp_conversations) -> None
 * messages/severities: NMSG items in the enum's order; limits: (max_unacked, ooo_threshold_ns,
 * fast_retrans_ns) */
static PyObject *mod_setup(PyObject *self, PyObject *args) {
    PyObject *table, *msgs, *sevs, *limits, *frag, *unk, *vlan, *not_ip, *tunnel, *v6ext, *not_tcp, *fnames, *uports,
        *uconv;
    long seqgroup, tun;
    if (!PyArg_ParseTuple(args, "OOOlOOOOOOOOO!lOO!", &table, &msgs, &sevs, &seqgroup, &limits, &frag, &unk, &vlan,
                          &not_ip, &tunnel, &v6ext, &not_tcp, &PyTuple_Type, &fnames, &tun, &uports, &PyDict_Type,
                          &uconv))
        return NULL;
    if (byte_table(uports, t_udp_port, 65536) < 0)
        return NULL;
    Py_XSETREF(udp_conversations, Py_NewRef(uconv));
    tunnels = tun;
    if (PyTuple_GET_SIZE(fnames) > MAXFLAGNAMES) {
        PyErr_SetString(PyExc_ValueError, "setup: too many TCP flag names");
        return NULL;
    }
    for (int i = 0; i < nflagnames; i++)
        Py_CLEAR(flag_names[i]);
    nflagnames = 0;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(fnames); i++) {
        PyObject *nm;
        if (!PyArg_ParseTuple(PyTuple_GET_ITEM(fnames, i), "lU", &flag_bits[i], &nm))
            return NULL;
        flag_names[i] = Py_NewRef(nm);
        nflagnames++;
    }
    if (!PyTuple_Check(table) || PyTuple_GET_SIZE(table) > MAXPRINT || !PyTuple_Check(msgs) ||
        PyTuple_GET_SIZE(msgs) != NMSG || !PyTuple_Check(sevs) || PyTuple_GET_SIZE(sevs) != NMSG ||
        !PyArg_ParseTuple(limits, "lll", &max_unacked, &ooo_threshold_ns, &fast_retrans_ns)) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_TypeError, "setup: tables of the wrong shape");
        return NULL;
    }
    if (byte_table(vlan, t_vlan, 65536) < 0 || byte_table(not_ip, t_not_ip, 65536) < 0 ||
        byte_table(tunnel, t_tunnel, 65536) < 0 || byte_table(v6ext, t_v6ext, 256) < 0 ||
        byte_table(not_tcp, t_not_tcp, 256) < 0)
        return NULL;
    for (int i = 0; i < nprint; i++) {
        Py_CLEAR(print_field[i]);
        Py_CLEAR(print_prefix[i]);
        Py_CLEAR(print_msgs[i]);
    }
    nprint = 0;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(table); i++) {
        PyObject *f, *p, *m;
        long bit;
        if (!PyArg_ParseTuple(PyTuple_GET_ITEM(table, i), "lUUO!", &bit, &f, &p, &PyTuple_Type, &m))
            return NULL;
        print_bit[nprint] = bit;
        print_field[nprint] = Py_NewRef(f);
        print_prefix[nprint] = Py_NewRef(p);
        print_msgs[nprint] = Py_NewRef(m);
        nprint++;
    }
    for (int i = 0; i < NMSG; i++) {
        PyObject *m = PyTuple_GET_ITEM(msgs, i);
        if (!PyUnicode_Check(m)) {
            PyErr_SetString(PyExc_TypeError, "setup: the messages are strings");
            return NULL;
        }
        Py_XSETREF(msg_text[i], Py_NewRef(m));
        msg_sev[i] = PyLong_AsLong(PyTuple_GET_ITEM(sevs, i));
        if (msg_sev[i] == -1 && PyErr_Occurred())
            return NULL;
    }
    pi_sequence = seqgroup;
    Py_XSETREF(o_fragment, Py_NewRef(frag));
    Py_XSETREF(o_unknown, Py_NewRef(unk));
    if (o_ip == NULL && ((o_ip = PyUnicode_InternFromString("ip")) == NULL ||
                         (o_ipv6 = PyUnicode_InternFromString("ipv6")) == NULL))
        return NULL;
    for (int i = 0; i < NKEY; i++)
        if (keys[i] == NULL && (keys[i] = PyUnicode_InternFromString(key_names[i])) == NULL)
            return NULL;
    ready = 1;
    Py_RETURN_NONE;
}

static int not_ready(void) {
    if (!ready)
        PyErr_SetString(PyExc_RuntimeError, "_tcpstate.setup first");
    return !ready;
}

/* ------------------------------------------------------------------------------------ the state */

typedef struct {
    int64_t frame, ts;
    uint32_t seq, nseq;
} Seg;

typedef struct {
    uint32_t base_seq, nextseq, maxseqtobeacked, lastack;
    int base_set, window_syn, win_scale, valid_bif, push_set_last;
    long lastsegmentflags;
    int64_t nextseqframe, nextseqtime, lastacktime, lastnondupack, dupacknum, window, push_bytes_sent, sacked;
    Seg *segs; /* unacknowledged segments, oldest first (Python keeps them newest first) */
    Py_ssize_t nsegs, cap;
} Flow;

typedef struct {
    uint8_t fam[2];
    uint8_t addr[2][16];
    uint16_t port[2];
} Key;

typedef struct Conv {
    Key key;
    Flow flow[2]; /* flow1, flow2 */
    int64_t first_ns, prev_ns, mru_syn, first_rtt;
    int fin; /* -1 none, else the index of the side that sent the first FIN */
    struct Conv *prev, *next, *hnext; /* LRU order (head: the least recently used), hash chain */
    uint64_t hash;
} Conv;

typedef struct {
    PyObject_HEAD Conv **buckets;
    size_t nbuckets, count, max;
    Conv *head, *tail;
    Py_ssize_t forgotten;
} Core;

static void flow_init(Flow *f) {
    free(f->segs);
    memset(f, 0, sizeof(*f));
    f->window_syn = 1;
    f->win_scale = -1;
    f->valid_bif = 1;
}

static void conv_init(Conv *c, int64_t ts) {
    flow_init(&c->flow[0]);
    flow_init(&c->flow[1]);
    c->first_ns = c->prev_ns = ts;
    c->mru_syn = c->first_rtt = 0;
    c->fin = -1;
}

static uint64_t key_hash(const Key *k) {
    uint64_t h = 1469598103934665603ULL;
    const uint8_t *p = (const uint8_t *)k;
    for (size_t i = 0; i < sizeof(Key); i++)
        h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}

static void lru_unlink(Core *c, Conv *v) {
    if (v->prev)
        v->prev->next = v->next;
    else
        c->head = v->next;
    if (v->next)
        v->next->prev = v->prev;
    else
        c->tail = v->prev;
    v->prev = v->next = NULL;
}

static void lru_append(Core *c, Conv *v) {
    v->prev = c->tail;
    v->next = NULL;
    if (c->tail)
        c->tail->next = v;
    else
        c->head = v;
    c->tail = v;
}

static void conv_free(Conv *v) {
    free(v->flow[0].segs);
    free(v->flow[1].segs);
    free(v);
}

static int grow(Core *c) {
    size_t nb = c->nbuckets ? c->nbuckets * 2 : 1024;
    Conv **b = calloc(nb, sizeof(Conv *));
    if (b == NULL)
        return -1;
    for (size_t i = 0; i < c->nbuckets; i++) {
        Conv *v = c->buckets[i];
        while (v) {
            Conv *nx = v->hnext;
            size_t j = v->hash & (nb - 1);
            v->hnext = b[j];
            b[j] = v;
            v = nx;
        }
    }
    free(c->buckets);
    c->buckets = b;
    c->nbuckets = nb;
    return 0;
}

static void hash_remove(Core *c, Conv *v) {
    Conv **pp = &c->buckets[v->hash & (c->nbuckets - 1)];
    while (*pp != v)
        pp = &(*pp)->hnext;
    *pp = v->hnext;
}

/* the conversation of key k, a new one when absent (*created set), NULL on memory error */
static Conv *lookup(Core *c, const Key *k, int64_t ts, int *created) {
    uint64_t h = key_hash(k);
    *created = 0;
    if (c->nbuckets) {
        for (Conv *v = c->buckets[h & (c->nbuckets - 1)]; v; v = v->hnext)
            if (v->hash == h && memcmp(&v->key, k, sizeof(Key)) == 0) {
                lru_unlink(c, v); /* move_to_end */
                lru_append(c, v);
                return v;
            }
    }
    if ((c->count + 1) * 4 > c->nbuckets * 3 && grow(c) < 0)
        return NULL;
    Conv *v = calloc(1, sizeof(Conv));
    if (v == NULL)
        return NULL;
    v->key = *k;
    v->hash = h;
    conv_init(v, ts);
    size_t j = h & (c->nbuckets - 1);
    v->hnext = c->buckets[j];
    c->buckets[j] = v;
    lru_append(c, v);
    c->count++;
    *created = 1;
    if (c->count > c->max) { /* popitem(last=False) */
        Conv *old = c->head;
        lru_unlink(c, old);
        hash_remove(c, old);
        conv_free(old);
        c->count--;
        c->forgotten++;
    }
    return v;
}

/* ------------------------------------------------------------------------------ the segment */

typedef struct {
    uint8_t fam[2]; /* 4 or 6 */
    uint8_t addr[2][16];
    PyObject *src, *dst; /* the (name, text) objects, borrowed; NULL: made from fam/addr when needed */
    long sport, dport;
    uint32_t seq, ack;
    long flags, window;
    int64_t seglen;
    long wscale; /* -1: none */
    Py_ssize_t nsack;
    uint32_t sack_le0;
    int64_t sack_sum;
} SegIn;


static inline int gt(uint32_t a, uint32_t b) {
    uint32_t d = a - b;
    return d != 0 && d < 0x80000000u;
}
static inline int lt(uint32_t a, uint32_t b) { return gt(b, a); }

/* (name, text) -> family and address bytes. Any other object (a caller's own address values) is keyed by
 * two 64-bit hashes of its repr (family 0xFF); -1 on error */
static int parse_addr(PyObject *o, uint8_t *fam, uint8_t *addr) {
    memset(addr, 0, 16);
    if (PyTuple_Check(o) && PyTuple_GET_SIZE(o) == 2 && PyUnicode_Check(PyTuple_GET_ITEM(o, 0)) &&
        PyUnicode_Check(PyTuple_GET_ITEM(o, 1))) {
        PyObject *name = PyTuple_GET_ITEM(o, 0);
        const char *t = PyUnicode_AsUTF8(PyTuple_GET_ITEM(o, 1));
        if (t == NULL)
            return -1;
        if (PyUnicode_CompareWithASCIIString(name, "ip") == 0 && inet_pton(AF_INET, t, addr) == 1) {
            *fam = 4;
            return 0;
        }
        if (PyUnicode_CompareWithASCIIString(name, "ipv6") == 0 && inet_pton(AF_INET6, t, addr) == 1) {
            *fam = 6;
            return 0;
        }
        memset(addr, 0, 16);
    }
    PyObject *r = PyObject_Repr(o);
    if (r == NULL)
        return -1;
    Py_ssize_t n;
    const char *t = PyUnicode_AsUTF8AndSize(r, &n);
    if (t == NULL) {
        Py_DECREF(r);
        return -1;
    }
    uint64_t h1 = 1469598103934665603ULL, h2 = 0x9E3779B97F4A7C15ULL ^ (uint64_t)n;
    for (Py_ssize_t i = 0; i < n; i++) {
        h1 = (h1 ^ (uint8_t)t[i]) * 1099511628211ULL;
        h2 = (h2 + (uint8_t)t[i]) * 0xBF58476D1CE4E5B9ULL;
        h2 ^= h2 >> 31;
    }
    Py_DECREF(r);
    memcpy(addr, &h1, 8);
    memcpy(addr + 8, &h2, 8);
    *fam = 0xFF;
    return 0;
}

/* Python's per-frame answer of _sequence (its "ta" list) */
typedef struct {
    long flags;
    int64_t acks_frame, ack_rtt, dupnum, dupframe, bif, rto, rto_frame, push;
    int has;
} Ta;

static int seg_push(Flow *f, int64_t frame, uint32_t seq, uint32_t nseq, int64_t ts) {
    if (f->nsegs == f->cap) {
        Py_ssize_t cap = f->cap ? f->cap * 2 : 8;
        if (cap > max_unacked)
            cap = max_unacked;
        Seg *s = realloc(f->segs, (size_t)cap * sizeof(Seg));
        if (s == NULL)
            return -1;
        f->segs = s;
        f->cap = cap;
    }
    f->segs[f->nsegs++] = (Seg){frame, ts, seq, nseq};
    return 0;
}

/* TcpAnalyzer._start: the conversation, sending and receiving sides, A_REUSED_PORTS */
static Conv *start(Core *c, const SegIn *s, int64_t ts, Flow **fwd, Flow **rev, long *aflags, int *fwd_i) {
    Key k;
    memset(&k, 0, sizeof(k));
    int cmp = memcmp(&s->fam[0], &s->fam[1], 1);
    if (cmp == 0)
        cmp = memcmp(s->addr[0], s->addr[1], 16);
    int forward = cmp < 0 || (cmp == 0 && s->sport <= s->dport);
    int a = forward ? 0 : 1;
    k.fam[0] = s->fam[a];
    k.fam[1] = s->fam[1 - a];
    memcpy(k.addr[0], s->addr[a], 16);
    memcpy(k.addr[1], s->addr[1 - a], 16);
    k.port[0] = (uint16_t)(forward ? s->sport : s->dport);
    k.port[1] = (uint16_t)(forward ? s->dport : s->sport);
    int created;
    Conv *v = lookup(c, &k, ts, &created);
    if (v == NULL)
        return NULL;
    *aflags = 0;
    int fi = forward ? 0 : 1;
    if (!created) {
        Flow *f0 = &v->flow[fi];
        if ((s->flags & (TH_SYN | TH_ACK)) == TH_SYN && f0->base_set && s->seq != f0->base_seq) {
            conv_init(v, ts); /* a new connection on the same ports */
            *aflags |= A_REUSED_PORTS;
        }
    }
    Flow *f = &v->flow[fi], *r = &v->flow[1 - fi];
    long fa = s->flags & (TH_SYN | TH_ACK);
    if (fa == TH_ACK && v->mru_syn && !v->first_rtt)
        v->first_rtt = ts - v->mru_syn;
    if (s->flags & TH_SYN) {
        if (fa == TH_SYN)
            v->mru_syn = ts;
        if (s->wscale >= 0)
            f->win_scale = s->wscale < 14 ? (int)s->wscale : 14;
        if (f->win_scale == -1)
            f->win_scale = r->win_scale = -2;
        else if (fa == (TH_SYN | TH_ACK) && r->win_scale == -2)
            f->win_scale = -2;
    }
    *fwd = f;
    *rev = r;
    *fwd_i = fi;
    return v;
}

/* TcpAnalyzer._sequence (track: keep the unacknowledged segments); -1 on memory error */
static int sequence(int64_t number, int64_t ts, const SegIn *s, Conv *conv, Flow *fwd, Flow *rev, long aflags,
                    int track, Ta *ta) {
    uint32_t seq = s->seq, ack = s->ack;
    long flags = s->flags, window = s->window;
    int64_t seglen = s->seglen;
    memset(ta, 0, sizeof(*ta));
    ta->flags = aflags;
    ta->has = aflags != 0;
    if (!fwd->base_set) {
        fwd->base_seq = flags & TH_SYN ? seq : seq - 1;
        fwd->base_set = 1;
    }
    if (!rev->base_set && flags & TH_ACK) {
        rev->base_seq = ack - 1;
        rev->base_set = 1;
    }
    if (flags & TH_ACK)
        rev->valid_bif = 1;
    uint32_t nextseq = fwd->nextseq;
    int no_sfr = !(flags & (TH_SYN | TH_FIN | TH_RST));
    int checked = 0;
    if (seglen == 1 && seq == nextseq && rev->window == 0) {
        ta->flags |= A_ZERO_WINDOW_PROBE;
        ta->has = 1;
        checked = 1;
    }
    if (!checked) {
        if (window == 0 && no_sfr) {
            ta->flags |= A_ZERO_WINDOW;
            ta->has = 1;
        }
        if (nextseq && gt(seq, nextseq) && !(flags & TH_RST)) {
            ta->flags |= A_LOST_PACKET;
            ta->has = 1;
            fwd->valid_bif = 0;
        }
        if (seglen <= 1 && seq == nextseq - 1 && no_sfr) {
            ta->flags |= A_KEEP_ALIVE;
            ta->has = 1;
        }
        if (seglen == 0 && window && window != fwd->window && seq == nextseq && ack == fwd->lastack && no_sfr) {
            ta->flags |= A_WINDOW_UPDATE;
            ta->has = 1;
        }
        if (seglen > 0 && rev->win_scale != -1 && no_sfr) {
            int shift = rev->window_syn || rev->win_scale == -2 ? 0 : rev->win_scale;
            if ((uint32_t)(seq + (uint64_t)seglen) == (uint32_t)(rev->lastack + ((uint64_t)rev->window << shift))) {
                ta->flags |= A_WINDOW_FULL;
                ta->has = 1;
            }
        }
        int same = seglen == 0 && window == fwd->window && seq == nextseq && no_sfr;
        if (same && window && ack == fwd->lastack && rev->lastsegmentflags & A_KEEP_ALIVE) {
            ta->flags |= A_KEEP_ALIVE_ACK;
            ta->has = 1;
            checked = 1;
        } else if (same && window == 0 && (ack == fwd->lastack || ack == fwd->lastack + 1) &&
                   rev->lastsegmentflags & A_ZERO_WINDOW_PROBE) {
            ta->flags |= A_ZERO_WINDOW_PROBE_ACK;
            ta->has = 1;
            if (ack == fwd->lastack + 1)
                rev->nextseq = rev->maxseqtobeacked = ack;
            checked = 1;
        } else if (same && window && ack == fwd->lastack) {
            fwd->dupacknum++;
            ta->flags |= A_DUPLICATE_ACK;
            ta->has = 1;
            ta->dupnum = fwd->dupacknum;
            ta->dupframe = fwd->lastnondupack;
        }
    }
    int ack_changed = ack != fwd->lastack;
    if (ack_changed) {
        fwd->lastnondupack = number;
        fwd->dupacknum = 0;
    }
    if (rev->maxseqtobeacked && gt(ack, rev->maxseqtobeacked) && flags & TH_ACK) {
        if (ack_changed)
            ta->flags |= A_ACK_LOST_PACKET;
        ta->has = 1;
        rev->maxseqtobeacked = rev->nextseq;
    }
    if (seglen > 0 || flags & (TH_SYN | TH_FIN)) {
        int not_advanced = nextseq && lt(seq, nextseq);
        if (ta->flags & A_KEEP_ALIVE) {
        } else if (seglen > 0 && rev->lastack && !gt((uint32_t)(seq + (uint64_t)seglen), rev->lastack)) {
            ta->flags |= A_SPURIOUS_RETRANSMISSION;
            ta->has = 1;
        } else if (not_advanced && rev->dupacknum >= 2 && rev->lastack == seq && ts - rev->lastacktime >= 0 &&
                   ts - rev->lastacktime < fast_retrans_ns) {
            ta->flags |= A_FAST_RETRANSMISSION;
            ta->has = 1;
        } else {
            int64_t thres = conv->first_rtt ? conv->first_rtt : ooo_threshold_ns;
            uint32_t synfin = flags & (TH_SYN | TH_FIN) ? 1 : 0;
            if (not_advanced && ts - fwd->nextseqtime >= 0 && ts - fwd->nextseqtime < thres &&
                nextseq != (uint32_t)(seq + (uint64_t)seglen + synfin)) {
                ta->flags |= A_OUT_OF_ORDER;
                ta->has = 1;
            } else if (not_advanced) {
                ta->flags |= A_RETRANSMISSION;
                ta->has = 1;
                ta->rto = ts - fwd->nextseqtime;
                ta->rto_frame = fwd->nextseqframe;
            }
        }
    }
    uint32_t nseq = (uint32_t)(seq + (uint64_t)seglen);
    if (seglen || flags & (TH_SYN | TH_FIN)) {
        if (flags & (TH_SYN | TH_FIN))
            nseq += 1;
        if (track && fwd->nsegs < max_unacked && seg_push(fwd, number, seq, nseq, ts) < 0)
            return -1;
    }
    long zwp = ta->flags & A_ZERO_WINDOW_PROBE;
    if (gt(nseq, fwd->nextseq) || !fwd->nextseq) {
        if (!zwp) {
            fwd->nextseq = nseq;
            fwd->nextseqframe = number;
            fwd->nextseqtime = ts;
        }
    }
    if (seq == fwd->maxseqtobeacked || !fwd->maxseqtobeacked) {
        if (!zwp)
            fwd->maxseqtobeacked = fwd->nextseq;
    }
    fwd->window = window;
    fwd->window_syn = (flags & TH_SYN) != 0;
    fwd->lastack = ack;
    fwd->lastacktime = ts;
    fwd->lastsegmentflags = ta->flags;
    if (!track)
        return 0;
    /* drop what this ACKs in the other direction (newest first, as Python walks them); an exact match
     * gives the RTT (the oldest exact match: the last one of that walk) */
    if (rev->nsegs) {
        Py_ssize_t w = rev->nsegs;
        for (Py_ssize_t i = rev->nsegs - 1; i >= 0; i--) {
            Seg sg = rev->segs[i];
            if (ack == sg.nseq) {
                ta->has = 1;
                ta->acks_frame = sg.frame;
                ta->ack_rtt = ts - sg.ts;
                continue; /* dropped */
            }
            if (gt(ack, sg.seq) && !gt(ack, sg.nseq))
                sg.seq = ack;
            else if (!gt(sg.nseq, ack))
                continue; /* dropped */
            rev->segs[--w] = sg; /* kept: compacted towards the end, order kept */
        }
        Py_ssize_t kept = rev->nsegs - w;
        if (w)
            memmove(rev->segs, rev->segs + w, (size_t)kept * sizeof(Seg));
        rev->nsegs = kept;
    }
    if (seglen && fwd->nsegs && fwd->valid_bif) {
        uint32_t base = fwd->base_seq;
        uint32_t first = fwd->segs[fwd->nsegs - 1].seq - base, last = fwd->segs[fwd->nsegs - 1].nseq - base;
        for (Py_ssize_t i = 0; i < fwd->nsegs; i++) {
            uint32_t a = fwd->segs[i].seq - base, b = fwd->segs[i].nseq - base;
            if (b > last)
                last = b;
            if (a < first)
                first = a;
        }
        int64_t in_flight = (uint32_t)(last - first);
        if (flags & (TH_SYN | TH_FIN))
            in_flight -= 1;
        if (0 < in_flight && in_flight < 2000000000) {
            ta->has = 1;
            long psh = flags & TH_PUSH;
            if (psh && !fwd->push_set_last) {
                fwd->push_bytes_sent += seglen;
                fwd->push_set_last = 1;
            } else if (psh || fwd->push_set_last) {
                fwd->push_bytes_sent = seglen;
                fwd->push_set_last = psh != 0;
            } else {
                fwd->push_bytes_sent += seglen;
            }
            in_flight = (int64_t)((uint64_t)(in_flight - rev->sacked) & 0xFFFFFFFFu);
            if (0 < in_flight && in_flight < 2000000000) {
                ta->bif = in_flight;
                ta->push = fwd->push_bytes_sent;
            }
        }
    }
    return 0;
}

/* ------------------------------------------------------------------------------ the answers */

static int set_item(PyObject *d, int key, PyObject *v) {
    if (v == NULL)
        return -1;
    int r = PyDict_SetItem(d, keys[key], v);
    Py_DECREF(v);
    return r;
}

static int set_one(PyObject *d, int key) { return set_item(d, key, PyLong_FromLong(1)); }

/* an expert item: message (a new reference, stolen), severity */
static int expert(PyObject *msgs, PyObject *sevs, PyObject *m, long sev) {
    if (m == NULL)
        return -1;
    int r = PyList_Append(msgs, m);
    Py_DECREF(m);
    if (r < 0)
        return -1;
    PyObject *s = PyLong_FromLong(sev);
    if (s == NULL)
        return -1;
    r = PyList_Append(sevs, s);
    Py_DECREF(s);
    return r;
}

static PyObject *addr_obj(uint8_t fam, const uint8_t *a) {
    char buf[INET6_ADDRSTRLEN];
    if (inet_ntop(fam == 4 ? AF_INET : AF_INET6, a, buf, sizeof(buf)) == NULL)
        return PyErr_SetFromErrno(PyExc_OSError);
    PyObject *t = PyUnicode_FromString(buf);
    if (t == NULL)
        return NULL;
    PyObject *r = PyTuple_Pack(2, fam == 4 ? o_ip : o_ipv6, t);
    Py_DECREF(t);
    return r;
}

/* TcpAnalyzer.analyze */
static PyObject *analyze(Core *c, int64_t number, int64_t ts, const SegIn *s) {
    Flow *fwd, *rev;
    long aflags;
    int fi;
    Conv *conv = start(c, s, ts, &fwd, &rev, &aflags, &fi);
    if (conv == NULL)
        return PyErr_NoMemory();
    PyObject *out = PyDict_New(), *msgs = NULL, *sevs = NULL, *prefix = NULL;
    if (out == NULL)
        return NULL;
    if (set_item(out, K_TIME_REL, PyFloat_FromDouble((double)(ts - conv->first_ns) / 1e9)) < 0 ||
        set_item(out, K_TIME_DELTA, PyFloat_FromDouble((double)(ts - conv->prev_ns) / 1e9)) < 0)
        goto fail;
    conv->prev_ns = ts;
    Ta ta;
    if (sequence(number, ts, s, conv, fwd, rev, aflags, 1, &ta) < 0) {
        PyErr_NoMemory();
        goto fail;
    }
    fwd->sacked = s->nsack ? s->sack_sum : 0;
    long flags = s->flags;
    uint32_t rseq = s->seq - fwd->base_seq;
    if (set_item(out, K_SEQ, PyLong_FromUnsignedLong(rseq)) < 0 ||
        set_item(out, K_ACK, PyLong_FromUnsignedLong(flags & TH_ACK ? s->ack - rev->base_seq : s->ack)) < 0)
        goto fail;
    uint32_t nxt = (uint32_t)(s->seglen + (flags & (TH_SYN | TH_FIN) ? 1 : 0));
    if (set_item(out, K_NXTSEQ, PyLong_FromUnsignedLong((uint32_t)(rseq + nxt))) < 0)
        goto fail;
    if (flags & TH_SYN) {
        if (set_item(out, K_WIN, PyLong_FromLong(s->window)) < 0)
            goto fail;
    } else {
        int ws = fwd->win_scale;
        if (set_item(out, K_WIN, PyLong_FromLongLong(ws >= 0 ? (long long)s->window << ws : s->window)) < 0 ||
            set_item(out, K_WINSCALE, PyLong_FromLong(ws >= 0 ? 1L << ws : ws)) < 0)
            goto fail;
    }
    msgs = PyList_New(0);
    sevs = PyList_New(0);
    if (msgs == NULL || sevs == NULL)
        goto fail;
    if (flags & TH_SYN) {
        if (flags & TH_ACK) {
            if (set_one(out, K_SYNACK) < 0 ||
                expert(msgs, sevs, PyUnicode_FromFormat("%U%ld", msg_text[M_SYNACK], s->sport), msg_sev[M_SYNACK]) < 0)
                goto fail;
        } else if (set_one(out, K_SYN) < 0 ||
                   expert(msgs, sevs, PyUnicode_FromFormat("%U%ld", msg_text[M_SYN], s->dport), msg_sev[M_SYN]) < 0)
            goto fail;
    }
    if (flags & TH_FIN) {
        if (set_one(out, K_FIN) < 0 || expert(msgs, sevs, Py_NewRef(msg_text[M_FIN]), msg_sev[M_FIN]) < 0)
            goto fail;
        if (conv->fin < 0 || conv->fin == fi) {
            conv->fin = fi;
            if (set_one(out, K_FIN_ACTIVE) < 0 ||
                expert(msgs, sevs, Py_NewRef(msg_text[M_FIN_ACTIVE]), msg_sev[M_FIN_ACTIVE]) < 0)
                goto fail;
        } else if (set_one(out, K_FIN_PASSIVE) < 0 ||
                   expert(msgs, sevs, Py_NewRef(msg_text[M_FIN_PASSIVE]), msg_sev[M_FIN_PASSIVE]) < 0)
            goto fail;
    }
    if (flags & TH_RST) {
        if (set_one(out, K_RST) < 0 || expert(msgs, sevs, Py_NewRef(msg_text[M_RST]), msg_sev[M_RST]) < 0)
            goto fail;
    }
    if (s->nsack && flags & TH_ACK && lt(s->sack_le0, s->ack)) {
        if (set_one(out, K_DSACK) < 0 || expert(msgs, sevs, Py_NewRef(msg_text[M_DSACK]), msg_sev[M_DSACK]) < 0)
            goto fail;
    }
    prefix = PyUnicode_FromStringAndSize(NULL, 0);
    if (prefix == NULL)
        goto fail;
    if (ta.has) {
        long af = ta.flags;
        if (af) {
            if (set_one(out, K_FLAGS) < 0)
                goto fail;
            for (int i = 0; i < nprint; i++) {
                long bit = print_bit[i];
                if (!(af & bit))
                    continue;
                PyObject *one = PyLong_FromLong(1);
                if (one == NULL || PyDict_SetItem(out, print_field[i], one) < 0) {
                    Py_XDECREF(one);
                    goto fail;
                }
                Py_DECREF(one);
                if (bit & (A_FAST_RETRANSMISSION | A_SPURIOUS_RETRANSMISSION) && set_one(out, K_RETRANS) < 0)
                    goto fail;
                PyObject *pre = bit == A_DUPLICATE_ACK
                                    ? PyUnicode_FromFormat("[TCP Dup ACK %lld#%lld] ", (long long)ta.dupframe,
                                                           (long long)ta.dupnum)
                                    : Py_NewRef(print_prefix[i]);
                if (pre == NULL)
                    goto fail;
                PyObject *np = PyUnicode_Concat(pre, prefix);
                Py_DECREF(pre);
                if (np == NULL)
                    goto fail;
                Py_SETREF(prefix, np);
                PyObject *ms = print_msgs[i];
                for (Py_ssize_t j = 0; j < PyTuple_GET_SIZE(ms); j++) {
                    PyObject *pair = PyTuple_GET_ITEM(ms, j);
                    if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2) {
                        PyErr_SetString(PyExc_TypeError, "setup: (message, severity) pairs");
                        goto fail;
                    }
                    if (PyList_Append(msgs, PyTuple_GET_ITEM(pair, 0)) < 0 ||
                        PyList_Append(sevs, PyTuple_GET_ITEM(pair, 1)) < 0)
                        goto fail;
                }
            }
            if (af & A_RETRANSMISSION && ta.rto) {
                if (set_item(out, K_RTO, PyFloat_FromDouble((double)ta.rto / 1e9)) < 0 ||
                    set_item(out, K_RTO_FRAME, PyLong_FromLongLong(ta.rto_frame)) < 0)
                    goto fail;
            }
        }
        if (ta.dupnum) {
            if (set_item(out, K_DUPNUM, PyLong_FromLongLong(ta.dupnum)) < 0 ||
                set_item(out, K_DUPFRAME, PyLong_FromLongLong(ta.dupframe)) < 0 ||
                expert(msgs, sevs, PyUnicode_FromFormat("%U%lld)", msg_text[M_DUPACK], (long long)ta.dupnum),
                       msg_sev[M_DUPACK]) < 0)
                goto fail;
        }
        if (ta.acks_frame) {
            if (set_item(out, K_ACKS_FRAME, PyLong_FromLongLong(ta.acks_frame)) < 0)
                goto fail;
            if (ta.ack_rtt && set_item(out, K_ACK_RTT, PyFloat_FromDouble((double)ta.ack_rtt / 1e9)) < 0)
                goto fail;
        }
        if (conv->first_rtt && set_item(out, K_IRTT, PyFloat_FromDouble((double)conv->first_rtt / 1e9)) < 0)
            goto fail;
        if (ta.bif) {
            if (set_item(out, K_BIF, PyLong_FromLongLong(ta.bif)) < 0 ||
                set_item(out, K_PUSH, PyLong_FromLongLong(ta.push)) < 0)
                goto fail;
        }
    }
    Py_ssize_t ne = PyList_GET_SIZE(msgs);
    if (ne) {
        PyObject *groups = PyList_New(ne);
        if (groups == NULL)
            goto fail;
        for (Py_ssize_t i = 0; i < ne; i++) {
            PyObject *g = PyLong_FromLong(pi_sequence);
            if (g == NULL) {
                Py_DECREF(groups);
                goto fail;
            }
            PyList_SET_ITEM(groups, i, g);
        }
        if (PyDict_SetItem(out, keys[K_EMSG], msgs) < 0 || PyDict_SetItem(out, keys[K_ESEV], sevs) < 0 ||
            set_item(out, K_EGROUP, groups) < 0)
            goto fail;
    }
    if (PyDict_SetItem(out, keys[K_PREFIX], prefix) < 0 ||
        set_item(out, K_AFLAGS, PyLong_FromLong(ta.has ? ta.flags : 0)) < 0)
        goto fail;
    PyObject *raw = Py_BuildValue("(llkklll)", s->sport, s->dport, (unsigned long)s->seq, (unsigned long)s->ack,
                                  s->flags, s->window, (long)s->seglen);
    if (set_item(out, K_RAW, raw) < 0)
        goto fail;
    PyObject *a = s->src ? Py_NewRef(s->src) : addr_obj(s->fam[0], s->addr[0]);
    PyObject *b = a == NULL ? NULL : s->dst ? Py_NewRef(s->dst) : addr_obj(s->fam[1], s->addr[1]);
    if (b == NULL) {
        Py_XDECREF(a);
        goto fail;
    }
    PyObject *pair = PyTuple_Pack(2, a, b);
    Py_DECREF(a);
    Py_DECREF(b);
    if (set_item(out, K_ADDR, pair) < 0)
        goto fail;
    Py_DECREF(msgs);
    Py_DECREF(sevs);
    Py_DECREF(prefix);
    return out;
fail:
    Py_XDECREF(msgs);
    Py_XDECREF(sevs);
    Py_XDECREF(prefix);
    Py_DECREF(out);
    return NULL;
}

/* feed_flags' answer for a placed segment */
static PyObject *flags_only(Core *c, int64_t number, int64_t ts, const SegIn *s) {
    Flow *fwd, *rev;
    long aflags;
    int fi;
    Conv *conv = start(c, s, ts, &fwd, &rev, &aflags, &fi);
    if (conv == NULL)
        return PyErr_NoMemory();
    Ta ta;
    if (sequence(number, ts, s, conv, fwd, rev, aflags, 0, &ta) < 0)
        return PyErr_NoMemory();
    return PyLong_FromLong(ta.has ? ta.flags : 0);
}

/* ------------------------------------------------------------------------------ argument reading */

#define TS_LIMIT ((int64_t)1 << 62)

static int get_i64(PyObject *o, int64_t *v, int64_t lo, int64_t hi) {
    long long x = PyLong_AsLongLong(o);
    if (x == -1 && PyErr_Occurred())
        return -1;
    if (x < lo || x > hi) {
        PyErr_SetString(PyExc_OverflowError, "a TCP header value out of its range");
        return -1;
    }
    *v = x;
    return 0;
}

/* (number, ts, src, dst, sport, dport, seq, ack, flags, window, seglen, wscale[, sack]) */
static int read_args(PyObject *const *args, Py_ssize_t nargs, int with_sack, int64_t *number, int64_t *ts,
                     SegIn *s) {
    if (nargs < 12 || nargs > 13 || (!with_sack && nargs != 12)) {
        PyErr_SetString(PyExc_TypeError, "(number, ts, src, dst, sport, dport, seq, ack, flags, window, "
                                         "seglen, wscale[, sack])");
        return -1;
    }
    int64_t sp, dp, seq, ack, fl, win, sl, ws = -1;
    if (get_i64(args[0], number, INT64_MIN, INT64_MAX) < 0 || get_i64(args[1], ts, -TS_LIMIT, TS_LIMIT) < 0 ||
        get_i64(args[4], &sp, 0, 65535) < 0 || get_i64(args[5], &dp, 0, 65535) < 0 ||
        get_i64(args[6], &seq, 0, 0xFFFFFFFFLL) < 0 || get_i64(args[7], &ack, 0, 0xFFFFFFFFLL) < 0 ||
        get_i64(args[8], &fl, 0, 0xFFFF) < 0 || get_i64(args[9], &win, 0, 0xFFFF) < 0 ||
        get_i64(args[10], &sl, 0, (int64_t)1 << 40) < 0 ||
        (args[11] != Py_None && get_i64(args[11], &ws, 0, 255) < 0))
        return -1;
    if (parse_addr(args[2], &s->fam[0], s->addr[0]) < 0 || parse_addr(args[3], &s->fam[1], s->addr[1]) < 0)
        return -1;
    s->src = args[2];
    s->dst = args[3];
    s->sport = (long)sp;
    s->dport = (long)dp;
    s->seq = (uint32_t)seq;
    s->ack = (uint32_t)ack;
    s->flags = (long)fl;
    s->window = (long)win;
    s->seglen = sl;
    s->wscale = (long)ws;
    s->nsack = 0;
    s->sack_sum = 0;
    s->sack_le0 = 0;
    if (with_sack && nargs == 13 && args[12] != Py_None) {
        PyObject *sk = PySequence_Fast(args[12], "sack: pairs");
        if (sk == NULL)
            return -1;
        Py_ssize_t nb = PySequence_Fast_GET_SIZE(sk);
        for (Py_ssize_t i = 0; i < nb; i++) {
            PyObject *pair = PySequence_Fast_GET_ITEM(sk, i);
            int64_t le, re;
            if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2 ||
                get_i64(PyTuple_GET_ITEM(pair, 0), &le, 0, 0xFFFFFFFFLL) < 0 ||
                get_i64(PyTuple_GET_ITEM(pair, 1), &re, 0, 0xFFFFFFFFLL) < 0) {
                if (!PyErr_Occurred())
                    PyErr_SetString(PyExc_TypeError, "sack: (left, right) pairs");
                Py_DECREF(sk);
                return -1;
            }
            if (i == 0)
                s->sack_le0 = (uint32_t)le;
            s->sack_sum += (uint32_t)((uint32_t)re - (uint32_t)le);
        }
        s->nsack = nb;
        Py_DECREF(sk);
    }
    return 0;
}

static PyObject *core_analyze(Core *c, PyObject *const *args, Py_ssize_t nargs) {
    int64_t number, ts;
    SegIn s;
    if (not_ready())
        return NULL;
    if (read_args(args, nargs, 1, &number, &ts, &s) < 0)
        return NULL;
    return analyze(c, number, ts, &s);
}

static PyObject *core_flags(Core *c, PyObject *const *args, Py_ssize_t nargs) {
    int64_t number, ts;
    SegIn s;
    if (not_ready())
        return NULL;
    if (read_args(args, nargs, 0, &number, &ts, &s) < 0)
        return NULL;
    return flags_only(c, number, ts, &s);
}

/* ------------------------------------------------------------------ fast_segment from the bytes */

#define LT_NULL 0
#define LT_ETHERNET 1
#define LT_RAW 101
#define LT_LOOP 108
#define LT_SLL 113
#define LT_IPV4 228
#define LT_IPV6 229
#define LT_SLL2 276

enum { FS_SEG, FS_NONE, FS_FRAGMENT, FS_UNKNOWN };

/* tcp_options (the shared walk, ../_native.h) into the segment: wscale, the SACK blocks' count, first left
 * edge and sum (what the analysis reads of them) */
static int options(const uint8_t *d, Py_ssize_t o, Py_ssize_t oend, SegIn *s) {
    TcpOptions opt;
    if (!native_tcp_options(d, o, oend, &opt))
        return 0;
    s->wscale = opt.wscale;
    for (int i = 0; i < opt.nsack; i++) {
        if (i == 0)
            s->sack_le0 = opt.sack[0][0];
        s->sack_sum += (uint32_t)(opt.sack[i][1] - opt.sack[i][0]);
    }
    s->nsack = opt.nsack;
    return 1;
}

static int not_tcp(unsigned proto, const uint8_t *d, Py_ssize_t l4, Py_ssize_t n) {
    if (t_not_tcp[proto])
        return FS_NONE;
    if (proto == 17 && n >= l4 + 4)
        return t_tunnel[be16(d + l4)] || t_tunnel[be16(d + l4 + 2)] ? FS_UNKNOWN : FS_NONE;
    return FS_UNKNOWN;
}

/* The TCP header at l4 of an IP datagram ending at end: FS_SEG (s filled but the addresses), or
 * FS_UNKNOWN where fast_segment leaves it to the decoder (cut, bogus header or options). strict (inside a
 * tunnel): the header must also end within the datagram. */
static int place_tcp(const uint8_t *d, Py_ssize_t n, Py_ssize_t l4, Py_ssize_t end, SegIn *s, int strict) {
    if (n < l4 + 20)
        return FS_UNKNOWN;
    const uint8_t *h = d + l4;
    unsigned offflags = be16(h + 12);
    Py_ssize_t hl = (Py_ssize_t)(offflags >> 12) * 4;
    if (hl < 20 || l4 + hl > n || (strict && l4 + hl > end))
        return FS_UNKNOWN;
    s->wscale = -1;
    s->nsack = 0;
    s->sack_sum = 0;
    s->sack_le0 = 0;
    if (hl > 20 && !options(d, l4 + 20, l4 + hl, s))
        return FS_UNKNOWN;
    s->src = s->dst = NULL;
    s->sport = be16(h);
    s->dport = be16(h + 2);
    s->seq = be32(h + 4);
    s->ack = be32(h + 8);
    s->flags = offflags & 0x0FFF;
    s->window = be16(h + 14);
    Py_ssize_t seglen = end - l4 - hl;
    s->seglen = seglen > 0 ? seglen : 0;
    return FS_SEG;
}

/* Inside a tunnel (segment() of the decoder's fields would find the same): only whole, plain datagrams
 * are placed; anything else is the decoder's (FS_UNKNOWN). */
#define MAX_DEPTH 6
static int net_strict(const uint8_t *d, Py_ssize_t n, unsigned et, Py_ssize_t off, Py_ssize_t bound, SegIn *s,
                      int depth);

static int ip_payload(const uint8_t *d, Py_ssize_t n, unsigned proto, Py_ssize_t l4, Py_ssize_t end, SegIn *s,
                      int depth, int strict);

/* an inner Ethernet frame at o (VXLAN, Geneve and GRE's transparent bridging): its VLAN tags, then IP */
static int eth_strict(const uint8_t *d, Py_ssize_t n, Py_ssize_t o, Py_ssize_t end, SegIn *s, int depth) {
    if (o + 14 > end)
        return FS_UNKNOWN;
    unsigned iet = be16(d + o + 12);
    Py_ssize_t ioff = o + 14;
    while (t_vlan[iet] && ioff + 4 <= end) {
        iet = be16(d + ioff + 2);
        ioff += 4;
    }
    return net_strict(d, n, iet, ioff, end, s, depth);
}

/* a UDP datagram at l4 on a tunnel's port (inet.udp_payload's choice: no bound conversation, the lower port's
 * dissector, else the higher's): VXLAN, Geneve, GRE-in-UDP, AYIYA forwarding IP */
static int udp_tunnel(const uint8_t *d, Py_ssize_t n, Py_ssize_t l4, Py_ssize_t end, SegIn *s, int depth) {
    if (end > n || l4 + 8 > end || ++depth > MAX_DEPTH)
        return FS_UNKNOWN;
    unsigned sp = be16(d + l4), dp = be16(d + l4 + 2), ulen = be16(d + l4 + 4);
    if (ulen < 8 || l4 + (Py_ssize_t)ulen > end)
        return FS_UNKNOWN;
    if (udp_conversations != NULL && PyDict_GET_SIZE(udp_conversations)) { /* UDP_CONVERSATIONS.find */
        Py_ssize_t alen = s->fam[0] == 4 ? 4 : 16;
        PyObject *src = PyBytes_FromStringAndSize((const char *)s->addr[0], alen),
                 *dst = PyBytes_FromStringAndSize((const char *)s->addr[1], alen);
        PyObject *k1 = src && dst ? Py_BuildValue("(OIO)", src, sp, dst) : NULL,
                 *k2 = k1 ? Py_BuildValue("(OIO)", dst, dp, src) : NULL;
        int bound = k2 == NULL ? -1
                               : PyDict_Contains(udp_conversations, k1) == 1 || PyDict_Contains(udp_conversations, k2) == 1;
        Py_XDECREF(src);
        Py_XDECREF(dst);
        Py_XDECREF(k1);
        Py_XDECREF(k2);
        if (bound) { /* (bound, or an error: the decoder's) */
            PyErr_Clear();
            return FS_UNKNOWN;
        }
    }
    unsigned lo = sp < dp ? sp : dp, hi = sp < dp ? dp : sp;
    unsigned port = t_udp_port[lo] ? lo : t_udp_port[hi] ? hi : 0;
    Py_ssize_t o = l4 + 8, uend = l4 + (Py_ssize_t)ulen;
    if (port == 4789 && tunnels & TUN_VXLAN) /* inet.dissect_vxlan */
        return o + 8 <= uend ? eth_strict(d, n, o + 8, uend, s, depth) : FS_UNKNOWN;
    if (port == 6081 && tunnels & TUN_GENEVE) { /* tunnels.dissect_geneve */
        if (o + 8 > uend)
            return FS_UNKNOWN;
        Py_ssize_t p = o + 8 + (Py_ssize_t)(d[o] & 0x3F) * 4;
        unsigned pt = be16(d + o + 2);
        if (pt == 0x6558)
            return eth_strict(d, n, p, uend, s, depth);
        return pt == 0x0800 || pt == 0x86DD ? net_strict(d, n, pt, p, uend, s, depth) : FS_UNKNOWN;
    }
    if (port == 4754 && tunnels & TUN_GRE_UDP) /* tunnels.dissect_gre_in_udp */
        return ip_payload(d, n, 47, o, uend, s, depth, 1);
    if (port == 5072 && tunnels & TUN_AYIYA) { /* tunnels.dissect_ayiya: forwarding (opcode 1) only */
        if (o + 8 > uend)
            return FS_UNKNOWN;
        Py_ssize_t idlen = d[o] >> 4 ? (Py_ssize_t)1 << (d[o] >> 4) : 0, siglen = (Py_ssize_t)(d[o + 1] >> 4) * 4;
        Py_ssize_t p = o + 8 + idlen + siglen;
        if ((d[o + 2] & 0x0F) != 1 || p >= uend)
            return FS_UNKNOWN;
        unsigned nh = d[o + 3];
        return nh == 4 || nh == 41 ? ip_payload(d, n, nh, p, uend, s, depth, 1) : FS_UNKNOWN;
    }
    return FS_UNKNOWN;
}

/* the payload of an IP header (addresses already in s): TCP, GRE, AH; a protocol that never carries TCP */
static int ip_payload(const uint8_t *d, Py_ssize_t n, unsigned proto, Py_ssize_t l4, Py_ssize_t end, SegIn *s,
                      int depth, int strict) {
    for (;;) {
        if (proto == 6)
            return place_tcp(d, n, l4, end, s, strict);
        if (proto == 51 && tunnels & TUN_AH) { /* inet.dissect_ah: its length, then the next header */
            if (end > n || l4 + 12 > end)
                return FS_UNKNOWN;
            Py_ssize_t size = ((Py_ssize_t)d[l4 + 1] + 2) * 4;
            proto = d[l4];
            l4 += size;
            if (l4 + 20 > end || ++depth > MAX_DEPTH)
                return FS_UNKNOWN;
            strict = 1;
            continue;
        }
        if (proto == 47 && tunnels & TUN_GRE) { /* inet.dissect_gre, version 0 */
            if (end > n || l4 + 4 > end || ++depth > MAX_DEPTH)
                return FS_UNKNOWN;
            unsigned fl = be16(d + l4), gp = be16(d + l4 + 2);
            if (fl & 0x0007)
                return FS_UNKNOWN;
            Py_ssize_t o = l4 + 4 + (fl & 0x8000 ? 4 : 0) + (fl & 0x2000 ? 4 : 0) + (fl & 0x1000 ? 4 : 0);
            if (o > end)
                return FS_UNKNOWN;
            if (gp == 0x6558)
                return tunnels & TUN_GRE_ETH ? eth_strict(d, n, o, end, s, depth) : FS_UNKNOWN;
            if (gp != 0x0800 && gp != 0x86DD)
                return FS_UNKNOWN;
            return net_strict(d, n, gp, o, end, s, depth);
        }
        if ((proto == 4 || proto == 41) && tunnels & TUN_IPIP) /* inet.dissect_ipv4 / dissect_ipv6 again */
            return ++depth > MAX_DEPTH || end > n ? FS_UNKNOWN
                                                  : net_strict(d, n, proto == 4 ? 0x0800 : 0x86DD, l4, end, s, depth);
        if (proto == 17) { /* fast_segment's rule (_not_tcp): TCP only on a tunnel's port */
            if (l4 + 4 > end || l4 + 4 > n)
                return FS_UNKNOWN;
            if (!t_tunnel[be16(d + l4)] && !t_tunnel[be16(d + l4 + 2)])
                return strict ? FS_NONE : FS_UNKNOWN;
            return udp_tunnel(d, n, l4, end, s, depth);
        }
        if (t_not_tcp[proto] && strict)
            return FS_NONE;
        return FS_UNKNOWN; /* (outside a tunnel: fast_segment's own rules, the caller's) */
    }
}

/* an IPv4/IPv6 datagram at off, whole within bound (<= n), inside a tunnel */
static int net_strict(const uint8_t *d, Py_ssize_t n, unsigned et, Py_ssize_t off, Py_ssize_t bound, SegIn *s,
                      int depth) {
    if (bound > n)
        bound = n;
    if (et == 0x0800) {
        if (off + 20 > bound || d[off] >> 4 != 4 || be16(d + off + 6) & 0x3FFF)
            return FS_UNKNOWN;
        Py_ssize_t hlen = (Py_ssize_t)(d[off] & 0x0F) * 4, total = be16(d + off + 2);
        if (hlen < 20 || total < hlen || off + total > bound)
            return FS_UNKNOWN;
        s->fam[0] = s->fam[1] = 4;
        memset(s->addr, 0, sizeof(s->addr));
        memcpy(s->addr[0], d + off + 12, 4);
        memcpy(s->addr[1], d + off + 16, 4);
        return ip_payload(d, n, d[off + 9], off + hlen, off + total, s, depth, 1);
    }
    if (et == 0x86DD) {
        if (off + 40 > bound || d[off] >> 4 != 6)
            return FS_UNKNOWN;
        Py_ssize_t plen = be16(d + off + 4), l4 = off + 40;
        if (plen == 0 || off + 40 + plen > bound)
            return FS_UNKNOWN;
        unsigned proto = d[off + 6];
        while (t_v6ext[proto]) {
            if (l4 + 8 > off + 40 + plen)
                return FS_UNKNOWN;
            proto = d[l4];
            l4 += ((Py_ssize_t)d[l4 + 1] + 1) * 8;
        }
        if (proto == 44 || l4 > off + 40 + plen)
            return FS_UNKNOWN;
        s->fam[0] = s->fam[1] = 6;
        memcpy(s->addr[0], d + off + 8, 16);
        memcpy(s->addr[1], d + off + 24, 16);
        return ip_payload(d, n, proto, l4, off + 40 + plen, s, depth, 1);
    }
    return FS_UNKNOWN;
}

/* an ethertype-level tunnel (PPPoE session, PBB, MPLS) at off of a frame of n bytes */
static int et_tunnel(const uint8_t *d, Py_ssize_t n, unsigned et, Py_ssize_t off, SegIn *s) {
    if (et == 0x8864 && tunnels & TUN_PPPOE) { /* tunnels.dissect_pppoes, then dissect_ppp without HDLC */
        if (off + 6 > n)
            return FS_UNKNOWN;
        Py_ssize_t end = off + 6 + (Py_ssize_t)be16(d + off + 4), o = off + 6;
        if (end > n)
            end = n;
        if (o + 1 > end)
            return FS_UNKNOWN;
        unsigned proto;
        if (d[o] & 1) {
            proto = d[o];
            o += 1;
        } else {
            if (o + 2 > end)
                return FS_UNKNOWN;
            proto = be16(d + o);
            o += 2;
        }
        if (proto == 0x0021)
            return net_strict(d, n, 0x0800, o, end, s, 1);
        if (proto == 0x0057)
            return net_strict(d, n, 0x86DD, o, end, s, 1);
        return FS_UNKNOWN;
    }
    if (et == 0x88E7 && tunnels & TUN_PBB) { /* tunnels.dissect_pbb: the I-TAG, C-addresses, the type */
        if (off + 18 > n)
            return FS_UNKNOWN;
        return net_strict(d, n, be16(d + off + 16), off + 18, n, s, 1);
    }
    if ((et == 0x8847 || et == 0x8848) && tunnels & TUN_MPLS) { /* tunnels.dissect_mpls */
        Py_ssize_t o = off;
        for (;;) {
            if (o + 4 > n)
                return FS_UNKNOWN;
            int bottom = d[o + 2] & 1;
            o += 4;
            if (bottom)
                break;
        }
        if (o >= n)
            return FS_UNKNOWN;
        unsigned v = d[o] >> 4;
        return v == 4 ? net_strict(d, n, 0x0800, o, n, s, 1)
                      : v == 6 ? net_strict(d, n, 0x86DD, o, n, s, 1) : FS_UNKNOWN;
    }
    return FS_UNKNOWN;
}

/* model.tcpanalysis.fast_segment of d[:n] */
static int fast_segment(const uint8_t *d, Py_ssize_t n, long linktype, SegIn *s) {
    unsigned et;
    Py_ssize_t off;
    if (linktype == LT_ETHERNET) {
        if (n < 14)
            return FS_UNKNOWN;
        et = be16(d + 12);
        off = 14;
        while (t_vlan[et] && n >= off + 4) {
            et = be16(d + off + 2);
            off += 4;
        }
    } else if (linktype == LT_RAW || linktype == LT_IPV4 || linktype == LT_IPV6) {
        if (n < 1)
            return FS_UNKNOWN;
        unsigned v = d[0] >> 4;
        et = v == 4 ? 0x0800 : v == 6 ? 0x86DD : 0;
        off = 0;
    } else if (linktype == LT_SLL) {
        if (n < 16)
            return FS_UNKNOWN;
        et = be16(d + 14);
        off = 16;
    } else if (linktype == LT_SLL2) {
        if (n < 20)
            return FS_UNKNOWN;
        et = be16(d);
        off = 20;
    } else if (linktype == LT_NULL || linktype == LT_LOOP) {
        if (n < 4)
            return FS_UNKNOWN;
        uint32_t big = be32(d), little = (uint32_t)d[3] << 24 | (uint32_t)d[2] << 16 | (uint32_t)d[1] << 8 | d[0];
        uint32_t fam = linktype == LT_LOOP ? big : little;
        if (fam > 0xFFFF)
            fam = linktype == LT_LOOP ? little : big;
        et = fam == 2 ? 0x0800 : (fam == 10 || fam == 24 || fam == 28 || fam == 30) ? 0x86DD : 0;
        off = 4;
    } else {
        return FS_UNKNOWN;
    }
    unsigned proto;
    Py_ssize_t l4, end;
    if (et == 0x0800) {
        if (n < off + 20 || d[off] >> 4 != 4)
            return n >= off + 8 && be16(d + off + 6) & 0x3FFF ? FS_FRAGMENT : FS_UNKNOWN;
        if (be16(d + off + 6) & 0x3FFF)
            return FS_FRAGMENT;
        Py_ssize_t hlen = (Py_ssize_t)(d[off] & 0x0F) * 4, length = be16(d + off + 2);
        if (hlen < 20 || length < hlen)
            return FS_UNKNOWN;
        proto = d[off + 9];
        l4 = off + hlen;
        if ((proto == 47 || proto == 51 || proto == 4 || proto == 41 ||
             (proto == 17 && n >= l4 + 4 && (t_tunnel[be16(d + l4)] || t_tunnel[be16(d + l4 + 2)]))) &&
            tunnels) {
            s->fam[0] = s->fam[1] = 4;
            memset(s->addr, 0, sizeof(s->addr));
            memcpy(s->addr[0], d + off + 12, 4);
            memcpy(s->addr[1], d + off + 16, 4);
            return off + length <= n ? ip_payload(d, n, proto, l4, off + length, s, 0, 0) : FS_UNKNOWN;
        }
        if (proto != 6)
            return not_tcp(proto, d, l4, n);
        s->fam[0] = s->fam[1] = 4;
        memset(s->addr, 0, sizeof(s->addr));
        memcpy(s->addr[0], d + off + 12, 4);
        memcpy(s->addr[1], d + off + 16, 4);
        end = off + length;
    } else if (et == 0x86DD) {
        if (n < off + 40 || d[off] >> 4 != 6)
            return FS_UNKNOWN;
        proto = d[off + 6];
        l4 = off + 40;
        while (t_v6ext[proto]) {
            if (n < l4 + 8)
                return FS_UNKNOWN;
            proto = d[l4];
            l4 += ((Py_ssize_t)d[l4 + 1] + 1) * 8;
        }
        if (proto == 44)
            return FS_FRAGMENT;
        unsigned plen = be16(d + off + 4);
        if (plen == 0)
            return FS_UNKNOWN; /* jumbogram */
        if ((proto == 47 || proto == 51 || proto == 4 || proto == 41 ||
             (proto == 17 && n >= l4 + 4 && (t_tunnel[be16(d + l4)] || t_tunnel[be16(d + l4 + 2)]))) &&
            tunnels) {
            s->fam[0] = s->fam[1] = 6;
            memcpy(s->addr[0], d + off + 8, 16);
            memcpy(s->addr[1], d + off + 24, 16);
            Py_ssize_t iend = off + 40 + (Py_ssize_t)plen;
            return iend <= n && l4 <= iend ? ip_payload(d, n, proto, l4, iend, s, 0, 0) : FS_UNKNOWN;
        }
        if (proto != 6)
            return not_tcp(proto, d, l4, n);
        s->fam[0] = s->fam[1] = 6;
        memcpy(s->addr[0], d + off + 8, 16);
        memcpy(s->addr[1], d + off + 24, 16);
        end = off + 40 + (Py_ssize_t)plen;
    } else if (t_not_ip[et]) {
        return FS_NONE;
    } else if (et < 0x0600 && linktype == LT_ETHERNET) {
        if (n <= off + 5 || d[off] == 0x06)
            return FS_UNKNOWN;
        return d[off] == 0xAA && !(d[off + 3] == 0 && d[off + 4] == 0 && d[off + 5] == 0x0c) ? FS_UNKNOWN
                                                                                            : FS_NONE;
    } else {
        return tunnels ? et_tunnel(d, n, et, off, s) : FS_UNKNOWN;
    }
    return place_tcp(d, n, l4, end, s, 0);
}

/* fast_segment of a frame tuple: NULL with *s filled for a TCP segment, else the answer (a new reference:
 * None, FRAGMENT, UNKNOWN; Ellipsis with an exception set on error) */
static PyObject *frame_segment(PyObject *fr, SegIn *s) {
    long linktype = PyLong_AsLong(PyTuple_GET_ITEM(fr, 3));
    if (linktype == -1 && PyErr_Occurred())
        return Py_Ellipsis;
    PyObject *data = PyTuple_GET_ITEM(fr, 1);
    int r = fast_segment((const uint8_t *)PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data), linktype, s);
    return r == FS_NONE       ? Py_NewRef(Py_None)
           : r == FS_FRAGMENT ? Py_NewRef(o_fragment)
           : r == FS_UNKNOWN  ? Py_NewRef(o_unknown)
                              : NULL;
}

/* frame(number, frame, flags_only) -> analyze's dict (flags' int when flags_only) for a TCP segment, None
 * when the frame certainly has no analysable TCP header, FRAGMENT / UNKNOWN as fast_segment says */
static PyObject *core_frame(Core *c, PyObject *const *args, Py_ssize_t nargs) {
    if (not_ready())
        return NULL;
    if (nargs != 3 || !PyTuple_Check(args[1]) || PyTuple_GET_SIZE(args[1]) < 4 ||
        !PyBytes_Check(PyTuple_GET_ITEM(args[1], 1))) {
        PyErr_SetString(PyExc_TypeError, "frame(number, frame, flags_only)");
        return NULL;
    }
    int64_t number, ts;
    PyObject *fr = args[1];
    if (get_i64(args[0], &number, INT64_MIN, INT64_MAX) < 0 ||
        get_i64(PyTuple_GET_ITEM(fr, 0), &ts, -TS_LIMIT, TS_LIMIT) < 0)
        return NULL;
    SegIn s;
    PyObject *answer = frame_segment(fr, &s);
    if (answer != NULL)
        return answer == Py_Ellipsis ? NULL : answer;
    return PyObject_IsTrue(args[2]) ? flags_only(c, number, ts, &s) : analyze(c, number, ts, &s);
}

/* segment(frame) -> fast_segment(frame) (for the tests: the C reading of the bytes against Python's) */
static PyObject *mod_segment(PyObject *self, PyObject *fr) {
    if (not_ready())
        return NULL;
    if (!PyTuple_Check(fr) || PyTuple_GET_SIZE(fr) < 4 || !PyBytes_Check(PyTuple_GET_ITEM(fr, 1))) {
        PyErr_SetString(PyExc_TypeError, "segment(frame)");
        return NULL;
    }
    SegIn s;
    PyObject *answer = frame_segment(fr, &s);
    if (answer != NULL)
        return answer == Py_Ellipsis ? NULL : answer;
    PyObject *a = addr_obj(s.fam[0], s.addr[0]), *b = addr_obj(s.fam[1], s.addr[1]), *sack;
    if (a == NULL || b == NULL) {
        Py_XDECREF(a);
        Py_XDECREF(b);
        return NULL;
    }
    /* the blocks themselves are Python's to read again: here their count, first left edge and sum */
    sack = s.nsack ? Py_BuildValue("(nkL)", s.nsack, (unsigned long)s.sack_le0, (long long)s.sack_sum)
                   : Py_NewRef(Py_None);
    PyObject *ws = s.wscale >= 0 ? PyLong_FromLong(s.wscale) : Py_NewRef(Py_None);
    return Py_BuildValue("(NNllkkllLNN)", a, b, s.sport, s.dport, (unsigned long)s.seq, (unsigned long)s.ack,
                         s.flags, s.window, (long long)s.seglen, ws, sack);
}

/* ---------------------------------------------------------------- the analysed text line (read) */

static PyObject *s_seq, *s_ack, *s_win, *s_arrow, *s_space;

/* str.replace(old, new, 1) where old = head + str(a), new = head + str(b) */
static PyObject *replace_num(PyObject *info, PyObject *head, PyObject *a, PyObject *b) {
    PyObject *sa = PyObject_Str(a), *sb = sa == NULL ? NULL : PyObject_Str(b);
    PyObject *old = sb == NULL ? NULL : PyUnicode_Concat(head, sa), *new_ = old == NULL ? NULL : PyUnicode_Concat(head, sb);
    PyObject *r = new_ == NULL ? NULL : PyUnicode_Replace(info, old, new_, 1);
    Py_XDECREF(sa);
    Py_XDECREF(sb);
    Py_XDECREF(old);
    Py_XDECREF(new_);
    return r;
}

/* analysed_line(line, number, wirelen, extra, no_subdissector) -> str | None: read --analysis' line of a
 * TCP frame from the per-packet one ``NUMBER TIME SRC -> DST PROTO LEN INFO`` (read.py's _line_columns
 * cut) with tcpanalysis.columns' changes: the relative Seq/Ack, the scaled Win, the "[TCP ...]" prefix.
 * None when the line is not of that form. */
static PyObject *analysed_line(PyObject *const *args);

static PyObject *mod_analysed_line(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 5 || !PyUnicode_Check(args[0]) || !PyDict_Check(args[3])) {
        PyErr_SetString(PyExc_TypeError, "analysed_line(line, number, wirelen, extra, no_subdissector)");
        return NULL;
    }
    return analysed_line(args);
}

/* args: line (str), number, wirelen, extra (dict), no_subdissector */
static PyObject *analysed_line(PyObject *const *args) {
    if (!ready || s_seq == NULL) {
        if (!ready || (s_seq = PyUnicode_InternFromString("] Seq=")) == NULL ||
            (s_ack = PyUnicode_InternFromString(" Ack=")) == NULL ||
            (s_win = PyUnicode_InternFromString(" Win=")) == NULL ||
            (s_arrow = PyUnicode_InternFromString(" -> ")) == NULL ||
            (s_space = PyUnicode_InternFromString(" ")) == NULL) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_RuntimeError, "_tcpstate.setup first");
            return NULL;
        }
    }
    PyObject *line = args[0], *extra = args[3];
    PyObject *num = PyObject_Str(args[1]), *wl = num == NULL ? NULL : PyObject_Str(args[2]);
    if (wl == NULL) {
        Py_XDECREF(num);
        return NULL;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(line), k = PyUnicode_GET_LENGTH(num) + 17, wn = PyUnicode_GET_LENGTH(wl);
    Py_DECREF(num);
    PyObject *mark = PyUnicode_FromFormat(" %U ", wl);
    Py_DECREF(wl);
    if (mark == NULL)
        return NULL;
    Py_ssize_t i = k <= n ? PyUnicode_Find(line, s_arrow, k, n, 1) : -1;
    Py_ssize_t j = i >= 0 ? PyUnicode_Find(line, s_space, i + 4, n, 1) : -1;
    Py_ssize_t m = j >= 0 ? PyUnicode_Find(line, mark, j, n, 1) : -1;
    Py_DECREF(mark);
    if (m < 0) {
        if (PyErr_Occurred())
            return NULL;
        Py_RETURN_NONE; /* not a line of that form */
    }
    PyObject *raw = PyDict_GetItemWithError(extra, keys[K_RAW]), *af = PyDict_GetItemWithError(extra, keys[K_AFLAGS]),
             *rseq = PyDict_GetItemWithError(extra, keys[K_SEQ]), *rack = PyDict_GetItemWithError(extra, keys[K_ACK]),
             *win = PyDict_GetItemWithError(extra, keys[K_WIN]), *prefix = PyDict_GetItemWithError(extra, keys[K_PREFIX]);
    if (raw == NULL || af == NULL || rseq == NULL || rack == NULL || win == NULL || prefix == NULL ||
        !PyTuple_Check(raw) || PyTuple_GET_SIZE(raw) != 7 || !PyUnicode_Check(prefix)) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "analysed_line: not an analysis' extra fields");
        return NULL;
    }
    long aflags = PyLong_AsLong(af), nosub = PyLong_AsLong(args[4]), tflags = PyLong_AsLong(PyTuple_GET_ITEM(raw, 4));
    if (PyErr_Occurred())
        return NULL;
    if (aflags & nosub) { /* a retransmitted payload is not decoded again: another protocol's line gets
                           * TCP's own columns (inet.tcp_info's text, the relative numbers in it) */
        PyObject *proto = PyUnicode_Substring(line, j + 1, m);
        if (proto == NULL)
            return NULL;
        int tcp = PyUnicode_CompareWithASCIIString(proto, "TCP") == 0;
        Py_DECREF(proto);
        if (!tcp) {
            PyObject *names = PyUnicode_FromStringAndSize(NULL, 0);
            for (int b = 0; names != NULL && b < nflagnames; b++) {
                if (!(tflags & flag_bits[b]))
                    continue;
                PyObject *t2 = PyUnicode_GET_LENGTH(names) ? PyUnicode_FromFormat("%U, %U", names, flag_names[b])
                                                           : Py_NewRef(flag_names[b]);
                Py_SETREF(names, t2);
            }
            if (names == NULL)
                return NULL;
            PyObject *head = PyUnicode_Substring(line, 0, j + 1), *r = NULL;
            if (head != NULL) {
                PyObject *ackpart = tflags & TH_ACK ? PyUnicode_FromFormat(" Ack=%S", rack) : PyUnicode_FromString("");
                if (ackpart != NULL)
                    r = PyUnicode_FromFormat("%UTCP %S %U%S -> %S [%U] Seq=%S%U Win=%S Len=%S", head, args[2], prefix,
                                             PyTuple_GET_ITEM(raw, 0), PyTuple_GET_ITEM(raw, 1), names, rseq, ackpart,
                                             win, PyTuple_GET_ITEM(raw, 6));
                Py_XDECREF(ackpart);
                Py_DECREF(head);
            }
            Py_DECREF(names);
            return r;
        }
    }
    Py_ssize_t at = m + wn + 2;
    PyObject *info = PyUnicode_Substring(line, at, n), *t;
    if (info == NULL)
        return NULL;
    t = replace_num(info, s_seq, PyTuple_GET_ITEM(raw, 2), rseq);
    Py_SETREF(info, t);
    if (info != NULL && tflags & TH_ACK) {
        t = replace_num(info, s_ack, PyTuple_GET_ITEM(raw, 3), rack);
        Py_SETREF(info, t);
    }
    if (info != NULL) {
        t = replace_num(info, s_win, PyTuple_GET_ITEM(raw, 5), win);
        Py_SETREF(info, t);
    }
    if (info == NULL)
        return NULL;
    PyObject *head = PyUnicode_Substring(line, 0, at);
    if (head == NULL) {
        Py_DECREF(info);
        return NULL;
    }
    PyObject *r = PyUnicode_FromFormat("%U%U%U", head, prefix, info);
    Py_DECREF(head);
    Py_DECREF(info);
    return r;
}

/* ---------------------------------------------------------------- read --analysis' loop (text) */

/* core.text_batch(frames, start, first_number, line, ra_feed, no_subdissector) -> (lines, stop, pending):
 * read --analysis' text loop over frames[start:] (frame i is number first_number + i) for as long as every
 * part of a frame is native: the walker's line (``line``: Walker.line, called once for every Ethernet frame,
 * in order), the header read and the analysis (this core), the reassembler's verdict (``ra_feed``: its
 * ``feed``, called where it can act: a segment with data, FIN or RST) and the rewritten line. It stops at the
 * first frame that needs Python and says what it has of it: ``pending`` is None (the batch is done), ...
 * (nothing done with it: not an Ethernet frame), (t,) (nothing fed for it but the walker: its line t or
 * None) or (t, extra, verdict) (analysed and fed to the reassembler). */
static PyObject *core_text_batch(Core *c, PyObject *const *args, Py_ssize_t nargs) {
    if (not_ready())
        return NULL;
    if (nargs != 6 || !PyList_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "text_batch(frames, start, first_number, line, ra_feed, no_subdissector)");
        return NULL;
    }
    PyObject *frames = args[0], *wline = args[3], *rafeed = args[4], *nosub = args[5];
    Py_ssize_t start = PyLong_AsSsize_t(args[1]);
    long long first = PyLong_AsLongLong(args[2]);
    if (PyErr_Occurred())
        return NULL;
    PyObject *lines = PyList_New(0), *pending = NULL;
    if (lines == NULL)
        return NULL;
    Py_ssize_t i = start, nf = PyList_GET_SIZE(frames);
    for (; i < nf; i++) {
        PyObject *fr = PyList_GET_ITEM(frames, i);
        if (!PyTuple_Check(fr) || PyTuple_GET_SIZE(fr) < 4 || !PyBytes_Check(PyTuple_GET_ITEM(fr, 1)) ||
            !PyLong_CheckExact(PyTuple_GET_ITEM(fr, 3))) {
            pending = Py_NewRef(Py_Ellipsis); /* (not a Frame: Python's, walker included) */
            break;
        }
        long linktype = PyLong_AsLong(PyTuple_GET_ITEM(fr, 3));
        if (linktype == -1 && PyErr_Occurred())
            goto fail;
        if (linktype != LT_ETHERNET) {
            pending = Py_NewRef(Py_Ellipsis); /* no walker line: Python's from the start */
            break;
        }
        PyObject *num = PyLong_FromLongLong(first + i);
        if (num == NULL)
            goto fail;
        PyObject *largs[4] = {num, PyTuple_GET_ITEM(fr, 0), PyTuple_GET_ITEM(fr, 1), PyTuple_GET_ITEM(fr, 2)};
        PyObject *t = PyObject_Vectorcall(wline, largs, 4, NULL);
        if (t == NULL) {
            Py_DECREF(num);
            goto fail;
        }
        int64_t ts;
        SegIn sg;
        int r = FS_UNKNOWN;
        if (t != Py_None && PyUnicode_Check(t)) {
            if (get_i64(PyTuple_GET_ITEM(fr, 0), &ts, -TS_LIMIT, TS_LIMIT) < 0)
                PyErr_Clear(); /* (feed_fast counts it as an error: Python's) */
            else {
                PyObject *data = PyTuple_GET_ITEM(fr, 1);
                r = fast_segment((const uint8_t *)PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data), linktype, &sg);
            }
        }
        if (r == FS_NONE) {
            Py_DECREF(num);
            int ok = PyList_Append(lines, t);
            Py_DECREF(t);
            if (ok < 0)
                goto fail;
            continue;
        }
        if (r != FS_SEG) {
            Py_DECREF(num);
            pending = PyTuple_Pack(1, t);
            Py_DECREF(t);
            if (pending == NULL)
                goto fail;
            break;
        }
        PyObject *e = analyze(c, first + i, ts, &sg), *v = Py_NewRef(Py_None);
        if (e == NULL) {
            Py_DECREF(num);
            Py_DECREF(t);
            Py_DECREF(v);
            goto fail;
        }
        if (rafeed != Py_None && (sg.seglen || sg.flags & (TH_FIN | TH_RST))) {
            PyObject *fargs[3] = {num, fr, e};
            Py_SETREF(v, PyObject_Vectorcall(rafeed, fargs, 3, NULL));
            if (v == NULL) {
                Py_DECREF(num);
                Py_DECREF(t);
                Py_DECREF(e);
                goto fail;
            }
        }
        PyObject *line = NULL;
        if (v == Py_None) {
            PyObject *aargs[5] = {t, num, PyTuple_GET_ITEM(fr, 2), e, nosub};
            line = analysed_line(aargs);
            if (line == NULL) {
                Py_DECREF(num);
                Py_DECREF(t);
                Py_DECREF(e);
                Py_DECREF(v);
                goto fail;
            }
        }
        Py_DECREF(num);
        if (line != NULL && line != Py_None) {
            int ok = PyList_Append(lines, line);
            Py_DECREF(line);
            Py_DECREF(t);
            Py_DECREF(e);
            Py_DECREF(v);
            if (ok < 0)
                goto fail;
            continue;
        }
        Py_XDECREF(line);
        pending = PyTuple_Pack(3, t, e, v);
        Py_DECREF(t);
        Py_DECREF(e);
        Py_DECREF(v);
        if (pending == NULL)
            goto fail;
        break;
    }
    PyObject *res = Py_BuildValue("(NnN)", lines, i, pending != NULL ? pending : Py_NewRef(Py_None));
    return res;
fail:
    Py_DECREF(lines);
    Py_XDECREF(pending);
    return NULL;
}

/* ------------------------------------------------------------------------------------ the type */

static PyObject *core_new(PyTypeObject *tp, PyObject *args, PyObject *kw) {
    Py_ssize_t max = 100000;
    static char *kwlist[] = {"max_conversations", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|n", kwlist, &max))
        return NULL;
    if (max < 1) {
        PyErr_SetString(PyExc_ValueError, "max_conversations >= 1");
        return NULL;
    }
    Core *c = (Core *)tp->tp_alloc(tp, 0);
    if (c != NULL)
        c->max = (size_t)max;
    return (PyObject *)c;
}

static void core_dealloc(Core *c) {
    Conv *v = c->head;
    while (v) {
        Conv *nx = v->next;
        conv_free(v);
        v = nx;
    }
    free(c->buckets);
    Py_TYPE(c)->tp_free((PyObject *)c);
}

static PyObject *core_get_forgotten(Core *c, void *closure) { return PyLong_FromSsize_t(c->forgotten); }
static PyObject *core_get_count(Core *c, void *closure) { return PyLong_FromSize_t(c->count); }
static PyObject *core_get_unacked(Core *c, void *closure) {
    Py_ssize_t n = 0;
    for (Conv *v = c->head; v; v = v->next)
        n += v->flow[0].nsegs + v->flow[1].nsegs;
    return PyLong_FromSsize_t(n);
}

static PyMethodDef core_methods[] = {
    {"analyze", (PyCFunction)(void (*)(void))core_analyze, METH_FASTCALL, "TcpAnalyzer.analyze"},
    {"flags", (PyCFunction)(void (*)(void))core_flags, METH_FASTCALL, "feed_flags for a placed segment"},
    {"frame", (PyCFunction)(void (*)(void))core_frame, METH_FASTCALL,
     "fast_segment and the analysis of a TCP segment in one"},
    {"text_batch", (PyCFunction)(void (*)(void))core_text_batch, METH_FASTCALL,
     "read --analysis' text loop over a list of frames while every part of a frame is native"},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef core_getset[] = {
    {"forgotten", (getter)core_get_forgotten, NULL, "conversations dropped to stay within the limit", NULL},
    {"conversations", (getter)core_get_count, NULL, "conversations held", NULL},
    {"unacked", (getter)core_get_unacked, NULL, "unacknowledged segments held, in all", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

static PyTypeObject CoreType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "sniffer.model._tcpstate.Core",
    .tp_basicsize = sizeof(Core),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "TcpAnalyzer's per-conversation state in C (see model/tcpanalysis.py)",
    .tp_new = core_new,
    .tp_dealloc = (destructor)core_dealloc,
    .tp_methods = core_methods,
    .tp_getset = core_getset,
};

static PyMethodDef mod_methods[] = {
    {"setup", mod_setup, METH_VARARGS, "the tables, from model/tcpanalysis.py"},
    {"segment", mod_segment, METH_O, "fast_segment(frame) in C (tests)"},
    {"analysed_line", (PyCFunction)(void (*)(void))mod_analysed_line, METH_FASTCALL,
     "read --analysis' text line of a TCP frame from its per-packet line"},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef moddef = {PyModuleDef_HEAD_INIT, "_tcpstate", NULL, -1, mod_methods};

PyMODINIT_FUNC PyInit__tcpstate(void) {
    if (PyType_Ready(&CoreType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&moddef);
    if (m == NULL)
        return NULL;
    if (PyModule_AddObjectRef(m, "Core", (PyObject *)&CoreType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
