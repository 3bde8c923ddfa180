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
#include <arpa/inet.h>
#include <sys/socket.h>

#include "../_native.h"

#define NUMS_MAX 65600 /* summary's num table: str(i) for i < 65600; a larger wire length is Python's */

typedef struct {
    char s[256][40];
    uint8_t len[256];
} Names; /* a {0..255: ASCII name} table (len 0: none) */

typedef struct {
    char s[256][80];
    uint8_t len[256];
} LNames; /* the same, for names of up to 79 characters */

typedef struct {
    unsigned type;
    uint8_t len;
    char name[40];
} U16Name; /* a 16-bit code's name (DNS record types, LDP messages), looked up by a linear search */

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
    char echo6[256][40]; /* ICMPv6 echo names (summary._ECHO6_NAMES) */
    uint8_t echo6_len[256];
    /* session 8 (the ext dict; each empty / 0 while its dissector is not the registered one): */
    int vlan;  /* one 802.1Q tag (link.dissect_vlan) */
    int pbb;   /* session 9: 802.1ah's I-TAG before IPv4/IPv6 (tunnels.dissect_pbb): the inner packet's columns */
    int cfp;   /* session 12: Cisco FabricPath (tunnels.dissect_cfp): the inner frame's columns, FCS cut */
    int avsp;  /* session 12: Arista's timestamp header (tunnels.dissect_avsp) before IPv4/IPv6/MPLS */
    int vntag; /* session 12: Cisco's VN-Tag (tunnels.dissect_vntag) before 802.1Q tags and IPv4/IPv6 */
    int ipv6;  /* IPv6 without extension headers (inet.dissect_ipv6) */
    int mptcp; /* MPTCP's column (inet.dissect_tcp's option walk) */
    int ssh;   /* SSH's encrypted packets on port 22 (ssh.dissect_ssh) */
    uint8_t ssh_codes[256]; /* the message codes ssh._plain_packets knows */
    /* session 11: SSH's banners and plain (key exchange) packets: the message names, the names of 30-33 by
     * method (ssh.KEX_NAMES), the host key prefixes, the EC point sizes (a 256-byte table) */
    int ssh_kex;
    Names ssh_names;
    char ssh_kex_s[7][64];
    uint8_t ssh_kex_len[7];
    char ssh_hk[3][4];
    uint8_t ssh_ec[256];
    int vrrp, esp, ah;
    Names pim, ospf, eigrp, ptp; /* full type-name tables (routing.py, l2ctl.py) */
    /* session 9: SCTP (sctp.dissect_sctp): its chunk names, and the ports / PPIDs a DATA chunk's
     * payload has a dissector for (such packets stay Python's) */
    Names sctp;
    /* session 9: DNP3 on TCP/UDP 20000 (ics.dissect_dnp3): link functions (primary, secondary) and the
     * application functions, each with its "Unknown" text */
    int dnp3;
    /* session 9: ICMP errors (types 3, 4, 5, 11, 12) quoting a whole plain UDP datagram: the Info per
     * type and code (codes past 15: the type's name alone) */
    int icmp_err;
    /* session 9: HTTP on its ports (http.dissect_http_port): request methods, the ports, the body media
     * types with a dissector (media type, Protocol column or "", Info suffix) */
    int stp; /* session 9: STP BPDUs in 802.3 + LLC (DSAP 0x42: l2ctl.dissect_stp) */
    /* session 10: tunnels whose inner IPv4/IPv6 packet gives the columns (one level; tunnels.py, inet.py) */
    int pppoe, mpls, gre, geneve, ayiya, gre_udp;
    int n_sip;      /* session 10: SIP over UDP 5060 (voip.dissect_sip): its request methods (0: Python's) */
    struct {
        uint8_t len;
        char s[16];
    } sip_methods[24];
    int v6ext;     /* session 10: IPv6 hop-by-hop / destination options (inet.dissect_hopopts, dissect_dstopts) */
    Names mld, mld_records; /* session 10: MLD's type names (130-132, 143) and MLDv2 records' phrases */
    Names nd; /* session 10: ICMPv6 ND's type names, 133-137 (icmp.dissect_icmpv6, _nd_options); empty: Python's */
    int http;
    uint8_t http_ports[8192];
    int n_http_methods;
    struct {
        uint8_t len;
        char s[16];
    } http_methods[40];
    int n_http_body;
    struct {
        uint8_t mlen, plen, slen;
        char m[48], p[16], s[64];
    } http_body[16];
    char icmp_err_s[5][17][80];
    uint8_t icmp_err_len[5][17];
    Names dnp3_pri, dnp3_sec, dnp3_app;
    uint8_t sctp_ports[8192];
    uint32_t sctp_ppids[64];
    int n_sctp_ppids;
    int ncp; /* NCP over IP on port 524 (legacyfs.dissect_ncp): replies, continuations, these requests: */
    int n_ncp_req;
    struct {
        int fn, sub, handle; /* sub -1: none; handle 1: " - 0x<6-byte file handle>" follows the text,
                                2: ": <the request's path>" (legacyfs._ncp_path) */
        uint8_t len;
        char text[64];
    } ncp_req[32];
    int rx;                 /* RX / AFS (legacyfs.dissect_rx) on these UDP ports: */
    uint8_t rx_is[8192];    /* bit per port */
    PyObject *rx_ports;     /* {port: (service, {opcode: name})} (names checked ASCII) */
    PyObject *rx_calls;     /* legacyfs._RX_CALLS, the live (epoch, cid, call) -> opcode map */
    int no_state;           /* set while export's columns() formats: AFS (state) declines */
    Names rx_types, rx_acks; /* the packet types' names, "ACK <reason>" */
    int dec;                  /* DECnet routing layer and NSP (l2ctl.dissect_dec_dna): its tables */
    Names dec_control, dec_nsp, dec_seg, dec_fcmod;
    int bfd;                  /* BFD control (routing.dissect_bfd) on UDP 3784 and 4784: diagnostics, states */
    Names bfd_diag, bfd_states;
    int dhcp;                 /* DHCP (app.dissect_dhcp) on UDP 67 and 68: the message types' texts */
    Names dhcp_types;         /* "Discover", ... ; str(n) for the others */
    unsigned ntp_port;        /* NTP (mgmt.dissect_ntp) on this UDP port (0: none): modes, mode 7's requests */
    Names ntp_modes, ntp_priv;
    int dns;                  /* DNS and MDNS queries over UDP (app.dissect_dns, dissect_mdns) */
    unsigned dns_port, mdns_port, llmnr_port; /* (LLMNR: session 11; 0: Python's) */
    Names dns_ops, dns_rcodes; /* the opcodes' and reply codes' names, 0-15 */
    int n_dns_types;
    U16Name dns_types[128]; /* app.DNS_TYPES */
    int n_text;               /* line protocols over TCP (decode.text): the first line as the Info */
    struct {
        unsigned port;
        int style; /* 0: FTP ("Request: " / "Response: "), 1: POP/SMTP ("C: " / "S: ") */
        uint8_t len;
        char proto[16];
    } text[8];
    int n_rpc;                /* ONC RPC's replies (rpc.dissect_rpc_tcp/_udp) on these ports: */
    struct {
        unsigned port;
        uint8_t len;
        char proto[24]; /* the Protocol column of a reply from that port */
    } rpc[8];
    int n_rpc_progs; /* session 10: ONC RPC calls (rpc._call): the programs' columns, procedures, argument names */
    struct {
        uint32_t prog;
        uint8_t len;
        char col[16];
        Names procs;
    } rpc_progs[8];
    Names rpc_access, rpc_stable, rpc_create, rpc_ipproto;
    int smb2; /* session 10: SMB2 in an NBSS session message on TCP 139/445 (netbios.dissect_nbss, smb._smb2) */
    Names smb2_cmds, smb2_getinfo, smb2_file_classes, smb2_fs_classes, ntlmssp_types;
    int n_nt_status;
    struct {
        uint32_t code;
        uint8_t len;
        char s[48];
    } nt_status[64];
    int tls; /* session 10: TLS records (tls.dissect_tls) on its ports and by its TCP heuristic: */
    uint8_t tls_ports[8192]; /* bit per port whose dissector is tls.dissect_tls_port */
    Names tls_versions, tls_alert_levels, tls_alerts; /* versions by minor (3.x), alert levels, descriptions */
    uint8_t tls_hs[256];     /* tls.HANDSHAKE_TYPES: 1 for a known type */
    Names tls_hs_names;      /* session 11: their names (handshake messages are the walker's too) */
    unsigned ldap_tls;       /* session 11: LDAP's port, whose TLS records (after StartTLS) go to TLS (aaa.dissect_ldap) */
    unsigned tls_sv_ext;     /* session 11: the supported_versions extension's type (0: handshakes are Python's) */
    int nbns; /* session 10: NBNS on UDP 137 (netbios.dissect_nbns): opcodes, reply codes, record types */
    Names nbns_ops, nbns_rcodes, nbns_types;
    int snmp;        /* session 10: SNMP v1/v2c on UDP 161/162 (snmp.dissect_snmp): the PDU types' names */
    Names snmp_pdus;
    /* session 11: LLDP (l2ctl.dissect_lldp): the chassis and port id subtypes' abbreviations; UDLD in
     * SNAP (dissect_udld); EAPOL and EAP (dissect_eapol, dissect_eap): full name tables, unknowns too */
    int lldp, udld, eap;
    /* session 11: IPX in 802.3 + LLC and ethertype 0x8137 (l2ctl.dissect_ipx): SAP's and RIP's packet types
     * (1-255; "Unknown Packet Type" past them), NBIPX's types (full) */
    /* session 11: DCE/RPC (dcerpc.dissect_dcerpc) on this TCP port and by its heuristic: PDU types, results,
     * the UUID names Wireshark knows ("xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" -> name) */
    unsigned dcerpc;
    Names dce_ptypes, dce_results;
    int n_dce_uuids;
    struct {
        char uuid[37];
        uint8_t len;
        char name[32];
    } dce_uuids[48];
    unsigned irc; /* session 11: IRC on this TCP port (text.dissect_irc; 0: none) */
    int igmp3; /* session 11: IGMPv3 queries and reports (igmp._v3_query, _v3_report): the report's name, the
                  records' phrases (RECORD_INFO, "Record type N" for the others) */
    char igmp3_report[40];
    uint8_t igmp3_report_len;
    Names igmp3_records;
    unsigned bgp; /* session 11: BGP on this TCP port (routing.dissect_bgp; 0: none): the message types' names */
    Names bgp_types;
    unsigned mysql; /* session 11: MySQL on this TCP port (db.dissect_mysql; 0: none): the commands' names */
    Names mysql_cmds;
    int ipx;
    Names ipx_sap, ipx_rip, nbipx_types;
    Names lldp_chassis, lldp_port;
    LNames eapol_types, eap_codes, eap_types;
    Names ip_unknown; /* session 11: the IP protocols without a dissector: their descriptions (ipproto.py) */
    unsigned ldp; /* session 11: LDP on this UDP and TCP port (routing.dissect_ldp; 0: none): message names */
    int n_ldp_msgs;
    U16Name ldp_msgs[32];
    Names pgm_types, pgm_poll; /* session 11: PGM (routing.dissect_pgm): types, POLL subtypes (empty: Python's) */
    /* session 11: ISAKMP on this UDP port and UDP-encapsulated IPsec on that one (tunnels.dissect_isakmp,
     * dissect_udpencap; 0: none): the exchange types' names */
    unsigned isakmp, udpencap;
    /* session 11: NBDS on this UDP port (netbios.dissect_nbds; 0: none), the SMB1 it carries (smb._smb1:
     * commands) and the Browser protocol in a mailslot (smb._browser: commands, server type bits) */
    unsigned nbds;
    Names nbds_types, smb1_cmds, browser_cmds;
    int n_server_types;
    struct {
        uint32_t bit;
        uint8_t len;
        char name[32];
    } server_types[32];
    /* session 11: RADIUS on these UDP ports (aaa.dissect_radius): codes; Kerberos on this UDP/TCP port
     * (aaa._kerberos; 0: none): message types (errors stay Python's) */
    uint8_t radius_ports[8192];
    int radius;
    Names radius_codes, krb_types;
    unsigned krb;
    Names isakmp_ex;
    int pvst; /* session 11: Cisco PVST+ (SNAP 00:00:0c/0x010b: l2ctl.dissect_stp) */
    int qinq; /* session 11: 802.1ad S-tags (0x88a8) and old QinQ tags (0x9100) as 802.1Q's */
    int bogus_ip; /* session 11: IPv4 with a bogus version or header length, IPv6 headers cut (inet.py) */
    Names isis_names; /* session 11: IS-IS after 802.3 + LLC (l2ctl.dissect_osi, dissect_isis): the PDU types' names */
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
    Py_XDECREF(w->rx_ports);
    Py_XDECREF(w->rx_calls);
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

/* ext[key] as a flag (absent: 0); -1 on error */
static int ext_flag(PyObject *ext, const char *key);

/* a {code (<= max_code): ASCII name} dict into a (at most cap entries, names of 1-39 characters); -1 on error */
static int u16_names(PyObject *d, U16Name *a, int cap, long max_code, int *n, const char *what) {
    PyObject *k, *v;
    Py_ssize_t pos = 0;
    *n = 0;
    if (!PyDict_Check(d) || PyDict_GET_SIZE(d) > cap) {
        PyErr_Format(PyExc_ValueError, "Walker: %s: a dict of <= %d names", what, cap);
        return -1;
    }
    while (PyDict_Next(d, &pos, &k, &v)) {
        long t = PyLong_AsLong(k);
        if (t < 0 || t > max_code || !PyUnicode_Check(v) || !PyUnicode_IS_ASCII(v) || PyUnicode_GET_LENGTH(v) > 39 ||
            PyUnicode_GET_LENGTH(v) == 0) {
            PyErr_Clear();
            PyErr_Format(PyExc_ValueError, "Walker: %s: {code: ASCII name of 1-39 characters}", what);
            return -1;
        }
        a[*n].type = (unsigned)t;
        a[*n].len = (uint8_t)PyUnicode_GET_LENGTH(v);
        memcpy(a[*n].name, PyUnicode_DATA(v), a[*n].len);
        (*n)++;
    }
    return 0;
}

/* d[key], if there, a 16-bit number (a port, an extension type) into *out; -1 (an error set) otherwise */
static int ext_u16(PyObject *d, const char *key, unsigned *out) {
    PyObject *v = PyDict_GetItemString(d, key);
    if (v == NULL)
        return 0;
    long x = PyLong_AsLong(v);
    if (x < 0 || x > 65535) {
        PyErr_Clear();
        PyErr_Format(PyExc_ValueError, "Walker: %s: a number of 0-65535", key);
        return -1;
    }
    *out = (unsigned)x;
    return 0;
}

/* ext[key] as a full {0..255: ASCII str of < 80 characters} dict into t (absent: none); -1 on error */
static int ext_lnames(PyObject *ext, const char *key, LNames *t) {
    PyObject *d = PyDict_GetItemString(ext, key), *k, *v;
    Py_ssize_t ppos = 0;
    if (d == NULL)
        return 0;
    if (!PyDict_Check(d) || PyDict_Size(d) != 256) {
        PyErr_Format(PyExc_ValueError, "Walker: %s: a dict of 256 names is needed", key);
        return -1;
    }
    while (PyDict_Next(d, &ppos, &k, &v)) {
        long i = PyLong_AsLong(k);
        if (i < 0 || i > 255 || !PyUnicode_Check(v) || !PyUnicode_IS_ASCII(v) || PyUnicode_GET_LENGTH(v) > 79 ||
            PyUnicode_GET_LENGTH(v) == 0) {
            if (!PyErr_Occurred())
                PyErr_Format(PyExc_ValueError, "Walker: %s: {0..255: ASCII str of 1-79 characters}", key);
            return -1;
        }
        t->len[i] = (uint8_t)PyUnicode_GET_LENGTH(v);
        memcpy(t->s[i], PyUnicode_DATA(v), t->len[i]);
    }
    return 1;
}

static int ext_flag(PyObject *ext, const char *key) {
    PyObject *v = PyDict_GetItemString(ext, key);
    return v == NULL ? 0 : PyObject_IsTrue(v);
}

/* ext[key] (a {0..255: ASCII str} dict, absent or empty: none) into t; -1 on error */
static int ext_names(PyObject *ext, const char *key, Names *t) {
    PyObject *v = PyDict_GetItemString(ext, key);
    if (v == NULL)
        return 0;
    if (!PyDict_Check(v)) {
        PyErr_Format(PyExc_ValueError, "Walker: %s: a dict is needed", key);
        return -1;
    }
    return name_table(v, t->s, t->len, 0, "Walker: names: {0..255: non-empty ASCII str}");
}

/* The session-8 tables: {"vlan", "ipv6", "mptcp", "vrrp", "esp": bool, "echo6", "pim", "ospf", "eigrp",
 * "ptp": {int: str}, "ssh": 256-byte table of SSH's message codes (absent: SSH is Python's)} */
static int ext_tables(Walker *w, PyObject *ext) {
    if ((w->vlan = ext_flag(ext, "vlan")) < 0 || (w->ipv6 = ext_flag(ext, "ipv6")) < 0 ||
        (w->mptcp = ext_flag(ext, "mptcp")) < 0 || (w->vrrp = ext_flag(ext, "vrrp")) < 0 ||
        (w->esp = ext_flag(ext, "esp")) < 0 || (w->ah = ext_flag(ext, "ah")) < 0 ||
        (w->pbb = ext_flag(ext, "pbb")) < 0 || (w->stp = ext_flag(ext, "stp")) < 0 ||
        (w->cfp = ext_flag(ext, "cfp")) < 0 || (w->avsp = ext_flag(ext, "avsp")) < 0 ||
        (w->vntag = ext_flag(ext, "vntag")) < 0 ||
        (w->pppoe = ext_flag(ext, "pppoe")) < 0 || (w->mpls = ext_flag(ext, "mpls")) < 0 ||
        (w->gre = ext_flag(ext, "gre")) < 0 || (w->geneve = ext_flag(ext, "geneve")) < 0 ||
        (w->ayiya = ext_flag(ext, "ayiya")) < 0 || (w->gre_udp = ext_flag(ext, "gre_udp")) < 0)
        return -1;
    PyObject *e6 = PyDict_GetItemString(ext, "echo6");
    if (e6 != NULL && (!PyDict_Check(e6) || name_table(e6, w->echo6, w->echo6_len, 1, "Walker: echo6") < 0)) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "Walker: echo6: a dict is needed");
        return -1;
    }
    PyObject *sm = PyDict_GetItemString(ext, "sip_methods");
    if (sm != NULL) { /* a tuple of ASCII bytes, each < 16 */
        if (!PyTuple_Check(sm) || PyTuple_GET_SIZE(sm) > 24) {
            PyErr_SetString(PyExc_ValueError, "Walker: sip_methods: a tuple of <= 24 bytes is needed");
            return -1;
        }
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(sm); i++) {
            PyObject *b = PyTuple_GET_ITEM(sm, i);
            if (!PyBytes_Check(b) || PyBytes_GET_SIZE(b) < 1 || PyBytes_GET_SIZE(b) > 15) {
                PyErr_SetString(PyExc_ValueError, "Walker: sip_methods: bytes of 1-15 characters");
                return -1;
            }
            w->sip_methods[i].len = (uint8_t)PyBytes_GET_SIZE(b);
            memcpy(w->sip_methods[i].s, PyBytes_AS_STRING(b), (size_t)PyBytes_GET_SIZE(b));
        }
        w->n_sip = (int)PyTuple_GET_SIZE(sm);
    }
    int e1, e2, e3;
    if ((e1 = ext_lnames(ext, "eapol_types", &w->eapol_types)) < 0 ||
        (e2 = ext_lnames(ext, "eap_codes", &w->eap_codes)) < 0 || (e3 = ext_lnames(ext, "eap_types", &w->eap_types)) < 0)
        return -1;
    w->eap = e1 && e2 && e3;
    if (ext_names(ext, "mysql", &w->mysql_cmds) < 0)
        return -1;
    PyObject *i3 = PyDict_GetItemString(ext, "igmp3"); /* {"report": str, "records": {0..255: str}} */
    if (i3 != NULL) {
        PyObject *rn = PyDict_Check(i3) ? PyDict_GetItemString(i3, "report") : NULL;
        if (rn == NULL || !PyUnicode_Check(rn) || !PyUnicode_IS_ASCII(rn) || PyUnicode_GET_LENGTH(rn) > 39 ||
            ext_names(i3, "records", &w->igmp3_records) < 0) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_ValueError, "Walker: igmp3: {report: str, records: {int: str}}");
            return -1;
        }
        w->igmp3_report_len = (uint8_t)PyUnicode_GET_LENGTH(rn);
        memcpy(w->igmp3_report, PyUnicode_DATA(rn), w->igmp3_report_len);
        w->igmp3 = 1;
    }
    PyObject *dce = PyDict_GetItemString(ext, "dcerpc"); /* {"port", "ptypes", "results", "uuids": ((str, str),)} */
    if (dce != NULL) {
        PyObject *port = PyDict_Check(dce) ? PyDict_GetItemString(dce, "port") : NULL;
        PyObject *uu = port != NULL ? PyDict_GetItemString(dce, "uuids") : NULL;
        if (uu == NULL || !PyTuple_Check(uu) || PyTuple_GET_SIZE(uu) > 48 || ext_names(dce, "ptypes", &w->dce_ptypes) < 0 ||
            ext_names(dce, "results", &w->dce_results) < 0) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_ValueError, "Walker: dcerpc: {port, ptypes, results, uuids}");
            return -1;
        }
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(uu); i++) {
            PyObject *it = PyTuple_GET_ITEM(uu, i), *a, *b;
            if (!PyTuple_Check(it) || PyTuple_GET_SIZE(it) != 2 || !PyUnicode_Check(a = PyTuple_GET_ITEM(it, 0)) ||
                !PyUnicode_Check(b = PyTuple_GET_ITEM(it, 1)) || !PyUnicode_IS_ASCII(a) || !PyUnicode_IS_ASCII(b) ||
                PyUnicode_GET_LENGTH(a) != 36 || PyUnicode_GET_LENGTH(b) > 31) {
                PyErr_SetString(PyExc_ValueError, "Walker: dcerpc: uuids: ((36-char uuid, name < 32),)");
                return -1;
            }
            memcpy(w->dce_uuids[i].uuid, PyUnicode_DATA(a), 36);
            w->dce_uuids[i].len = (uint8_t)PyUnicode_GET_LENGTH(b);
            memcpy(w->dce_uuids[i].name, PyUnicode_DATA(b), w->dce_uuids[i].len);
        }
        w->n_dce_uuids = (int)PyTuple_GET_SIZE(uu);
        long pn = PyLong_AsLong(port);
        if (pn < 1 || pn > 65535) {
            PyErr_Clear();
            PyErr_SetString(PyExc_ValueError, "Walker: dcerpc: port");
            return -1;
        }
        w->dcerpc = (unsigned)pn;
    }
    if (ext_u16(ext, "irc_port", &w->irc) < 0)
        return -1;
    if (ext_names(ext, "bgp", &w->bgp_types) < 0 || ext_u16(ext, "bgp_port", &w->bgp) < 0)
        return -1;
    if (ext_u16(ext, "mysql_port", &w->mysql) < 0)
        return -1;
    PyObject *ipx = PyDict_GetItemString(ext, "ipx"); /* (SAP types, RIP types, NBIPX types) */
    if (ipx != NULL) {
        if (!PyDict_Check(ipx) || ext_names(ipx, "sap", &w->ipx_sap) < 0 || ext_names(ipx, "rip", &w->ipx_rip) < 0 ||
            ext_names(ipx, "nbipx", &w->nbipx_types) < 0) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_ValueError, "Walker: ipx: a dict is needed");
            return -1;
        }
        w->ipx = 1;
    }
    if ((w->udld = ext_flag(ext, "udld")) < 0 || ext_names(ext, "lldp_chassis", &w->lldp_chassis) < 0 ||
        ext_names(ext, "lldp_port", &w->lldp_port) < 0 || (w->lldp = ext_flag(ext, "lldp")) < 0)
        return -1;
    PyObject *nd = PyDict_GetItemString(ext, "nbds"); /* {port, types, smb1, browser, server_types: ((bit, name),)} */
    if (nd != NULL) {
        PyObject *np = PyDict_Check(nd) ? PyDict_GetItemString(nd, "port") : NULL;
        PyObject *st = np != NULL ? PyDict_GetItemString(nd, "server_types") : NULL;
        long port = np != NULL ? PyLong_AsLong(np) : -1;
        if (st == NULL || !PyTuple_Check(st) || PyTuple_GET_SIZE(st) > 32 || port < 1 || port > 65535 ||
            ext_names(nd, "types", &w->nbds_types) < 0 || ext_names(nd, "smb1", &w->smb1_cmds) < 0 ||
            ext_names(nd, "browser", &w->browser_cmds) < 0) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_ValueError, "Walker: nbds: {port, types, smb1, browser, server_types}");
            return -1;
        }
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(st); i++) {
            PyObject *it = PyTuple_GET_ITEM(st, i), *nm;
            if (!PyTuple_Check(it) || PyTuple_GET_SIZE(it) != 2 || !PyUnicode_Check(nm = PyTuple_GET_ITEM(it, 1)) ||
                !PyUnicode_IS_ASCII(nm) || PyUnicode_GET_LENGTH(nm) > 31) {
                PyErr_SetString(PyExc_ValueError, "Walker: nbds: server_types: ((bit, name),)");
                return -1;
            }
            w->server_types[i].bit = (uint32_t)PyLong_AsUnsignedLong(PyTuple_GET_ITEM(it, 0));
            if (PyErr_Occurred())
                return -1;
            w->server_types[i].len = (uint8_t)PyUnicode_GET_LENGTH(nm);
            memcpy(w->server_types[i].name, PyUnicode_DATA(nm), w->server_types[i].len);
        }
        w->n_server_types = (int)PyTuple_GET_SIZE(st);
        w->nbds = (unsigned)port;
    }
    PyObject *ra = PyDict_GetItemString(ext, "radius"); /* ((port, ...), {code: name}) */
    if (ra != NULL) {
        PyObject *rp = PyTuple_Check(ra) && PyTuple_GET_SIZE(ra) == 2 ? PyTuple_GET_ITEM(ra, 0) : NULL;
        if (rp == NULL || !PyTuple_Check(rp) || !PyDict_Check(PyTuple_GET_ITEM(ra, 1)) ||
            name_table(PyTuple_GET_ITEM(ra, 1), w->radius_codes.s, w->radius_codes.len, 0, "Walker: radius") < 0) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_ValueError, "Walker: radius: ((port,), {code: name})");
            return -1;
        }
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(rp); i++) {
            long port = PyLong_AsLong(PyTuple_GET_ITEM(rp, i));
            if (port < 0 || port > 65535) {
                PyErr_Clear();
                PyErr_SetString(PyExc_ValueError, "Walker: radius: ports");
                return -1;
            }
            w->radius_ports[port >> 3] |= (uint8_t)(1 << (port & 7));
        }
        w->radius = 1;
    }
    PyObject *kr = PyDict_GetItemString(ext, "krb"); /* (port, {type: name}) */
    if (kr != NULL) {
        long kp = PyTuple_Check(kr) && PyTuple_GET_SIZE(kr) == 2 ? PyLong_AsLong(PyTuple_GET_ITEM(kr, 0)) : -1;
        if (kp < 1 || kp > 65535 || !PyDict_Check(PyTuple_GET_ITEM(kr, 1)) ||
            name_table(PyTuple_GET_ITEM(kr, 1), w->krb_types.s, w->krb_types.len, 0, "Walker: krb") < 0) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_ValueError, "Walker: krb: (port, {type: name})");
            return -1;
        }
        w->krb = (unsigned)kp;
    }
    PyObject *ik = PyDict_GetItemString(ext, "isakmp"); /* (port, udpencap port or 0, {exchange: name}) */
    if (ik != NULL) {
        long p1 = -1, p2 = -1;
        if (PyTuple_Check(ik) && PyTuple_GET_SIZE(ik) == 3) {
            p1 = PyLong_AsLong(PyTuple_GET_ITEM(ik, 0));
            p2 = PyLong_AsLong(PyTuple_GET_ITEM(ik, 1));
        }
        if (p1 < 1 || p1 > 65535 || p2 < 0 || p2 > 65535 || !PyDict_Check(PyTuple_GET_ITEM(ik, 2))) {
            PyErr_Clear();
            PyErr_SetString(PyExc_ValueError, "Walker: isakmp: (port, port, {int: str})");
            return -1;
        }
        if (name_table(PyTuple_GET_ITEM(ik, 2), w->isakmp_ex.s, w->isakmp_ex.len, 0, "Walker: isakmp names") < 0)
            return -1;
        w->isakmp = (unsigned)p1;
        w->udpencap = (unsigned)p2;
    }
    PyObject *ldp = PyDict_GetItemString(ext, "ldp"); /* (port, {type: name}) */
    if (ldp != NULL) {
        PyObject *lm = PyTuple_Check(ldp) && PyTuple_GET_SIZE(ldp) == 2 ? PyTuple_GET_ITEM(ldp, 1) : NULL;
        long lp = lm != NULL ? PyLong_AsLong(PyTuple_GET_ITEM(ldp, 0)) : -1;
        if (lm == NULL || lp < 1 || lp > 65535) {
            PyErr_Clear();
            PyErr_SetString(PyExc_ValueError, "Walker: ldp: (port, {type: name})");
            return -1;
        }
        if (u16_names(lm, w->ldp_msgs, 32, 0x7FFF, &w->n_ldp_msgs, "ldp") < 0)
            return -1;
        w->ldp = (unsigned)lp;
    }
    if (ext_names(ext, "pgm_types", &w->pgm_types) < 0 || ext_names(ext, "pgm_poll", &w->pgm_poll) < 0)
        return -1;
    if (ext_names(ext, "isis", &w->isis_names) < 0 || ext_names(ext, "ip_unknown", &w->ip_unknown) < 0 || (w->bogus_ip = ext_flag(ext, "bogus_ip")) < 0 ||
        (w->qinq = ext_flag(ext, "qinq")) < 0 || (w->pvst = ext_flag(ext, "pvst")) < 0)
        return -1;
    if ((w->v6ext = ext_flag(ext, "v6ext")) < 0 || ext_names(ext, "mld", &w->mld) < 0 ||
        ext_names(ext, "mld_records", &w->mld_records) < 0)
        return -1;
    if (ext_names(ext, "nd", &w->nd) < 0 || ext_names(ext, "pim", &w->pim) < 0 || ext_names(ext, "ospf", &w->ospf) < 0 ||
        ext_names(ext, "eigrp", &w->eigrp) < 0 || ext_names(ext, "ptp", &w->ptp) < 0 ||
        ext_names(ext, "sctp", &w->sctp) < 0 || ext_names(ext, "dnp3_pri", &w->dnp3_pri) < 0 ||
        ext_names(ext, "dnp3_sec", &w->dnp3_sec) < 0 || ext_names(ext, "dnp3_app", &w->dnp3_app) < 0)
        return -1;
    w->dnp3 = w->dnp3_pri.len[0] && w->dnp3_sec.len[0] && w->dnp3_app.len[0];
    PyObject *ht = PyDict_GetItemString(ext, "http"); /* (ports bitmap, (methods), ((mtype, proto, suffix), ...)) */
    if (ht != NULL) {
        PyObject *hp, *hm, *hb;
        if (!PyArg_ParseTuple(ht, "SOO", &hp, &hm, &hb) || PyBytes_GET_SIZE(hp) != 8192 || !PyTuple_Check(hm) ||
            PyTuple_GET_SIZE(hm) > 40 || !PyTuple_Check(hb) || PyTuple_GET_SIZE(hb) > 16) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_ValueError, "Walker: http: (8192-byte ports, <= 40 methods, <= 16 bodies)");
            return -1;
        }
        memcpy(w->http_ports, PyBytes_AS_STRING(hp), 8192);
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(hm); i++) {
            PyObject *m = PyTuple_GET_ITEM(hm, i);
            if (!PyBytes_Check(m) || PyBytes_GET_SIZE(m) > 15 || PyBytes_GET_SIZE(m) == 0) {
                PyErr_SetString(PyExc_ValueError, "Walker: http: methods of 1-15 bytes");
                return -1;
            }
            w->http_methods[i].len = (uint8_t)PyBytes_GET_SIZE(m);
            memcpy(w->http_methods[i].s, PyBytes_AS_STRING(m), (size_t)PyBytes_GET_SIZE(m));
            w->n_http_methods++;
        }
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(hb); i++) {
            PyObject *bm, *bp, *bs;
            if (!PyArg_ParseTuple(PyTuple_GET_ITEM(hb, i), "UUU", &bm, &bp, &bs))
                return -1;
            if (!PyUnicode_IS_ASCII(bm) || !PyUnicode_IS_ASCII(bp) || !PyUnicode_IS_ASCII(bs) ||
                PyUnicode_GET_LENGTH(bm) > 47 || PyUnicode_GET_LENGTH(bp) > 15 || PyUnicode_GET_LENGTH(bs) > 63) {
                PyErr_SetString(PyExc_ValueError, "Walker: http: body texts too long");
                return -1;
            }
            w->http_body[i].mlen = (uint8_t)PyUnicode_GET_LENGTH(bm);
            w->http_body[i].plen = (uint8_t)PyUnicode_GET_LENGTH(bp);
            w->http_body[i].slen = (uint8_t)PyUnicode_GET_LENGTH(bs);
            memcpy(w->http_body[i].m, PyUnicode_DATA(bm), w->http_body[i].mlen);
            memcpy(w->http_body[i].p, PyUnicode_DATA(bp), w->http_body[i].plen);
            memcpy(w->http_body[i].s, PyUnicode_DATA(bs), w->http_body[i].slen);
            w->n_http_body++;
        }
        w->http = 1;
    }
    PyObject *ie = PyDict_GetItemString(ext, "icmp_err"); /* {slot * 256 + code (16: other codes): str} */
    if (ie != NULL) {
        PyObject *k, *v;
        Py_ssize_t ppos = 0;
        if (!PyDict_Check(ie) || PyDict_GET_SIZE(ie) != 5 * 17) {
            PyErr_SetString(PyExc_ValueError, "Walker: icmp_err: 85 texts are needed");
            return -1;
        }
        while (PyDict_Next(ie, &ppos, &k, &v)) {
            long key = PyLong_AsLong(k);
            if (key < 0 || key / 256 > 4 || key % 256 > 16 || !PyUnicode_Check(v) || !PyUnicode_IS_ASCII(v) ||
                PyUnicode_GET_LENGTH(v) > 79 || PyUnicode_GET_LENGTH(v) == 0) {
                if (!PyErr_Occurred())
                    PyErr_SetString(PyExc_ValueError, "Walker: icmp_err: {slot * 256 + code: ASCII str}");
                return -1;
            }
            w->icmp_err_len[key / 256][key % 256] = (uint8_t)PyUnicode_GET_LENGTH(v);
            memcpy(w->icmp_err_s[key / 256][key % 256], PyUnicode_DATA(v), (size_t)PyUnicode_GET_LENGTH(v));
        }
        w->icmp_err = 1;
    }
    if (w->sctp.len[0]) { /* "sctp_ports": an 8192-byte bitmap; "sctp_ppids": <= 64 ints */
        PyObject *sp = PyDict_GetItemString(ext, "sctp_ports"), *pp = PyDict_GetItemString(ext, "sctp_ppids");
        if (sp == NULL || !PyBytes_Check(sp) || PyBytes_GET_SIZE(sp) != 8192 || pp == NULL || !PyTuple_Check(pp) ||
            PyTuple_GET_SIZE(pp) > 64) {
            PyErr_SetString(PyExc_ValueError, "Walker: sctp_ports (8192 bytes) and sctp_ppids (<= 64) are needed");
            return -1;
        }
        memcpy(w->sctp_ports, PyBytes_AS_STRING(sp), 8192);
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(pp); i++) {
            unsigned long v = PyLong_AsUnsignedLong(PyTuple_GET_ITEM(pp, i));
            if (v == (unsigned long)-1 && PyErr_Occurred())
                return -1;
            w->sctp_ppids[w->n_sctp_ppids++] = (uint32_t)v;
        }
    }
    PyObject *ncp = PyDict_GetItemString(ext, "ncp");
    if (ncp != NULL) {
        if (!PyList_Check(ncp) || PyList_GET_SIZE(ncp) > 32) {
            PyErr_SetString(PyExc_ValueError, "Walker: ncp: a list of <= 32 (fn, sub, text, handle)");
            return -1;
        }
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(ncp); i++) {
            PyObject *text;
            int fn, sub, handle;
            if (!PyArg_ParseTuple(PyList_GET_ITEM(ncp, i), "iiUi", &fn, &sub, &text, &handle))
                return -1;
            if (!PyUnicode_IS_ASCII(text) || PyUnicode_GET_LENGTH(text) > 63 || fn < 0 || fn > 255 ||
                sub < -1 || sub > 255 || handle < 0 || handle > 2) {
                PyErr_SetString(PyExc_ValueError, "Walker: ncp: bad entry");
                return -1;
            }
            w->ncp_req[i].fn = fn;
            w->ncp_req[i].sub = sub;
            w->ncp_req[i].handle = handle;
            w->ncp_req[i].len = (uint8_t)PyUnicode_GET_LENGTH(text);
            memcpy(w->ncp_req[i].text, PyUnicode_DATA(text), w->ncp_req[i].len);
        }
        w->n_ncp_req = (int)PyList_GET_SIZE(ncp);
        w->ncp = 1;
    }
    PyObject *rx = PyDict_GetItemString(ext, "rx");
    if (rx != NULL) {
        PyObject *rp, *calls, *types, *acks;
        if (!PyArg_ParseTuple(rx, "O!O!O!O!", &PyDict_Type, &rp, &PyDict_Type, &calls, &PyDict_Type, &types,
                              &PyDict_Type, &acks))
            return -1;
        if (name_table(types, w->rx_types.s, w->rx_types.len, 0, "Walker: rx types") < 0 ||
            name_table(acks, w->rx_acks.s, w->rx_acks.len, 0, "Walker: rx acks") < 0)
            return -1;
        PyObject *k, *v, *k2, *v2;
        Py_ssize_t pos = 0;
        while (PyDict_Next(rp, &pos, &k, &v)) {
            long port = PyLong_AsLong(k);
            PyObject *svc, *ops;
            if (port < 0 || port > 65535 || !PyTuple_Check(v) || PyTuple_GET_SIZE(v) != 2 ||
                !PyUnicode_Check(svc = PyTuple_GET_ITEM(v, 0)) || !PyUnicode_IS_ASCII(svc) ||
                PyUnicode_GET_LENGTH(svc) > 20 || !PyDict_Check(ops = PyTuple_GET_ITEM(v, 1))) {
                if (!PyErr_Occurred())
                    PyErr_SetString(PyExc_ValueError, "Walker: rx ports: {port: (service, {opcode: name})}");
                return -1;
            }
            Py_ssize_t pos2 = 0;
            while (PyDict_Next(ops, &pos2, &k2, &v2)) {
                if (!PyLong_Check(k2) || !PyUnicode_Check(v2) || !PyUnicode_IS_ASCII(v2) ||
                    PyUnicode_GET_LENGTH(v2) > 60 || PyUnicode_GET_LENGTH(v2) == 0) {
                    PyErr_SetString(PyExc_ValueError, "Walker: rx opcode names: {int: ASCII str}");
                    return -1;
                }
            }
            w->rx_is[port >> 3] |= (uint8_t)(1 << (port & 7));
        }
        w->rx_ports = Py_NewRef(rp);
        w->rx_calls = Py_NewRef(calls);
        w->rx = 1;
    }
    PyObject *dec = PyDict_GetItemString(ext, "dec");
    if (dec != NULL) {
        PyObject *c, *nsp, *seg, *fc;
        if (!PyArg_ParseTuple(dec, "O!O!O!O!", &PyDict_Type, &c, &PyDict_Type, &nsp, &PyDict_Type, &seg,
                              &PyDict_Type, &fc) ||
            name_table(c, w->dec_control.s, w->dec_control.len, 0, "Walker: dec control") < 0 ||
            name_table(nsp, w->dec_nsp.s, w->dec_nsp.len, 0, "Walker: dec nsp") < 0 ||
            name_table(seg, w->dec_seg.s, w->dec_seg.len, 0, "Walker: dec segments") < 0 ||
            name_table(fc, w->dec_fcmod.s, w->dec_fcmod.len, 0, "Walker: dec fcmod") < 0)
            return -1;
        w->dec = 1;
    }
    PyObject *bfd = PyDict_GetItemString(ext, "bfd");
    if (bfd != NULL) {
        PyObject *diag, *states;
        if (!PyArg_ParseTuple(bfd, "O!O!", &PyDict_Type, &diag, &PyDict_Type, &states) ||
            name_table(diag, w->bfd_diag.s, w->bfd_diag.len, 0, "Walker: bfd diagnostics") < 0 ||
            name_table(states, w->bfd_states.s, w->bfd_states.len, 0, "Walker: bfd states") < 0)
            return -1;
        w->bfd = 1;
    }
    PyObject *dhcp = PyDict_GetItemString(ext, "dhcp");
    if (dhcp != NULL) {
        if (!PyDict_Check(dhcp) || name_table(dhcp, w->dhcp_types.s, w->dhcp_types.len, 0, "Walker: dhcp") < 0)
            return -1;
        w->dhcp = 1;
    }
    PyObject *ntp = PyDict_GetItemString(ext, "ntp");
    if (ntp != NULL) {
        PyObject *modes, *priv;
        int port;
        if (!PyArg_ParseTuple(ntp, "iO!O!", &port, &PyDict_Type, &modes, &PyDict_Type, &priv) ||
            name_table(modes, w->ntp_modes.s, w->ntp_modes.len, 0, "Walker: ntp modes") < 0 ||
            name_table(priv, w->ntp_priv.s, w->ntp_priv.len, 0, "Walker: ntp requests") < 0)
            return -1;
        if (port <= 0 || port > 65535) {
            PyErr_SetString(PyExc_ValueError, "Walker: ntp port");
            return -1;
        }
        w->ntp_port = (unsigned)port;
    }
    PyObject *text = PyDict_GetItemString(ext, "text");
    if (text != NULL) {
        if (!PyList_Check(text) || PyList_GET_SIZE(text) > 8) {
            PyErr_SetString(PyExc_ValueError, "Walker: text: a list of <= 8 (port, protocol, style)");
            return -1;
        }
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(text); i++) {
            int port, style;
            PyObject *proto;
            if (!PyArg_ParseTuple(PyList_GET_ITEM(text, i), "iUi", &port, &proto, &style))
                return -1;
            if (port <= 0 || port > 65535 || style < 0 || style > 1 || !PyUnicode_IS_ASCII(proto) ||
                PyUnicode_GET_LENGTH(proto) > 15 || PyUnicode_GET_LENGTH(proto) == 0) {
                PyErr_SetString(PyExc_ValueError, "Walker: text: bad entry");
                return -1;
            }
            w->text[i].port = (unsigned)port;
            w->text[i].style = style;
            w->text[i].len = (uint8_t)PyUnicode_GET_LENGTH(proto);
            memcpy(w->text[i].proto, PyUnicode_DATA(proto), w->text[i].len);
        }
        w->n_text = (int)PyList_GET_SIZE(text);
    }
    PyObject *dns = PyDict_GetItemString(ext, "dns");
    if (dns != NULL) {
        PyObject *ops, *types;
        int dport, mport;
        PyObject *rcodes;
        if (!PyArg_ParseTuple(dns, "iiO!O!O!", &dport, &mport, &PyDict_Type, &ops, &PyDict_Type, &rcodes,
                              &PyDict_Type, &types))
            return -1;
        if (name_table(ops, w->dns_ops.s, w->dns_ops.len, 0, "Walker: dns opcodes") < 0 ||
            name_table(rcodes, w->dns_rcodes.s, w->dns_rcodes.len, 0, "Walker: dns reply codes") < 0)
            return -1;
        if (u16_names(types, w->dns_types, 128, 65535, &w->n_dns_types, "dns types") < 0)
            return -1;
        w->dns_port = (unsigned)dport;
        w->mdns_port = (unsigned)mport;
        w->dns = 1;
        if (ext_u16(ext, "llmnr_port", &w->llmnr_port) < 0)
            return -1;
    }
    PyObject *rpc = PyDict_GetItemString(ext, "rpc");
    if (rpc != NULL) {
        PyObject *k, *v;
        Py_ssize_t pos = 0;
        if (!PyDict_Check(rpc) || PyDict_GET_SIZE(rpc) > 8) {
            PyErr_SetString(PyExc_ValueError, "Walker: rpc: {port: protocol} (<= 8)");
            return -1;
        }
        while (PyDict_Next(rpc, &pos, &k, &v)) {
            long port = PyLong_AsLong(k);
            if (port < 0 || port > 65535 || !PyUnicode_Check(v) || !PyUnicode_IS_ASCII(v) ||
                PyUnicode_GET_LENGTH(v) > 23 || PyUnicode_GET_LENGTH(v) == 0) {
                if (!PyErr_Occurred())
                    PyErr_SetString(PyExc_ValueError, "Walker: rpc: {port: protocol}");
                return -1;
            }
            w->rpc[w->n_rpc].port = (unsigned)port;
            w->rpc[w->n_rpc].len = (uint8_t)PyUnicode_GET_LENGTH(v);
            memcpy(w->rpc[w->n_rpc].proto, PyUnicode_DATA(v), w->rpc[w->n_rpc].len);
            w->n_rpc++;
        }
    }
    PyObject *sm2 = PyDict_GetItemString(ext, "smb2");
    if (sm2 != NULL) { /* {"cmds", "getinfo", "file", "fs", "ntlmssp": {int: str}, "status": {u32: str}} */
        PyObject *st = PyDict_Check(sm2) ? PyDict_GetItemString(sm2, "status") : NULL;
        if (st == NULL || !PyDict_Check(st) || PyDict_GET_SIZE(st) > 64) {
            PyErr_SetString(PyExc_ValueError, "Walker: smb2: a status dict (<= 64) is needed");
            return -1;
        }
        if (ext_names(sm2, "cmds", &w->smb2_cmds) < 0 || ext_names(sm2, "getinfo", &w->smb2_getinfo) < 0 ||
            ext_names(sm2, "file", &w->smb2_file_classes) < 0 || ext_names(sm2, "fs", &w->smb2_fs_classes) < 0 ||
            ext_names(sm2, "ntlmssp", &w->ntlmssp_types) < 0)
            return -1;
        PyObject *k, *v;
        Py_ssize_t pos = 0;
        while (PyDict_Next(st, &pos, &k, &v)) {
            unsigned long code = PyLong_AsUnsignedLong(k);
            if (PyErr_Occurred() || code > 0xFFFFFFFFul || !PyUnicode_Check(v) || !PyUnicode_IS_ASCII(v) ||
                PyUnicode_GET_LENGTH(v) > 47 || PyUnicode_GET_LENGTH(v) == 0) {
                if (!PyErr_Occurred())
                    PyErr_SetString(PyExc_ValueError, "Walker: smb2: status: {u32: ASCII str}");
                return -1;
            }
            int i = w->n_nt_status++;
            w->nt_status[i].code = (uint32_t)code;
            w->nt_status[i].len = (uint8_t)PyUnicode_GET_LENGTH(v);
            memcpy(w->nt_status[i].s, PyUnicode_DATA(v), w->nt_status[i].len);
        }
        w->smb2 = 1;
    }
    PyObject *tl = PyDict_GetItemString(ext, "tls");
    if (tl != NULL) { /* {"ports": (int,...), "versions", "levels", "alerts", "handshakes": {int: str}} */
        PyObject *tp = PyDict_Check(tl) ? PyDict_GetItemString(tl, "ports") : NULL;
        PyObject *hs = PyDict_Check(tl) ? PyDict_GetItemString(tl, "handshakes") : NULL;
        if (tp == NULL || !PyTuple_Check(tp) || hs == NULL || !PyDict_Check(hs)) {
            PyErr_SetString(PyExc_ValueError, "Walker: tls: ports and handshakes are needed");
            return -1;
        }
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(tp); i++) {
            long port = PyLong_AsLong(PyTuple_GET_ITEM(tp, i));
            if (port < 0 || port > 65535) {
                if (!PyErr_Occurred())
                    PyErr_SetString(PyExc_ValueError, "Walker: tls: ports");
                return -1;
            }
            w->tls_ports[port >> 3] |= (uint8_t)(1 << (port & 7));
        }
        PyObject *k, *v;
        Py_ssize_t pos = 0;
        while (PyDict_Next(hs, &pos, &k, &v)) {
            long t = PyLong_AsLong(k);
            if (t < 0 || t > 255) {
                if (!PyErr_Occurred())
                    PyErr_SetString(PyExc_ValueError, "Walker: tls: handshakes");
                return -1;
            }
            w->tls_hs[t] = 1;
        }
        if (ext_names(tl, "versions", &w->tls_versions) < 0 || ext_names(tl, "levels", &w->tls_alert_levels) < 0 ||
            ext_names(tl, "alerts", &w->tls_alerts) < 0 || ext_names(tl, "handshakes", &w->tls_hs_names) < 0)
            return -1;
        if (ext_u16(tl, "ldap_port", &w->ldap_tls) < 0)
            return -1;
        if (ext_u16(tl, "supported_versions", &w->tls_sv_ext) < 0)
            return -1;
        w->tls = 1;
    }
    PyObject *nb = PyDict_GetItemString(ext, "nbns");
    if (nb != NULL) { /* {"ops", "rcodes", "types": {int: str}} */
        if (!PyDict_Check(nb) || ext_names(nb, "ops", &w->nbns_ops) < 0 ||
            ext_names(nb, "rcodes", &w->nbns_rcodes) < 0 || ext_names(nb, "types", &w->nbns_types) < 0) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_ValueError, "Walker: nbns: a dict is needed");
            return -1;
        }
        w->nbns = 1;
    }
    if (PyDict_GetItemString(ext, "snmp") != NULL) {
        if (ext_names(ext, "snmp", &w->snmp_pdus) < 0)
            return -1;
        w->snmp = 1;
    }
    PyObject *rc = PyDict_GetItemString(ext, "rpc_calls");
    if (rc != NULL) { /* {"progs": {prog: column}, "procs": {prog: {proc: name}}, "access", "stable", ...} */
        PyObject *progs = PyDict_Check(rc) ? PyDict_GetItemString(rc, "progs") : NULL;
        PyObject *procs = PyDict_Check(rc) ? PyDict_GetItemString(rc, "procs") : NULL;
        if (progs == NULL || !PyDict_Check(progs) || PyDict_GET_SIZE(progs) > 8 || procs == NULL ||
            !PyDict_Check(procs)) {
            PyErr_SetString(PyExc_ValueError, "Walker: rpc_calls: progs/procs dicts are needed");
            return -1;
        }
        PyObject *k, *v;
        Py_ssize_t pos = 0;
        while (PyDict_Next(progs, &pos, &k, &v)) {
            unsigned long prog = PyLong_AsUnsignedLong(k);
            int i = w->n_rpc_progs;
            if (PyErr_Occurred() || prog > 0xFFFFFFFFul || !PyUnicode_Check(v) || !PyUnicode_IS_ASCII(v) ||
                PyUnicode_GET_LENGTH(v) > 15) {
                if (!PyErr_Occurred())
                    PyErr_SetString(PyExc_ValueError, "Walker: rpc_calls: {prog: column}");
                return -1;
            }
            w->rpc_progs[i].prog = (uint32_t)prog;
            w->rpc_progs[i].len = (uint8_t)PyUnicode_GET_LENGTH(v);
            memcpy(w->rpc_progs[i].col, PyUnicode_DATA(v), w->rpc_progs[i].len);
            PyObject *pp = PyDict_GetItem(procs, k);
            if (pp != NULL && (!PyDict_Check(pp) ||
                               name_table(pp, w->rpc_progs[i].procs.s, w->rpc_progs[i].procs.len, 0,
                                          "Walker: rpc_calls: procs: {proc: name}") < 0)) {
                if (!PyErr_Occurred())
                    PyErr_SetString(PyExc_ValueError, "Walker: rpc_calls: procs: {prog: {proc: name}}");
                return -1;
            }
            w->n_rpc_progs++;
        }
        if (ext_names(rc, "access", &w->rpc_access) < 0 || ext_names(rc, "stable", &w->rpc_stable) < 0 ||
            ext_names(rc, "create", &w->rpc_create) < 0 || ext_names(rc, "ipproto", &w->rpc_ipproto) < 0)
            return -1;
    }
    PyObject *ssh = PyDict_GetItemString(ext, "ssh");
    if (ssh != NULL) {
        if (copy_table256(ssh, w->ssh_codes) < 0)
            return -1;
        w->ssh = 1;
        PyObject *k = PyDict_GetItemString(ext, "ssh_kex"); /* (names, KEX_NAMES, host key prefixes, EC sizes) */
        if (k != NULL) {
            PyObject *kn = PyTuple_Check(k) && PyTuple_GET_SIZE(k) == 4 ? PyTuple_GET_ITEM(k, 1) : NULL;
            PyObject *hk = kn != NULL ? PyTuple_GET_ITEM(k, 2) : NULL;
            if (kn == NULL || !PyDict_Check(PyTuple_GET_ITEM(k, 0)) || !PyTuple_Check(kn) || PyTuple_GET_SIZE(kn) != 7 ||
                !PyTuple_Check(hk) || PyTuple_GET_SIZE(hk) != 3) {
                PyErr_SetString(PyExc_ValueError, "Walker: ssh_kex: (names, 7 texts, 3 prefixes, 256 bytes)");
                return -1;
            }
            if (name_table(PyTuple_GET_ITEM(k, 0), w->ssh_names.s, w->ssh_names.len, 0, "Walker: ssh_kex names") < 0 ||
                copy_table256(PyTuple_GET_ITEM(k, 3), w->ssh_ec) < 0)
                return -1;
            for (int i = 0; i < 7; i++) {
                PyObject *v = PyTuple_GET_ITEM(kn, i);
                if (!PyUnicode_Check(v) || !PyUnicode_IS_ASCII(v) || PyUnicode_GET_LENGTH(v) > 63) {
                    PyErr_SetString(PyExc_ValueError, "Walker: ssh_kex: ASCII texts of < 64 characters");
                    return -1;
                }
                w->ssh_kex_len[i] = (uint8_t)PyUnicode_GET_LENGTH(v);
                memcpy(w->ssh_kex_s[i], PyUnicode_DATA(v), w->ssh_kex_len[i]);
            }
            for (int i = 0; i < 3; i++) {
                PyObject *v = PyTuple_GET_ITEM(hk, i);
                if (!PyBytes_Check(v) || PyBytes_GET_SIZE(v) != 4) {
                    PyErr_SetString(PyExc_ValueError, "Walker: ssh_kex: 4-byte host key prefixes");
                    return -1;
                }
                memcpy(w->ssh_hk[i], PyBytes_AS_STRING(v), 4);
            }
            w->ssh_kex = 1;
        }
    }
    return 0;
}

static PyObject *walker_new(PyTypeObject *type, PyObject *args, PyObject *kw) {
    PyObject *ports, *pfx, *first, *hpfx, *hfirst, *b1, *w0, *w4, *bound, *flags, *echo, *hms_fn, *igmp, *frag, *ext;
    int arp;
    if (kw != NULL && PyDict_GET_SIZE(kw)) {
        PyErr_SetString(PyExc_TypeError, "Walker takes positional arguments only");
        return NULL;
    }
    if (!PyArg_ParseTuple(args, "SOSOSOOOOOOOpOOO:Walker", &ports, &pfx, &first, &hpfx, &hfirst, &b1, &w0,
                          &w4, &bound, &flags, &echo, &hms_fn, &arp, &igmp, &frag, &ext))
        return NULL;
    if (PyBytes_GET_SIZE(ports) != 65536 || !PySet_Check(bound) || !PyList_Check(flags) ||
        PyList_GET_SIZE(flags) != 4096 || !PyDict_Check(echo) || !PyDict_Check(igmp) ||
        !PyDict_Check(frag) || !PyDict_Check(ext) || !PyCallable_Check(hms_fn)) {
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
    if (ext_tables(w, ext) < 0)
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

static inline unsigned le16(const uint8_t *p) { return (unsigned)p[1] << 8 | p[0]; }
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

#define LINE_MAX_BYTES 2560 /* the longest line below: ~20 + 30 + 2 x 45 + ... + a DNS message's records (<= 2300) */
#define LINE_AVG_BYTES 768   /* what walk() reserves per line at first (it grows the buffer when a line may not fit) */

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

static inline char *put_hex(char *o, unsigned long v, int digits) {
    static const char hex[] = "0123456789abcdef";
    for (int i = digits - 1; i >= 0; i--)
        *o++ = hex[(v >> (4 * i)) & 15];
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

/* "src -> dst" of the IP header at ip (IPv4, or IPv6 when v6: inet_ntop, which Python's ip6 calls too) */
static inline char *put_addrs(char *o, const uint8_t *ip, int v6) {
    if (!v6) {
        o = put_ip4(o, ip + 12);
        o = PUT_LIT(o, " -> ");
        return put_ip4(o, ip + 16);
    }
    char s[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, ip + 8, s, sizeof s);
    o = put_str(o, s, strlen(s));
    o = PUT_LIT(o, " -> ");
    inet_ntop(AF_INET6, ip + 24, s, sizeof s);
    return put_str(o, s, strlen(s));
}

/* the line's start: "n time src -> dst" (return NULL / -1 as set_hms says) */
#define HEAD_ADDRS(ip, v6)                                                                                 \
    do {                                                                                                   \
        int h_ = set_hms(w, sec);                                                                          \
        if (h_ <= 0)                                                                                       \
            return h_ < 0 ? (char *)-1 : NULL;                                                             \
        o = put_head(w, o, n, us);                                                                         \
        o = put_addrs(o, ip, v6);                                                                          \
    } while (0)

/* ... then " PROTO wl " */
/* the head of a line between two MAC addresses (the Ethernet frame at p) up to the Info */
#define HEAD_MAC(p, proto_lit, len)                                                                        \
    do {                                                                                                   \
        int h_ = set_hms(w, sec);                                                                          \
        if (h_ <= 0)                                                                                       \
            return h_ < 0 ? (char *)-1 : NULL;                                                             \
        o = put_head(w, o, n, us);                                                                         \
        o = put_mac(o, (p) + 6);                                                                           \
        o = PUT_LIT(o, " -> ");                                                                            \
        o = put_mac(o, (p));                                                                               \
        o = PUT_LIT(o, proto_lit);                                                                         \
        o = put_u64(o, (unsigned long long)(len));                                                         \
        *o++ = ' ';                                                                                        \
    } while (0)

#define HEAD_IP(ip, v6, proto_lit)                                                                         \
    do {                                                                                                   \
        HEAD_ADDRS(ip, v6);                                                                                \
        o = PUT_LIT(o, proto_lit);                                                                         \
        o = put_u64(o, wl);                                                                                \
        *o++ = ' ';                                                                                        \
    } while (0)

/* An Ethernet ARP request or reply for IPv4 over Ethernet addresses, all captured (a = the ARP header, at
 * 14, or 18 after an 802.1Q tag): decode.link's dissect_eth (the MAC addresses as the columns) and
 * dissect_arp's columns-only branch with _arp_info. */
static char *format_arp(Walker *w, char *o, unsigned long long n, long long sec, unsigned us,
                        const uint8_t *p, Py_ssize_t caplen, Py_ssize_t l3) {
    if (caplen < l3 + 28)
        return NULL;
    const uint8_t *a = p + l3;
    unsigned op = be16(a + 6);
    if (a[4] != 6 || a[5] != 4 || (op != 1 && op != 2))
        return NULL;
    const uint8_t *smac = a + 8, *sip = a + 14, *tmac = a + 18, *tip = a + 24;
    static const uint8_t zero[6] = {0};
    HEAD_MAC(p, " ARP ", caplen);
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

/* An IGMPv2 report, leave or query, or an IGMPv1 report or query, in an unfragmented IPv4 packet (no option but Router Alert) at ip,
 * cap bytes captured from there: decode.inet's dissect_ipv4 (the addresses) and decode.igmp's
 * dissect_igmp for version 2. */
static char *format_igmp2(Walker *w, char *o, unsigned long long n, long long sec, unsigned us,
                          const uint8_t *ip, Py_ssize_t cap, unsigned long long wl) {
    if (cap < 20)
        return NULL;
    unsigned vihl = ip[0], tlen = be16(ip + 2), frag = be16(ip + 6);
    unsigned ihl = (vihl & 15) * 4;
    if ((vihl != 0x45 && vihl != 0x46) || (frag & 0x3FFF) || ip[9] != 2)
        return NULL;
    if (ihl == 24 && (cap < 24 || ip[20] != 148 || ip[21] != 4)) /* Router Alert, 4 bytes */
        return NULL;
    /* the IGMP message: [ihl, tlen), 8 bytes, within the captured bytes */
    if (tlen < ihl + 8 || (Py_ssize_t)tlen > cap)
        return NULL;
    const uint8_t *g = ip + ihl;
    unsigned t = g[0], size = tlen - ihl;
    int v1 = t == 0x12 || (t == 0x11 && g[1] == 0); /* version 1: a report, or a query without max resp */
    if ((t == 0x11 && size >= 12) || t == 0x22) { /* IGMPv3 (session 11): all of it captured */
        if (!w->igmp3 || !w->igmp_len[0x11])
            return NULL;
        char tmp[1700], *e = tmp; /* (<= 900 + one record of <= 40 sources) */
        if (t == 0x11) {
            unsigned ns = be16(g + 10);
            if (12 + 4 * ns > size)
                return NULL;
            e = put_str(e, w->igmp[t], w->igmp_len[t]);
            if (be32(g + 4) == 0)
                e = PUT_LIT(e, ", general");
            else {
                e = PUT_LIT(e, ", specific for group ");
                e = put_ip4(e, g + 4);
                if (ns) {
                    if (ns > 40)
                        return NULL;
                    e = PUT_LIT(e, ", source {");
                    for (unsigned k = 0; k < ns; k++) {
                        if (k)
                            e = PUT_LIT(e, ", ");
                        e = put_ip4(e, g + 12 + 4 * k);
                    }
                    *e++ = '}';
                }
            }
        } else {
            e = put_str(e, w->igmp3_report, w->igmp3_report_len);
            unsigned nr = be16(g + 6), q = 8;
            for (unsigned r = 0; r < nr; r++) {
                if (q + 8 > size || e - tmp > 900)
                    return NULL;
                unsigned rt = g[q], aux = g[q + 1], ns = be16(g + q + 2), rsize = 8 + 4 * ns + 4 * aux;
                if (q + rsize > size || ns > 40)
                    return NULL;
                e = PUT_LIT(e, " / ");
                e = put_str(e, w->igmp3_records.s[rt], w->igmp3_records.len[rt]);
                *e++ = ' ';
                e = put_ip4(e, g + q + 4);
                if (ns) {
                    e = PUT_LIT(e, " for source {");
                    for (unsigned k = 0; k < ns; k++) {
                        if (k)
                            e = PUT_LIT(e, ", ");
                        e = put_ip4(e, g + q + 8 + 4 * k);
                    }
                    *e++ = '}';
                } else if (rt == 4)
                    e = PUT_LIT(e, " for any sources");
                q += rsize;
            }
        }
        HEAD_IP(ip, 0, " IGMPv3 ");
        return put_str(o, tmp, (size_t)(e - tmp));
    }
    if (t != 0x11 && t != 0x12 && t != 0x16 && t != 0x17)
        return NULL;
    if (!w->igmp_len[t])
        return NULL;
    if (v1) { /* IGMPv1: the type's name alone */
        HEAD_IP(ip, 0, " IGMPv1 ");
        return put_str(o, w->igmp[t], w->igmp_len[t]);
    }
    HEAD_IP(ip, 0, " IGMPv2 ");
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

/* A later fragment (offset > 0) of an IPv4 packet without options (20 bytes captured at ip):
 * decode.inet's dissect_ipv4 ("Fragmented IP protocol (proto=NAME N, off=BYTES, ID=hhhh)"; its payload
 * is data). */
static char *format_frag(Walker *w, char *o, unsigned long long n, long long sec, unsigned us,
                         const uint8_t *ip, unsigned long long wl) {
    unsigned proto = ip[9], ident = be16(ip + 4), foff = be16(ip + 6) & 0x1FFF;
    if (be16(ip + 2) < 20 || !w->frag_len[proto])
        return NULL;
    HEAD_IP(ip, 0, " IPv4 ");
    o = PUT_LIT(o, "Fragmented IP protocol (proto=");
    o = put_str(o, w->frag[proto], w->frag_len[proto]);
    *o++ = ' ';
    o = put_u64(o, proto);
    o = PUT_LIT(o, ", off=");
    o = put_u64(o, foff * 8);
    o = PUT_LIT(o, ", ID=");
    o = put_hex(o, ident, 4);
    *o++ = ')';
    return o;
}

/* decode.inet._has_option: whether the TCP options at [a, e) hold one of kind want (walked as TCP walks) */
static int has_option(const uint8_t *a, const uint8_t *e, unsigned want) {
    while (a < e) {
        unsigned kind = a[0];
        if (kind == want)
            return 1;
        if (kind == 0)
            return 0;
        if (kind == 1) {
            a++;
            continue;
        }
        if (a + 1 >= e || a[1] < 2)
            return 0;
        a += a[1];
    }
    return 0;
}

/* decode.ssh._plain_packets(...) is not None for the payload [pl, pl + len) (len > 0): plain binary packets
 * fill it, or the last is New Keys */
static int ssh_plain(Walker *w, const uint8_t *pl, Py_ssize_t len) {
    Py_ssize_t o = 0, last = -1;
    while (o < len) {
        if (o + 6 > len)
            return 0;
        uint32_t ln = be32(pl + o);
        unsigned pad = pl[o + 4], code = pl[o + 5];
        if (ln < 12 || ln > 35000 || pad < 4 || pad >= ln || !w->ssh_codes[code])
            return last >= 0 && pl[last + 5] == 21;
        last = o;
        o += 4 + (Py_ssize_t)ln;
    }
    return o == len;
}

/* ssh._kex_name's guess for code 30-33 (the message's bytes [p, pe) before its padding) as a KEX_NAMES index */
static int ssh_kex_index(Walker *w, unsigned code, const uint8_t *d, Py_ssize_t p, Py_ssize_t pe) {
    if (code == 30)
        return p + 4 <= pe && be32(d + p) < 256 && w->ssh_ec[be32(d + p)] ? 1 : 0;
    if (code == 31) {
        if (p + 8 <= pe && (memcmp(d + p + 4, w->ssh_hk[0], 4) == 0 || memcmp(d + p + 4, w->ssh_hk[1], 4) == 0 ||
                            memcmp(d + p + 4, w->ssh_hk[2], 4) == 0)) {
            Py_ssize_t q = p + 4 + (Py_ssize_t)be32(d + p);
            return q + 4 <= pe && be32(d + q) < 256 && w->ssh_ec[be32(d + q)] ? 3 : 2;
        }
        return 4;
    }
    return code == 32 ? 5 : 6;
}

/* dissect_ssh's Info after "Client: " / "Server: " for the plain packets filling pl[0:len) (ssh_plain is
 * true): their names joined by ", " into t; NULL past 30 packets */
static char *ssh_kex_info(Walker *w, char *t, const uint8_t *pl, Py_ssize_t len) {
    Py_ssize_t o = 0;
    for (int k = 0; o < len; k++) {
        uint32_t ln = be32(pl + o);
        unsigned pad = pl[o + 4], code = pl[o + 5];
        if (ln < 12 || ln > 35000 || pad < 4 || pad >= ln || !w->ssh_codes[code])
            break; /* (what follows New Keys) */
        if (k == 30)
            return NULL;
        if (k)
            t = PUT_LIT(t, ", ");
        if (code >= 30 && code <= 33) {
            int i = ssh_kex_index(w, code, pl, o + 6, o + 4 + (Py_ssize_t)ln - pad);
            t = put_str(t, w->ssh_kex_s[i], w->ssh_kex_len[i]);
        } else if (w->ssh_names.len[code])
            t = put_str(t, w->ssh_names.s[code], w->ssh_names.len[code]);
        else
            return NULL;
        o += 4 + (Py_ssize_t)ln;
    }
    return t;
}

/* legacyfs._ncp_path for the request bytes [p, lim) of pl: the path's text at o (its components joined by
 * "/"), or NULL if there is none (then also NULL, with *bad = 1, for a component Python would not print
 * as is) */
static char *ncp_path(char *o, const uint8_t *pl, Py_ssize_t p, Py_ssize_t lim, int wide, int *bad) {
    Py_ssize_t step = wide ? 2 : 1;
    *bad = 0;
    for (Py_ssize_t q = lim - 1 - step; q >= p; q--) {
        unsigned n = pl[q];
        if (n == 0 || n > 32)
            continue;
        Py_ssize_t r = q + 1;
        unsigned k;
        for (k = 0; k < n; k++) {
            if (r + step > lim)
                break;
            Py_ssize_t ln = wide ? (Py_ssize_t)le16(pl + r) : pl[r];
            r += step;
            if (ln == 0 || r + ln > lim) { /* (an empty part, or one past the end: not this count) */
                k = n + 1;
                break;
            }
            r += ln;
        }
        if (k != n || r != lim)
            continue;
        /* found: write it */
        char *start = o;
        r = q + 1;
        for (k = 0; k < n; k++) {
            Py_ssize_t ln = wide ? (Py_ssize_t)le16(pl + r) : pl[r];
            r += step;
            if (k)
                *o++ = '/';
            for (Py_ssize_t i = 0; i < ln; i++) {
                if (pl[r + i] >= 0x80 || o - start > 200) {
                    *bad = 1;
                    return NULL;
                }
                *o++ = (char)pl[r + i];
            }
            r += ln;
        }
        return o;
    }
    return NULL;
}

/* NCP over IP (legacyfs.dissect_ncp) for the segment [pl, pl + len): the Info into *out (NULL: Python's).
 * A reply's completion code, a continuation, or a request of the walker's list (no path). */
static char *ncp_info(Walker *w, char *o, const uint8_t *pl, Py_ssize_t len) {
    if (len < 4)
        return NULL;
    int req = memcmp(pl, "DmdT", 4) == 0;
    if (!req && memcmp(pl, "tNcP", 4) != 0)
        return PUT_LIT(o, "Continuation");
    Py_ssize_t h = req ? 16 : 8; /* the NCP header after the NCP over IP one */
    if (len < h + 8)
        return NULL;
    unsigned t = be16(pl + h);
    if (!req && t == 0x3333) {
        unsigned cc = pl[h + 6];
        if (cc == 0)
            return PUT_LIT(o, "R OK");
        o = PUT_LIT(o, "R Error (0x");
        o = put_hex(o, cc, 2);
        *o++ = ')';
        return o;
    }
    if (!req || t != 0x2222)
        return NULL;
    int fn = pl[h + 6], sub = (fn == 0x57 || fn == 0x59) ? pl[h + 7] : -1; /* (h + 8 <= len) */
    for (int i = 0; i < w->n_ncp_req; i++) {
        if (w->ncp_req[i].fn != fn || w->ncp_req[i].sub != sub)
            continue;
        o = PUT_LIT(o, "C ");
        o = put_str(o, w->ncp_req[i].text, w->ncp_req[i].len);
        if (w->ncp_req[i].handle == 2) {
            int bad;
            char *e = ncp_path(o + 2, pl, h + 8, len, fn == 0x59, &bad);
            if (bad)
                return NULL;
            if (e != NULL) {
                o[0] = ':';
                o[1] = ' ';
                o = e;
            }
            return o;
        }
        if (w->ncp_req[i].handle && h + 14 <= len) {
            o = PUT_LIT(o, " - 0x");
            for (int k = 8; k < 14; k++)
                o = put_hex(o, pl[h + k], 2);
        }
        return o;
    }
    return NULL;
}

/* whether TCP's port table sends a segment between ports sp and dp to port's dissector (the lower
 * port's first, as dissect_tcp) */
static inline int tcp_port_is(Walker *w, unsigned sp, unsigned dp, unsigned port) {
    unsigned lo = sp < dp ? sp : dp, hi = sp < dp ? dp : sp;
    return lo == port || (!(w->ports[lo] & 1) && hi == port);
}

static inline int rx_port(Walker *w, unsigned port) { return w->rx_is[port >> 3] >> (port & 7) & 1; }

static inline char *put_ascii(char *o, PyObject *s) { /* (an ASCII str checked at construction) */
    return put_str(o, PyUnicode_DATA(s), (size_t)PyUnicode_GET_LENGTH(s));
}

/* RX (and AFS over it) in the UDP payload r[0:pay) between ports sp and dp, as legacyfs.dissect_rx: the
 * line from "n time" on, or NULL (Python's) / -1. An AFS request stores its call's opcode in the live
 * call map (after every reason to decline), a reply looks its call up there, as the dissector does. */
static char *format_rx(Walker *w, char *o, unsigned long long n, long long sec, unsigned us, const uint8_t *ip,
                       int v6, const uint8_t *r, Py_ssize_t pay, unsigned sp, unsigned dp,
                       unsigned long long wl) {
    if (pay < 28)
        return NULL;
    unsigned t = r[20], flags = r[21];
    uint32_t cid = be32(r + 4), callno = be32(r + 8), rseq = be32(r + 12);
    const char *name = w->rx_types.s[t];
    size_t name_len = w->rx_types.len[t];
    if (t == 2) {
        if (pay < 45)
            return NULL;
        name = w->rx_acks.s[r[44]];
        name_len = w->rx_acks.len[r[44]];
    }
    PyObject *entry = NULL;
    if (t == 1 && w->no_state)
        return NULL;
    if (t == 1) {
        PyObject *k = PyLong_FromUnsignedLong(flags & 1 ? dp : sp);
        if (k == NULL)
            return (char *)-1;
        entry = PyDict_GetItemWithError(w->rx_ports, k); /* borrowed */
        Py_DECREF(k);
        if (entry == NULL && PyErr_Occurred())
            return (char *)-1;
    }
    if (entry == NULL) { /* plain RX */
        HEAD_ADDRS(ip, v6);
        o = PUT_LIT(o, " RX ");
        o = put_u64(o, wl);
        *o++ = ' ';
        o = put_str(o, name, name_len);
        o = PUT_LIT(o, "  Seq: ");
        o = put_u64(o, rseq);
        o = PUT_LIT(o, "  Call: ");
        o = put_u64(o, callno);
        o = PUT_LIT(o, "  Source Port: ");
        o = put_u64(o, sp);
        o = PUT_LIT(o, "  Destination Port: ");
        o = put_u64(o, dp);
        return PUT_LIT(o, "  ");
    }
    if ((flags & 1) && pay < 32 && rseq <= 1) /* a request cut before its opcode: malformed */
        return NULL;
    PyObject *svc = PyTuple_GET_ITEM(entry, 0), *ops = PyTuple_GET_ITEM(entry, 1);
    PyObject *key = Py_BuildValue("(y#kk)", (const char *)r, (Py_ssize_t)4, (unsigned long)cid, (unsigned long)callno);
    if (key == NULL)
        return (char *)-1;
    PyObject *op = NULL; /* new reference */
    int request = flags & 1, store = 0;
    if (request && rseq > 1) {
        op = PyDict_GetItemWithError(w->rx_calls, key);
        if (op == NULL && PyErr_Occurred())
            goto error;
        Py_XINCREF(op);
    }
    if (request && op == NULL) {
        if (pay < 32) {
            Py_DECREF(key);
            return NULL;
        }
        if ((op = PyLong_FromUnsignedLong(be32(r + 28))) == NULL)
            goto error;
        store = 1;
    }
    if (!request) {
        op = PyDict_GetItemWithError(w->rx_calls, key);
        if (op == NULL && PyErr_Occurred())
            goto error;
        Py_XINCREF(op);
    }
    PyObject *opname = NULL;
    if (op != NULL) {
        opname = PyDict_GetItemWithError(ops, op); /* borrowed */
        if (opname == NULL && PyErr_Occurred())
            goto error;
    }
    long long opv = 0;
    if (op != NULL) {
        int ovf = 0;
        opv = PyLong_AsLongLongAndOverflow(op, &ovf);
        if (opv == -1 && PyErr_Occurred())
            goto error;
        if (ovf || opv < -999999999999LL || opv > 999999999999LL) { /* (not an opcode this file wrote) */
            Py_DECREF(op);
            Py_DECREF(key);
            return NULL;
        }
    }
    {
        int h_ = set_hms(w, sec);
        if (h_ <= 0) {
            Py_XDECREF(op);
            Py_DECREF(key);
            return h_ < 0 ? (char *)-1 : NULL;
        }
    }
    if (store) { /* as the dissector: a full map is emptied first */
        if (PyDict_GET_SIZE(w->rx_calls) >= 4096)
            PyDict_Clear(w->rx_calls);
        if (PyDict_SetItem(w->rx_calls, key, op) < 0)
            goto error;
    }
    o = put_head(w, o, n, us);
    o = put_addrs(o, ip, v6);
    o = PUT_LIT(o, " AFS (RX) ");
    o = put_u64(o, wl);
    *o++ = ' ';
    o = put_ascii(o, svc);
    if (request || opname != NULL) {
        o = request ? PUT_LIT(o, " Request: ") : PUT_LIT(o, " Reply: ");
        o = opname != NULL ? put_ascii(o, opname) : PUT_LIT(o, "opcode");
        o = PUT_LIT(o, " (");
        if (opv < 0) {
            *o++ = '-';
            o = put_u64(o, (unsigned long long)(-opv));
        } else {
            o = put_u64(o, (unsigned long long)opv);
        }
        *o++ = ')';
    } else {
        o = PUT_LIT(o, " Reply");
    }
    Py_XDECREF(op);
    Py_DECREF(key);
    return o;
error:
    Py_XDECREF(op);
    Py_DECREF(key);
    return (char *)-1;
}

/* the index of port in the walker's RPC ports, or -1 */
static inline int rpc_index(Walker *w, unsigned port) {
    for (int i = 0; i < w->n_rpc; i++)
        if (w->rpc[i].port == port)
            return i;
    return -1;
}

/* XDR reads over m[0:lim) as rpc._Xdr does them (0: cut) */
typedef struct {
    const uint8_t *m;
    long long o, lim;
} Xdr;

static int xdr_u32(Xdr *x, uint32_t *v) {
    if (x->o < 0 || x->o + 4 > x->lim)
        return 0;
    *v = be32(x->m + x->o);
    x->o += 4;
    return 1;
}

/* an opaque / string: its bytes at *s, length *n (<= 1 MiB), the offset padded to 4 */
static int xdr_opaque(Xdr *x, long long *s, uint32_t *n) {
    if (!xdr_u32(x, n) || x->o + *n > x->lim || *n > (1u << 20))
        return 0;
    *s = x->o;
    x->o += ((long long)*n + 3) & ~3LL;
    return 1;
}

/* a string as rpc._Xdr.string prints it (latin-1: only ASCII here; 0: cut or not ASCII) */
static int xdr_text(Xdr *x, char **t) {
    long long s;
    uint32_t n;
    if (!xdr_opaque(x, &s, &n) || n > 300)
        return 0;
    for (uint32_t i = 0; i < n; i++)
        if (x->m[s + i] >= 0x80)
            return 0;
    *t = put_str(*t, (const char *)x->m + s, n);
    return 1;
}

static uint32_t crc32_ieee(const uint8_t *b, uint32_t n) {
    uint32_t c = 0xFFFFFFFFu;
    for (uint32_t i = 0; i < n; i++) {
        c ^= b[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
    }
    return c ^ 0xFFFFFFFFu;
}

/* an NFSv3 file handle: "0x<CRC-32>" (rpc._Xdr.fh) */
static int xdr_fh(Xdr *x, char **t) {
    long long s;
    uint32_t n;
    if (!xdr_opaque(x, &s, &n))
        return 0;
    *t = PUT_LIT(*t, "0x");
    *t = put_hex(*t, crc32_ieee(x->m + s, n), 8);
    return 1;
}

/* an NFS directory operation's "file handle/name" (xdr_fh, then xdr_text) */
static int xdr_dh(Xdr *x, char **t) {
    if (!xdr_fh(x, t))
        return 0;
    *(*t)++ = '/';
    return xdr_text(x, t);
}

static inline char *put_name_or_num(char *t, const Names *names, uint32_t v) {
    if (v < 256 && names->len[v])
        return put_str(t, names->s[v], names->len[v]);
    return put_u64(t, v);
}

/* rpc._nfs3_call: the Info after "V3 NAME Call" (0: cut or Python's) */
static int nfs3_call(Walker *w, Xdr *x, uint32_t proc, char **tp) {
    char *t = *tp;
    uint32_t a, b, c;
    switch (proc) {
    case 1: case 2: case 5: case 16: case 17: case 18: case 19: case 20: case 21:
        t = PUT_LIT(t, ", FH: ");
        if (!xdr_fh(x, &t))
            return 0;
        break;
    case 3: case 9: case 12: case 13:
        t = PUT_LIT(t, ", DH: ");
        if (!xdr_dh(x, &t))
            return 0;
        break;
    case 4:
        t = PUT_LIT(t, ", FH: ");
        if (!xdr_fh(x, &t) || !xdr_u32(x, &a))
            return 0;
        t = PUT_LIT(t, ", [Check: ");
        for (int i = 0, first = 1; i < 6; i++)
            if (a & (1u << i)) {
                if (!first)
                    *t++ = ' ';
                t = put_str(t, w->rpc_access.s[i], w->rpc_access.len[i]);
                first = 0;
            }
        *t++ = ']';
        break;
    case 6: case 7:
        t = PUT_LIT(t, ", FH: ");
        if (!xdr_fh(x, &t) || !xdr_u32(x, &a) || !xdr_u32(x, &b) || !xdr_u32(x, &c))
            return 0;
        t = PUT_LIT(t, " Offset: ");
        t = put_u64(t, (unsigned long long)a << 32 | b);
        t = PUT_LIT(t, " Len: ");
        t = put_u64(t, c);
        if (proc == 7) {
            if (!xdr_u32(x, &a))
                return 0;
            *t++ = ' ';
            t = put_name_or_num(t, &w->rpc_stable, a);
        }
        break;
    case 8:
        t = PUT_LIT(t, ", DH: ");
        if (!xdr_fh(x, &t))
            return 0;
        *t++ = '/';
        if (!xdr_text(x, &t) || !xdr_u32(x, &a))
            return 0;
        t = PUT_LIT(t, " Mode: ");
        t = put_name_or_num(t, &w->rpc_create, a);
        break;
    case 10:
        t = PUT_LIT(t, ", From DH: ");
        if (!xdr_dh(x, &t))
            return 0;
        for (int i = 0; i < 4; i++) { /* sattr3: mode, uid, gid, size (each a flag, then its value) */
            if (!xdr_u32(x, &a))
                return 0;
            if (a)
                x->o += i == 3 ? 8 : 4;
        }
        for (int i = 0; i < 2; i++) { /* atime, mtime */
            if (!xdr_u32(x, &a))
                return 0;
            if (a == 2)
                x->o += 8;
        }
        t = PUT_LIT(t, " To ");
        if (!xdr_text(x, &t))
            return 0;
        break;
    case 14:
        t = PUT_LIT(t, ", From DH: ");
        if (!xdr_dh(x, &t))
            return 0;
        t = PUT_LIT(t, " To DH: ");
        if (!xdr_dh(x, &t))
            return 0;
        break;
    case 15:
        t = PUT_LIT(t, ", From DH: ");
        if (!xdr_fh(x, &t))
            return 0;
        t = PUT_LIT(t, " To DH: ");
        if (!xdr_dh(x, &t))
            return 0;
        break;
    default:
        break;
    }
    *tp = t;
    return 1;
}

/* An ONC RPC call at m[0:lim) (rpc._rpc / _call): its Info into t, its Protocol column at *col (NULL:
 * "RPC"); NULL where Python's (not a call of RPC version 2, cut, a name not ASCII) */
static char *rpc_call_info(Walker *w, char *t, const uint8_t *m, Py_ssize_t lim, const char **col, size_t *clen) {
    if (lim < 24 || be32(m + 4) != 0 || be32(m + 8) != 2)
        return NULL;
    uint32_t prog = be32(m + 12), vers = be32(m + 16), proc = be32(m + 20), a, n;
    int pi = -1;
    for (int i = 0; i < w->n_rpc_progs; i++)
        if (w->rpc_progs[i].prog == prog)
            pi = i;
    *col = pi >= 0 ? w->rpc_progs[pi].col : NULL;
    *clen = pi >= 0 ? w->rpc_progs[pi].len : 0;
    *t++ = 'V';
    t = put_u64(t, vers);
    *t++ = ' ';
    if (pi >= 0 && proc < 256 && w->rpc_progs[pi].procs.len[proc])
        t = put_str(t, w->rpc_progs[pi].procs.s[proc], w->rpc_progs[pi].procs.len[proc]);
    else {
        t = PUT_LIT(t, "Unknown proc (");
        t = put_u64(t, proc);
        *t++ = ')';
    }
    t = PUT_LIT(t, " Call");
    Xdr x = {m, 24, lim};
    /* rpc._auth: the credentials (AUTH_UNIX read through), then the verifier */
    uint32_t flavor, alen;
    if (!xdr_u32(&x, &flavor) || !xdr_u32(&x, &alen))
        return NULL;
    long long body = x.o;
    if (flavor == 1 && alen >= 20) {
        long long s;
        if (!xdr_u32(&x, &a) || !xdr_opaque(&x, &s, &n) || !xdr_u32(&x, &a) || !xdr_u32(&x, &a) || !xdr_u32(&x, &n))
            return NULL;
        for (uint32_t i = 0; i < (n < 16 ? n : 16); i++)
            if (!xdr_u32(&x, &a))
                return NULL;
    }
    x.o = body + (((long long)alen + 3) & ~3LL);
    if (!xdr_u32(&x, &a) || !xdr_u32(&x, &n))
        return NULL;
    x.o += ((long long)n + 3) & ~3LL;
    if (pi < 0)
        return t;
    if (prog == 100003 && vers == 3) {
        if (proc && !nfs3_call(w, &x, proc, &t))
            return NULL;
    } else if (prog == 100005) {
        if (proc == 1 || proc == 3) {
            *t++ = ' ';
            if (!xdr_text(&x, &t))
                return NULL;
        }
    } else if (prog == 100000) {
        if (proc >= 1 && proc <= 3) {
            uint32_t p, pv, ipp, port;
            if (!xdr_u32(&x, &p) || !xdr_u32(&x, &pv) || !xdr_u32(&x, &ipp) || !xdr_u32(&x, &port))
                return NULL;
            *t++ = ' ';
            int qi = -1;
            for (int i = 0; i < w->n_rpc_progs; i++)
                if (w->rpc_progs[i].prog == p)
                    qi = i;
            t = qi >= 0 ? put_str(t, w->rpc_progs[qi].col, w->rpc_progs[qi].len) : PUT_LIT(t, "Unknown");
            *t++ = '(';
            t = put_u64(t, p);
            t = PUT_LIT(t, ") V:");
            t = put_u64(t, pv);
            *t++ = ' ';
            t = put_name_or_num(t, &w->rpc_ipproto, ipp);
        }
    } else if (prog == 100227) {
        char scratch[16], *u = scratch;
        if ((proc == 1 || proc == 2) && !xdr_fh(&x, &u))
            return NULL;
    }
    return t;
}

static inline uint32_t le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* UTF-16LE text d[0:n) as smb._utf16 decodes it, when it is ASCII (0: Python's) */
static int put_utf16_ascii(char **t, const uint8_t *d, Py_ssize_t n) {
    if (n & 1)
        return 0;
    for (Py_ssize_t k = 0; k < n; k += 2)
        if (d[k + 1] || d[k] >= 0x80)
            return 0;
    for (Py_ssize_t k = 0; k < n; k += 2)
        *(*t)++ = (char)d[k];
    return 1;
}

/* smb._ntlmssp: the NTLMSSP message in the security blob d[s:e) (d's bytes: [0, lim)) into t */
static int smb_ntlmssp(Walker *w, char **t, const uint8_t *d, Py_ssize_t s, Py_ssize_t e) {
    if (s < 0 || e - s < 12)
        return 1;
    const uint8_t *f = NULL;
    for (Py_ssize_t k = s; k + 8 <= e; k++)
        if (d[k] == 'N' && memcmp(d + k, "NTLMSSP\0", 8) == 0) {
            f = d + k;
            break;
        }
    if (f == NULL || (f - d) + 12 > e)
        return 1;
    Py_ssize_t i = f - d;
    uint32_t type = le32(d + i + 8);
    if (type > 255 || !w->ntlmssp_types.len[type])
        return 1;
    *t = PUT_LIT(*t, ", ");
    *t = put_str(*t, w->ntlmssp_types.s[type], w->ntlmssp_types.len[type]);
    if (type == 3 && i + 44 <= e) { /* the domain and user names: security buffers */
        *t = PUT_LIT(*t, ", User: ");
        for (int b = 0; b < 2; b++) {
            Py_ssize_t at = i + (b ? 36 : 28), ln = le16(d + at), off = (Py_ssize_t)le32(d + at + 4);
            if (i + off + ln <= e && !put_utf16_ascii(t, d + i + off, ln))
                return 0;
            if (!b)
                *(*t)++ = '\\';
        }
    }
    return 1;
}

/* smb._smb2: the Info of the SMB2 messages (chained) in d[0:lim) into t; NULL where Python's */
static char *smb2_info(Walker *w, char *t, const uint8_t *d, Py_ssize_t lim) {
    char *start = t;
    Py_ssize_t o = 0;
    for (int n = 0; n < 32; n++) {
        if (t - start > 1500)
            return NULL;
        if (n)
            *t++ = ';';
        uint32_t flags = le32(d + o + 16), status = le32(d + o + 8), nxt = le32(d + o + 20);
        unsigned cmd = le16(d + o + 12);
        int resp = flags & 1;
        if (cmd < 256 && w->smb2_cmds.len[cmd])
            t = put_str(t, w->smb2_cmds.s[cmd], w->smb2_cmds.len[cmd]);
        else {
            t = PUT_LIT(t, "Unknown (");
            t = put_u64(t, cmd);
            *t++ = ')';
        }
        t = resp ? PUT_LIT(t, " Response") : PUT_LIT(t, " Request");
        if (resp && status) {
            t = PUT_LIT(t, ", Error: ");
            int si = -1;
            for (int i = 0; i < w->n_nt_status; i++)
                if (w->nt_status[i].code == status)
                    si = i;
            if (si >= 0)
                t = put_str(t, w->nt_status[si].s, w->nt_status[si].len);
            else {
                t = PUT_LIT(t, "Unknown (0x");
                t = put_hex(t, status, 8);
                *t++ = ')';
            }
        }
        Py_ssize_t h = o, b = o + 64;
        if (b + 8 <= lim) { /* smb._smb2_body */
            if (cmd == 5 && !resp && b + 48 <= lim && h + le16(d + b + 44) + le16(d + b + 46) <= lim) {
                t = PUT_LIT(t, " File: ");
                if (!put_utf16_ascii(&t, d + h + le16(d + b + 44), le16(d + b + 46)))
                    return NULL;
            } else if ((cmd == 8 || cmd == 9) && !resp && b + 16 <= lim) {
                t = PUT_LIT(t, " Len:");
                t = put_u64(t, le32(d + b + 4));
                t = PUT_LIT(t, " Off:");
                t = put_u64(t, (unsigned long long)le32(d + b + 12) << 32 | le32(d + b + 8));
            } else if (cmd == 16 && !resp) {
                unsigned it = d[b + 2], cls = d[b + 3];
                const Names *classes = it == 1 ? &w->smb2_file_classes : it == 2 ? &w->smb2_fs_classes : NULL;
                *t++ = ' ';
                if (w->smb2_getinfo.len[it])
                    t = put_str(t, w->smb2_getinfo.s[it], w->smb2_getinfo.len[it]);
                else {
                    t = PUT_LIT(t, "Unknown (");
                    t = put_u64(t, it);
                    *t++ = ')';
                }
                *t++ = '/';
                if (classes != NULL && classes->len[cls])
                    t = put_str(t, classes->s[cls], classes->len[cls]);
                else {
                    t = PUT_LIT(t, "SMB2_");
                    t = w->smb2_getinfo.len[it] ? put_str(t, w->smb2_getinfo.s[it], w->smb2_getinfo.len[it])
                                                : PUT_LIT(t, "UNKNOWN");
                    *t++ = '_';
                    t = put_hex(t, cls, 2);
                }
            } else if (cmd == 1) {
                Py_ssize_t at = resp ? b + 4 : b + 12;
                if (at + 4 <= lim) {
                    Py_ssize_t ss = h + le16(d + at), se = ss + le16(d + at + 2);
                    if (!smb_ntlmssp(w, &t, d, ss, se < lim ? se : lim))
                        return NULL;
                }
            }
        }
        if (!nxt || (Py_ssize_t)nxt + o <= o || o + (Py_ssize_t)nxt + 64 > lim)
            break;
        o += nxt;
    }
    return t;
}

/* tls.dissect_tls's columns of the records in d[0:lim) (a record header at 0): the Info into t, the
 * Protocol at *proto (NULL: "SSL"); NULL where Python's (a handshake record that parses into messages, an
 * empty one) */
/* tls._hello's walk of a Client (client) or Server Hello body d[o:lim): -1 where its fixed part runs past the
 * message (_Bounds), else 0 with *chosen the version a Server Hello selects (its supported_versions
 * extension, else its version; 0 for a Client Hello) */
static int tls_hello(Walker *w, const uint8_t *d, Py_ssize_t o, Py_ssize_t lim, int client, unsigned *chosen) {
    if (o + 34 > lim)
        return -1;
    unsigned version = be16(d + o);
    o += 34;
    if (o + 1 > lim || o + 1 + d[o] > lim)
        return -1;
    o += 1 + d[o];
    if (client) {
        if (o + 2 > lim || o + 2 + (Py_ssize_t)be16(d + o) > lim)
            return -1;
        o += 2 + (Py_ssize_t)be16(d + o);
        if (o + 1 > lim || o + 1 + d[o] > lim)
            return -1;
        o += 1 + d[o];
    } else {
        if (o + 3 > lim)
            return -1;
        o += 3;
    }
    unsigned ch = 0;
    if (o + 2 <= lim) { /* tls._extensions: only a Server Hello's supported_versions tells */
        Py_ssize_t stop = o + 2 + (Py_ssize_t)be16(d + o) < lim ? o + 2 + (Py_ssize_t)be16(d + o) : lim;
        for (o += 2; o + 4 <= stop;) {
            unsigned et = be16(d + o);
            Py_ssize_t el = be16(d + o + 2), be = o + 4 + el;
            if (be > stop)
                break;
            if (et == w->tls_sv_ext && !client && el == 2)
                ch = be16(d + o + 4);
            o = be;
        }
    }
    *chosen = ch ? ch : client ? 0 : version;
    return 0;
}

static char *tls_info(Walker *w, char *t, const uint8_t *d, Py_ssize_t lim, const char **proto, size_t *plen) {
    char *start = t;
    int n = 0;
    *proto = NULL;
    *plen = 0;
    for (Py_ssize_t o = 0; o + 5 <= lim;) {
        if (n && t - start > 1200)
            return NULL;
        const char *sep = n ? ", " : "";
        if (!(d[o] >= 20 && d[o] <= 25 && d[o + 1] == 3 && d[o + 2] <= 4)) {
            t = put_str(t, sep, strlen(sep));
            t = PUT_LIT(t, "Ignored Unknown Record");
            break;
        }
        unsigned ct = d[o], minor = d[o + 2];
        Py_ssize_t ln = be16(d + o + 3), b = o + 5, stop = b + ln;
        if (stop > lim)
            break;
        if (ct == 22) {
            if (!ln)
                return NULL;
            Py_ssize_t q = b; /* tls._handshake_parses */
            while (q < stop && q + 4 <= stop && w->tls_hs[d[q]])
                q += 4 + (Py_ssize_t)(d[q + 1] << 16 | d[q + 2] << 8 | d[q + 3]);
            if (q == stop) { /* handshake messages (session 11): their names; a Hello's version */
                if (!w->tls_sv_ext)
                    return NULL;
                unsigned chosen = 0;
                int bounds = 0;
                for (Py_ssize_t m = b; m + 4 <= stop;) {
                    unsigned ht = d[m];
                    Py_ssize_t hl = (Py_ssize_t)(d[m + 1] << 16 | d[m + 2] << 8 | d[m + 3]);
                    Py_ssize_t mend = m + 4 + hl < stop ? m + 4 + hl : stop;
                    if (t - start > 1200)
                        return NULL;
                    if (n)
                        t = PUT_LIT(t, ", ");
                    n++;
                    t = put_str(t, w->tls_hs_names.s[ht], w->tls_hs_names.len[ht]);
                    unsigned ch = 0;
                    if ((ht == 1 || ht == 2) && tls_hello(w, d, m + 4, mend, ht == 1, &ch) < 0) {
                        bounds = 1;
                        chosen = 0;
                        break;
                    }
                    if (ch)
                        chosen = ch;
                    m += 4 + hl;
                }
                if (*proto == NULL) { /* the first record's: the version a Server Hello chose, else the record's */
                    unsigned v = chosen ? chosen : 0x0300 | minor;
                    int known = v >> 8 == 3 && w->tls_versions.len[v & 0xFF];
                    *proto = known ? w->tls_versions.s[v & 0xFF] : "TLS";
                    *plen = known ? w->tls_versions.len[v & 0xFF] : 3;
                }
                if (bounds)
                    return PUT_LIT(t, "[BoundErrorUnreassembled Packet]");
                o = stop;
                continue;
            }
        }
        if (ct != 25) {
            t = put_str(t, sep, strlen(sep));
            n++;
        }
        if (ct == 20)
            t = PUT_LIT(t, "Change Cipher Spec");
        else if (ct == 21) {
            if (ln == 2 && w->tls_alert_levels.len[d[b]]) {
                t = PUT_LIT(t, "Alert (Level: ");
                t = put_str(t, w->tls_alert_levels.s[d[b]], w->tls_alert_levels.len[d[b]]);
                t = PUT_LIT(t, ", Description: ");
                if (w->tls_alerts.len[d[b + 1]])
                    t = put_str(t, w->tls_alerts.s[d[b + 1]], w->tls_alerts.len[d[b + 1]]);
                else {
                    t = PUT_LIT(t, "Unknown (");
                    t = put_u64(t, d[b + 1]);
                    *t++ = ')';
                }
                *t++ = ')';
            } else
                t = PUT_LIT(t, "Encrypted Alert");
        } else if (ct == 22)
            t = PUT_LIT(t, "Encrypted Handshake Message");
        else if (ct == 23)
            t = PUT_LIT(t, "Application Data");
        else if (ct == 24) {
            unsigned hb = ln ? d[b] : 0;
            t = hb == 1 ? PUT_LIT(t, "Heartbeat Request") : hb == 2 ? PUT_LIT(t, "Heartbeat Response")
                                                                   : PUT_LIT(t, "Encrypted Heartbeat");
        }
        if (*proto == NULL) { /* the first whole record's version (tls.VERSIONS, else "TLS") */
            *proto = w->tls_versions.len[minor] ? w->tls_versions.s[minor] : "TLS";
            *plen = w->tls_versions.len[minor] ? w->tls_versions.len[minor] : 3;
        }
        o = stop;
    }
    return t;
}

/* netbios.netbios_name at m + o (m[0:lim), pointers allowed when ptr): its text into *t (as _show
 * writes it), *used; 0 where Python's gives None, -1 where it prints what this does not (a scope label not
 * ASCII) */
static int nb_name(const uint8_t *m, Py_ssize_t o, Py_ssize_t lim, int ptr, char **t, Py_ssize_t *used) {
    if (o >= lim)
        return 0;
    if ((m[o] & 0xC0) == 0xC0) {
        if (!ptr || o + 2 > lim)
            return 0;
        Py_ssize_t target = (Py_ssize_t)((m[o] & 0x3F) << 8 | m[o + 1]), u;
        if (target >= o)
            return 0;
        int r = nb_name(m, target, lim, 0, t, &u);
        *used = 2;
        return r;
    }
    if (m[o] != 32 || o + 33 > lim)
        return 0;
    uint8_t b[16];
    for (int i = 0; i < 16; i++) {
        uint8_t hi = m[o + 1 + 2 * i], lo = m[o + 2 + 2 * i];
        if (hi < 'A' || hi > 'P' || lo < 'A' || lo > 'P')
            return 0;
        b[i] = (uint8_t)((hi - 'A') << 4 | (lo - 'A'));
    }
    Py_ssize_t p = o + 33, scope = p;
    while (p < lim && m[p]) {
        unsigned ln = m[p];
        if ((ln & 0xC0) || p + 1 + (Py_ssize_t)ln > lim)
            return 0;
        for (unsigned k = 0; k < ln; k++)
            if (m[p + 1 + k] >= 0x80)
                return -1;
        p += 1 + ln;
        if (p - scope > 250) /* (a long scope: the name stays within its buffer here) */
            return -1;
    }
    if (p >= lim)
        return 0;
    int n = 15;
    while (n > 0 && b[n - 1] == ' ')
        n--;
    char *x = *t;
    for (int i = 0; i < n; i++)
        if (b[i] > 32 && b[i] < 127)
            *x++ = (char)b[i];
        else {
            *x++ = '<';
            x = put_hex(x, b[i], 2);
            *x++ = '>';
        }
    *x++ = '<';
    x = put_hex(x, b[15], 2);
    *x++ = '>';
    for (Py_ssize_t q = scope; q < p; q += 1 + m[q]) { /* "." + the scope's labels joined by "." */
        *x++ = '.';
        x = put_str(x, (const char *)m + q + 1, m[q]);
    }
    *t = x;
    *used = p + 1 - o;
    return 1;
}

/* netbios.dissect_nbns's Info of the message m[0:lim) into t; NULL where Python's */
static char *nbns_info(Walker *w, char *t, const uint8_t *m, Py_ssize_t lim) {
    if (lim < 12)
        return NULL;
    char *start = t;
    int resp = m[2] & 0x80;
    unsigned op = (m[2] >> 3) & 15, rc = m[3] & 15;
    if (w->nbns_ops.len[op])
        t = put_str(t, w->nbns_ops.s[op], w->nbns_ops.len[op]);
    else {
        t = PUT_LIT(t, "Unknown operation (");
        t = put_u64(t, op);
        *t++ = ')';
    }
    if (resp) {
        t = PUT_LIT(t, " response");
        if (rc) {
            t = PUT_LIT(t, ", ");
            if (w->nbns_rcodes.len[rc])
                t = put_str(t, w->nbns_rcodes.s[rc], w->nbns_rcodes.len[rc]);
            else {
                t = PUT_LIT(t, "Unknown error (");
                t = put_u64(t, rc);
                *t++ = ')';
            }
        }
    }
    unsigned qd = be16(m + 4), an = be16(m + 6);
    Py_ssize_t o = 12, used;
    for (unsigned i = 0; i < (qd < 64 ? qd : 64); i++) {
        char name[400], *e = name;
        if (nb_name(m, o, lim, 0, &e, &used) != 1 || o + used + 4 > lim || t - start > 1200)
            return NULL; /* (cut: malformed; or Python's) */
        unsigned qt = be16(m + o + used);
        *t++ = ' ';
        t = qt < 256 && w->nbns_types.len[qt] ? put_str(t, w->nbns_types.s[qt], w->nbns_types.len[qt]) : put_u64(t, qt);
        *t++ = ' ';
        t = put_str(t, name, (size_t)(e - name));
        o += used + 4;
    }
    for (unsigned i = 0; i < (an < 64 ? an : 64); i++) { /* the answers (_nbns_rr): their type and addresses */
        char name[400], *e = name;
        int r = nb_name(m, o, lim, 1, &e, &used);
        if (r < 0 || t - start > 1200)
            return NULL;
        if (r == 0 || o + used + 10 > lim)
            break;
        Py_ssize_t p = o + used;
        unsigned rt = be16(m + p);
        Py_ssize_t d = p + 10, dl = be16(m + p + 8), dend = d + dl < lim ? d + dl : lim;
        *t++ = ' ';
        t = rt < 256 && w->nbns_types.len[rt] ? put_str(t, w->nbns_types.s[rt], w->nbns_types.len[rt]) : put_u64(t, rt);
        if (rt == 0x20)
            for (Py_ssize_t q = d; q + 6 <= dend && t - start < 1400; q += 6) {
                *t++ = ' ';
                t = put_ip4(t, m + q + 2);
            }
        if (t - start >= 1400)
            return NULL;
        o = d + dl;
    }
    return t;
}

/* snmp._tlv: the BER item at m + *o (lim: its container's end): its tag, value [*s, *e); 0 where Python
 * raises _Bad (cut, a long length of 0 or > 4 bytes) */
static int ber_tlv(const uint8_t *m, Py_ssize_t o, Py_ssize_t lim, unsigned *tag, Py_ssize_t *s, Py_ssize_t *e) {
    if (o + 2 > lim)
        return 0;
    *tag = m[o];
    unsigned long long n = m[o + 1];
    o += 2;
    if (n & 0x80) {
        unsigned k = (unsigned)(n & 0x7F);
        if (k < 1 || k > 4 || o + (Py_ssize_t)k > lim)
            return 0;
        n = 0;
        for (unsigned i = 0; i < k; i++)
            n = n << 8 | m[o + i];
        o += k;
    }
    if ((unsigned long long)o + n > (unsigned long long)lim)
        return 0;
    *s = o;
    *e = o + (Py_ssize_t)n;
    return 1;
}

/* snmp.oid_str of m[s:e) into t (NULL: a component past 56 bits, Python's) */
static char *ber_oid(char *t, const uint8_t *m, Py_ssize_t s, Py_ssize_t e) {
    unsigned long long v = 0;
    int first = 1, bits = 0;
    for (Py_ssize_t k = s; k < e; k++) {
        v = v << 7 | (m[k] & 0x7F);
        if ((bits += 7) > 56)
            return NULL;
        if (m[k] & 0x80)
            continue;
        if (first) {
            unsigned long long a = v / 40 < 2 ? v / 40 : 2;
            t = put_u64(t, a);
            *t++ = '.';
            t = put_u64(t, v - 40 * a);
            first = 0;
        } else {
            *t++ = '.';
            t = put_u64(t, v);
        }
        v = 0;
        bits = 0;
    }
    return t;
}

/* snmp._snmp's Info of a v1/v2c message m[0:lim): "<PDU type> <object names>"; NULL where Python's (not a
 * BER SEQUENCE with an INTEGER version: SNMP refuses it; v3; cut; long) */
static char *snmp_info(Walker *w, char *t, const uint8_t *m, Py_ssize_t lim) {
    unsigned tag;
    Py_ssize_t s, e, vs, ve, cs, ce, ps, pe, a, b;
    if (!ber_tlv(m, 0, lim, &tag, &s, &e) || tag != 0x30 || !ber_tlv(m, s, e, &tag, &vs, &ve) || tag != 0x02)
        return NULL;
    uint32_t version = 0;
    for (Py_ssize_t k = vs; k < ve; k++)
        version = version << 8 | m[k];
    if (ve - vs > 4 || (version == 3 && !(m[vs] & 0x80)))
        return NULL; /* (version 3, or a long one: Python's) */
    if (!ber_tlv(m, ve, e, &tag, &cs, &ce) || !ber_tlv(m, ce, e, &tag, &ps, &pe))
        return NULL;
    unsigned kind = tag & 0x1F;
    char *start = t;
    if (w->snmp_pdus.len[kind])
        t = put_str(t, w->snmp_pdus.s[kind], w->snmp_pdus.len[kind]);
    else {
        t = PUT_LIT(t, "PDU ");
        t = put_u64(t, kind);
    }
    if (kind == 4)
        return t;
    Py_ssize_t p = ps;
    for (int i = 0; i < 4; i++) { /* request-id, error-status, error-index, the bindings */
        if (!ber_tlv(m, p, pe, &tag, &a, &b))
            return NULL;
        p = b;
    }
    Py_ssize_t be = b;
    for (p = a; p < be;) {
        Py_ssize_t vb, vbe, ns, ne, xs, xe;
        if (!ber_tlv(m, p, be, &tag, &vb, &vbe) || !ber_tlv(m, vb, vbe, &tag, &ns, &ne) ||
            !ber_tlv(m, ne, vbe, &tag, &xs, &xe) || t - start > 1200)
            return NULL;
        *t++ = ' ';
        if ((t = ber_oid(t, m, ns, ne)) == NULL)
            return NULL;
        p = vbe;
    }
    return t;
}

/* An ONC RPC reply at m[0:len) (rpc._rpc's test: a reply whose state is accepted or denied) */
static inline int rpc_reply(const uint8_t *m, Py_ssize_t len) {
    return len >= 12 && be32(m + 4) == 1 && be32(m + 8) <= 1;
}

/* app.dns_name for the name at m + o of the message m[0:lim): 1 if read (its text at *out when out is
 * not NULL: printable ASCII labels only, at most 255 characters), 0 where Python's gives None, -1 where
 * Python would print it otherwise (then the packet is Python's); *used: where the name ends in m (the
 * first pointer's end, or the end of the labels) */
static int dns_name(const uint8_t *m, Py_ssize_t o, Py_ssize_t lim, char **out, Py_ssize_t *used) {
    char *t = out != NULL ? *out : NULL, *start = t;
    Py_ssize_t u = -1;
    int hops = 0, labels = 0;
    for (;;) {
        if (o >= lim)
            return 0;
        unsigned ln = m[o];
        if (ln == 0) {
            if (u < 0)
                u = o + 1;
            break;
        }
        if ((ln & 0xC0) == 0xC0) {
            if (o + 1 >= lim)
                return 0;
            if (u < 0)
                u = o + 2;
            o = (Py_ssize_t)((ln & 0x3F) << 8 | m[o + 1]);
            if (++hops > 64)
                return 0;
            continue;
        }
        if (ln & 0xC0 || o + 1 + (Py_ssize_t)ln > lim)
            return 0;
        if (t != NULL) {
            if ((t - start) + 1 + ln > 255)
                return -1;
            if (labels)
                *t++ = '.';
            for (unsigned i = 0; i < ln; i++) {
                uint8_t c = m[o + 1 + i];
                if (c < 0x20 || c > 0x7E) /* (label_text's escapes and UTF-8: Python's) */
                    return -1;
                *t++ = (char)c;
            }
        }
        labels++;
        o += 1 + ln;
    }
    if (t != NULL) {
        if (!labels)
            t = PUT_LIT(t, "<Root>");
        *out = t;
    }
    *used = u;
    return 1;
}

static inline char *put_dns_type(Walker *w, char *o, unsigned type) {
    for (int k = 0; k < w->n_dns_types; k++)
        if (w->dns_types[k].type == type)
            return put_str(o, w->dns_types[k].name, w->dns_types[k].len);
    o = PUT_LIT(o, "Unknown (");
    o = put_u64(o, type);
    *o++ = ')';
    return o;
}

/* One resource record at m + *q (app._dns_record, columns only): " TYPE[, cache flush][ shown]" at o,
 * *q moved past it; NULL: Python's (cut, or a record whose text this file does not write) */
static char *dns_record(Walker *w, char *o, const uint8_t *m, Py_ssize_t len, Py_ssize_t *q, int mdns) {
    Py_ssize_t used, f;
    if (dns_name(m, *q, len, NULL, &used) <= 0 || (f = used) + 10 > len)
        return NULL;
    unsigned rtype = be16(m + f), rclass = be16(m + f + 2), dlen = be16(m + f + 8);
    Py_ssize_t d = f + 10, de = d + dlen;
    if (de > len)
        return NULL;
    *o++ = ' ';
    if (rtype == 41) {
        o = PUT_LIT(o, "OPT");
    } else {
        o = put_dns_type(w, o, rtype);
        if (mdns && (rclass & 0x8000))
            o = PUT_LIT(o, ", cache flush");
    }
    char name[300], *e = name;
    int r;
    if (rtype == 1 && dlen == 4) {
        *o++ = ' ';
        o = put_ip4(o, m + d);
    } else if (rtype == 28 && dlen == 16) {
        char a[INET6_ADDRSTRLEN];
        inet_ntop(AF_INET6, m + d, a, sizeof a);
        *o++ = ' ';
        o = put_str(o, a, strlen(a));
    } else if (rtype == 2 || rtype == 5 || rtype == 12 || rtype == 39) { /* (_NAME_DATA) */
        if ((r = dns_name(m, d, de, &e, &used)) < 0)
            return NULL;
        if (r) {
            *o++ = ' ';
            o = put_str(o, name, (size_t)(e - name));
        }
    } else if (rtype == 15 && dlen >= 3) {
        if ((r = dns_name(m, d + 2, de, &e, &used)) < 0)
            return NULL;
        if (r) {
            *o++ = ' ';
            o = put_u64(o, be16(m + d));
            *o++ = ' ';
            o = put_str(o, name, (size_t)(e - name));
        }
    } else if (rtype == 6) { /* SOA: the primary name server (the rest must be there: DNS_SOA.read) */
        Py_ssize_t mu, ru;
        if ((r = dns_name(m, d, de, &e, &mu)) < 0)
            return NULL;
        if (r) {
            if (dns_name(m, mu, de, NULL, &ru) > 0 && ru + 20 > de)
                return NULL;
            *o++ = ' ';
            o = put_str(o, name, (size_t)(e - name));
        }
    } else if (rtype == 33 && dlen >= 7) { /* SRV (session 11): priority, weight, port, target */
        if ((r = dns_name(m, d + 6, de, &e, &used)) < 0)
            return NULL;
        if (r) {
            for (int k = 0; k < 3; k++) {
                *o++ = ' ';
                o = put_u64(o, be16(m + d + 2 * k));
            }
            *o++ = ' ';
            o = put_str(o, name, (size_t)(e - name));
        }
    } else if (rtype == 47) { /* NSEC (session 11): the next domain name */
        if ((r = dns_name(m, d, de, &e, &used)) < 0)
            return NULL;
        if (r) {
            *o++ = ' ';
            o = put_str(o, name, (size_t)(e - name));
        }
    }
    *q = de;
    return o;
}

/* A DNS or MDNS message over UDP (m[0:len)), as app._dns writes its Info in the columns-only dissection:
 * into o, or NULL (Python's: anything cut, a name it does not print as is, many records) */
static char *dns_info(Walker *w, char *o, const uint8_t *m, Py_ssize_t len, int mdns) {
    if (len < 12)
        return NULL;
    int resp = m[2] & 0x80;
    unsigned qd = be16(m + 4), nrec = be16(m + 6) + be16(m + 8) + be16(m + 10), opcode = (m[2] >> 3) & 15;
    if (qd > 4 || nrec > 100) /* (the Info stays within 1500 + one record: checked below) */
        return NULL;
    char *start = o;
    o = put_str(o, w->dns_ops.s[opcode], w->dns_ops.len[opcode]);
    if (resp)
        o = PUT_LIT(o, " response");
    o = PUT_LIT(o, " 0x");
    o = put_hex(o, be16(m), 4);
    if (resp && (m[3] & 15)) {
        *o++ = ' ';
        o = put_str(o, w->dns_rcodes.s[m[3] & 15], w->dns_rcodes.len[m[3] & 15]);
    }
    Py_ssize_t q = 12;
    for (unsigned i = 0; i < qd; i++) {
        char name[300], *e = name;
        Py_ssize_t used;
        if (dns_name(m, q, len, &e, &used) <= 0)
            return NULL;
        used -= q;
        if (q + used + 4 > len)
            return NULL;
        unsigned qtype = be16(m + q + used), qclass_hi = m[q + used + 2];
        *o++ = ' ';
        o = put_dns_type(w, o, qtype);
        *o++ = ' ';
        o = put_str(o, name, (size_t)(e - name));
        if (mdns)
            o = qclass_hi & 0x80 ? PUT_LIT(o, ", \"QU\" question") : PUT_LIT(o, ", \"QM\" question");
        q += used + 4;
    }
    for (unsigned i = 0; i < nrec; i++) {
        if (o - start > 1500)
            return NULL;
        if ((o = dns_record(w, o, m, len, &q, mdns)) == NULL)
            return NULL;
    }
    return o;
}

/* the index of port among the line protocols' ports, or -1 */
static inline int text_index(Walker *w, unsigned port) {
    for (int i = 0; i < w->n_text; i++)
        if (w->text[i].port == port)
            return i;
    return -1;
}

/* The line protocol i's Info for the segment pl[0:len) sent to port dp (decode.text: the first line,
 * without its CR LF; "Request: "/"Response: " or "C: "/"S: " by whether dp is the protocol's); NULL when
 * the line holds a byte Python would not print as ASCII or is long (Python's) */
static char *text_info(Walker *w, char *o, int i, const uint8_t *pl, Py_ssize_t len, unsigned dp) {
    const uint8_t *nl = memchr(pl, '\n', (size_t)len);
    Py_ssize_t e = nl != NULL ? nl - pl : len;
    if (nl != NULL && e > 0 && pl[e - 1] == 13)
        e--;
    if (e > 300)
        return NULL;
    for (Py_ssize_t k = 0; k < e; k++)
        if (pl[k] >= 0x80)
            return NULL;
    int j = text_index(w, dp);
    int req = j >= 0 && w->text[j].len == w->text[i].len && memcmp(w->text[j].proto, w->text[i].proto, w->text[i].len) == 0;
    if (w->text[i].style == 0)
        o = req ? PUT_LIT(o, "Request: ") : PUT_LIT(o, "Response: ");
    else
        o = req ? PUT_LIT(o, "C: ") : PUT_LIT(o, "S: ");
    return put_str(o, (const char *)pl, (size_t)e);
}

/* The transport layer of an IPv4 (no options, not a fragment) or IPv6 (no extension header) packet: ip is
 * the IP header, l4 the transport header, len the bytes from l4 to the IP payload's end (all captured),
 * cap the bytes captured from l4 (>= len), hlim the TTL / hop limit. TCP, UDP and ICMP echo as the
 * summary's fast path (_l4) gives them; MPTCP's column and SSH's encrypted packets as decode.inet's
 * dissect_tcp and decode.ssh's dissect_ssh; PIM, VRRP, OSPF, EIGRP and ESP as decode.routing's and
 * decode.inet's dissectors. */
/* SIP: strip spaces, tabs and CRs at both ends of d[*a:*b) (Python's str.strip on the ASCII SIP allows) */
static void sip_strip(const uint8_t *d, Py_ssize_t *a, Py_ssize_t *b) {
    while (*a < *b && (d[*a] == ' ' || d[*a] == '\t' || d[*a] == '\r'))
        (*a)++;
    while (*b > *a && (d[*b - 1] == ' ' || d[*b - 1] == '\t' || d[*b - 1] == '\r'))
        (*b)--;
}

static int sip_is(const uint8_t *d, Py_ssize_t a, Py_ssize_t b, const char *lower) {
    size_t n = strlen(lower);
    if ((size_t)(b - a) != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = d[a + (Py_ssize_t)i];
        if ((c >= 'A' && c <= 'Z' ? c + 32 : c) != (uint8_t)lower[i])
            return 0;
    }
    return 1;
}

/* voip._bindings of one contact d[a:b) (as voip._contacts keeps it, unstripped): 1 if its expiry (its
 * "expires=" parameter after the first '>', else the Expires header's: exp0) is "0"; -1 if too long here */
static int sip_contact_removed(const uint8_t *d, Py_ssize_t a, Py_ssize_t b, int has_exp, int exp0) {
    const uint8_t *gt = memchr(d + a, '>', (size_t)(b - a));
    Py_ssize_t p = gt != NULL ? gt - d + 1 : a;
    char norm[512];
    Py_ssize_t m = 0;
    for (Py_ssize_t k = p; k < b; k++) { /* .lower().replace(" ", "") */
        if (d[k] == ' ')
            continue;
        if (m == (Py_ssize_t)sizeof norm)
            return -1;
        norm[m++] = (char)(d[k] >= 'A' && d[k] <= 'Z' ? d[k] + 32 : d[k]);
    }
    for (Py_ssize_t k = 0; k <= m;) { /* .split(";"): the first "expires=" */
        const char *semi = memchr(norm + k, ';', (size_t)(m - k));
        Py_ssize_t e = semi != NULL ? semi - norm : m;
        if (e - k >= 8 && memcmp(norm + k, "expires=", 8) == 0)
            return e - k == 9 && norm[k + 8] == '0';
        k = e + 1;
    }
    return has_exp && exp0;
}

/* voip._bindings of the Contact headers' values [ca[i], cb[i]) and the first Expires value [ea, eb) (ea < 0:
 * none): "  (N bindings)" and the others, into t; NULL if Python's */
static char *sip_bindings(char *t, const uint8_t *d, const Py_ssize_t *ca, const Py_ssize_t *cb, int nc,
                          Py_ssize_t ea, Py_ssize_t eb) {
    int n = 0, removed = 0, star = 0;
    int has_exp = ea >= 0, exp0 = ea >= 0 && eb - ea == 1 && d[ea] == '0';
    for (int i = 0; i < nc; i++) { /* voip._contacts: commas outside <> and quotes; a blank last item is dropped */
        int depth = 0, quote = 0;
        Py_ssize_t start = ca[i];
        for (Py_ssize_t k = ca[i]; k <= cb[i]; k++) {
            int last = k == cb[i];
            if (!last) {
                uint8_t ch = d[k];
                if (ch == '"')
                    quote = !quote;
                else if (!quote && ch == '<')
                    depth++;
                else if (!quote && ch == '>')
                    depth--;
                if (!(ch == ',' && !depth && !quote))
                    continue;
            }
            Py_ssize_t x = start, y = k;
            sip_strip(d, &x, &y);
            if (!last || x < y) {
                n++;
                if (y - x == 1 && d[x] == '*')
                    star = 1;
                int r = sip_contact_removed(d, start, k, has_exp, exp0);
                if (r < 0)
                    return NULL;
                removed += r;
            }
            start = k + 1;
        }
    }
    if (!n)
        return t;
    if (star)
        return PUT_LIT(t, "  (remove all bindings)");
    if (removed == n && exp0)
        n = removed = n + 1;
    t = removed == n ? PUT_LIT(t, "  (remove ") : PUT_LIT(t, "  (");
    t = put_u64(t, (unsigned long long)n);
    t = n != 1 ? PUT_LIT(t, " bindings)") : PUT_LIT(t, " binding)");
    return t;
}

/* SIP over UDP (voip.dissect_sip_at, the columns): the Info of the message d[0:lim) into t (" | " at its
 * end), *sdp set when an SDP body follows (Protocol "SIP/SDP"); NULL when Python's: not a request or
 * status line, a byte outside printable ASCII, tab, CR and LF, or long */
static char *sip_info(Walker *w, char *t, const uint8_t *d, Py_ssize_t lim, int *sdp) {
    if (lim > 4000 || lim <= 0)
        return NULL;
    for (Py_ssize_t k = 0; k < lim; k++)
        if (d[k] >= 0x7F || (d[k] < 0x20 && d[k] != '\t' && d[k] != '\r' && d[k] != '\n'))
            return NULL;
    const uint8_t *nl = memchr(d, '\n', (size_t)lim);
    Py_ssize_t e = nl != NULL ? nl - d : lim, le = e;
    while (le > 0 && d[le - 1] == '\r')
        le--;
    /* parts = line.split(b" "): the first two and whether there are three */
    const uint8_t *s1 = memchr(d, ' ', (size_t)le);
    if (s1 == NULL || le > 1200)
        return NULL;
    Py_ssize_t p0 = s1 - d, p1a = p0 + 1;
    const uint8_t *s2 = memchr(d + p1a, ' ', (size_t)(le - p1a));
    Py_ssize_t p1b = s2 != NULL ? s2 - d : le;
    int request = 0, status = 0;
    long code = 0;
    if (s2 != NULL) {
        const uint8_t *sl = d + le; /* the last part: after the last space */
        while (sl > d && sl[-1] != ' ')
            sl--;
        if (le - (sl - d) >= 7 && memcmp(sl, "SIP/2.0", 7) == 0)
            for (int i = 0; i < w->n_sip; i++)
                if (w->sip_methods[i].len == p0 && memcmp(d, w->sip_methods[i].s, (size_t)p0) == 0)
                    request = 1;
    }
    if (!request && le >= 8 && memcmp(d, "SIP/2.0 ", 8) == 0 && p1b > p1a) {
        status = 1;
        for (Py_ssize_t k = p1a; k < p1b; k++)
            if (d[k] < '0' || d[k] > '9')
                status = 0;
            else if (code < 100000000)
                code = code * 10 + (d[k] - '0');
    }
    if (!request && !status)
        return NULL;
    if (request) {
        t = PUT_LIT(t, "Request: ");
        t = put_str(t, (const char *)d, (size_t)p0);
        *t++ = ' ';
        t = put_str(t, (const char *)d + p1a, (size_t)(p1b - p1a));
    } else {
        t = PUT_LIT(t, "Status: ");
        t = put_str(t, (const char *)d + 8, (size_t)(le - 8));
    }
    /* the headers: the first CSeq, Content-Type, Expires; every Contact */
    Py_ssize_t cseq_a = -1, cseq_b = -1, ct_a = -1, ct_b = -1, ex_a = -1, ex_b = -1, ca[16], cb[16], body = -1;
    int nc = 0;
    for (Py_ssize_t o = e + 1; o < lim;) {
        const uint8_t *n2 = memchr(d + o, '\n', (size_t)(lim - o));
        Py_ssize_t lend = n2 != NULL ? n2 - d : lim, re = lend;
        while (re > o && d[re - 1] == '\r')
            re--;
        if (re == o) {
            body = lend + 1;
            break;
        }
        const uint8_t *colon = memchr(d + o, ':', (size_t)(re - o));
        if (colon != NULL) {
            Py_ssize_t na = o, nb = colon - d, va = nb + 1, vb = re;
            sip_strip(d, &na, &nb);
            sip_strip(d, &va, &vb);
            int contact = sip_is(d, na, nb, "contact") || (nb - na == 1 && d[na] == 'm');
            if ((sip_is(d, na, nb, "cseq")) && cseq_a < 0)
                cseq_a = va, cseq_b = vb;
            else if ((sip_is(d, na, nb, "content-type") || (nb - na == 1 && d[na] == 'c')) && ct_a < 0)
                ct_a = va, ct_b = vb;
            else if (sip_is(d, na, nb, "expires") && ex_a < 0)
                ex_a = va, ex_b = vb;
            else if (contact) {
                if (nc == 16)
                    return NULL;
                ca[nc] = va, cb[nc++] = vb;
            }
        }
        o = lend + 1;
    }
    /* the CSeq method: after the value's first space, stripped */
    Py_ssize_t ma = 0, mb = 0;
    if (cseq_a >= 0) {
        const uint8_t *sp = memchr(d + cseq_a, ' ', (size_t)(cseq_b - cseq_a));
        if (sp != NULL) {
            ma = sp - d + 1, mb = cseq_b;
            sip_strip(d, &ma, &mb);
        }
    }
    int ok2xx = status && code >= 200 && code < 300;
    if (ok2xx && mb > ma) {
        t = PUT_LIT(t, " (");
        t = put_str(t, (const char *)d + ma, (size_t)(mb - ma));
        *t++ = ')';
    }
    if ((request || ok2xx) && mb - ma == 8 && memcmp(d + ma, "REGISTER", 8) == 0)
        if ((t = sip_bindings(t, d, ca, cb, nc, ex_a, ex_b)) == NULL)
            return NULL;
    t = PUT_LIT(t, " | ");
    *sdp = 0;
    if (body >= 0 && body < lim && ct_a >= 0) { /* Content-Type's media type (before ';', stripped) */
        const uint8_t *semi = memchr(d + ct_a, ';', (size_t)(ct_b - ct_a));
        Py_ssize_t ta = ct_a, tb = semi != NULL ? semi - d : ct_b;
        sip_strip(d, &ta, &tb);
        *sdp = sip_is(d, ta, tb, "application/sdp");
    }
    return t;
}

#define L4_FIRST_FRAG 1 /* an IPv4 first fragment (MF set): only TCP and RX/AFS over UDP are taken */
#define L4_AFTER_AH 2   /* after an Authentication Header (one at most) */
#define L4_INNER 4      /* inside a tunnel (one level: a tunnel inside it is Python's) */
#define L4_AFTER_EXT 8  /* after IPv6 options headers */
#define L4_AFTER_PBB 16 /* after PBB (whose Info stays when the packet's protocol is unknown) */

static char *format_inner(Walker *w, char *o, unsigned long long n, long long sec, unsigned us, unsigned et,
                          const uint8_t *p, Py_ssize_t cap, unsigned long long wl);

/* GRE's header at g (len bytes to the IP payload's end): its length as inet.dissect_gre reads it (the
 * optional checksum, key, sequence and PPTP acknowledgment words), or -1 where they are not all there */
static Py_ssize_t gre_len(const uint8_t *g, Py_ssize_t len) {
    if (len < 4)
        return -1;
    unsigned fv = be16(g);
    Py_ssize_t h = 4 + ((fv & 0x8000) ? 4 : 0) + ((fv & 0x2000) ? 4 : 0) + ((fv & 0x1000) ? 4 : 0) +
                   (((fv & 7) == 1 && (fv & 0x0080)) ? 4 : 0);
    return h <= len ? h : -1;
}

/* CRC-16/DNP (reflected 0x3D65, complemented), as ics.dnp3_crc */
static uint16_t dnp3_crc(const uint8_t *b, int n) {
    static uint16_t table[256];
    static int ready;
    if (!ready) {
        for (int i = 0; i < 256; i++) {
            unsigned c = (unsigned)i;
            for (int k = 0; k < 8; k++)
                c = c & 1 ? (c >> 1) ^ 0xA6BC : c >> 1;
            table[i] = (uint16_t)c;
        }
        ready = 1;
    }
    unsigned crc = 0;
    for (int i = 0; i < n; i++)
        crc = (crc >> 8) ^ table[(crc ^ b[i]) & 0xFF];
    return (uint16_t)(~crc & 0xFFFF);
}

/* DNP3's Info (ics._dnp3's columns) for a link frame at d (lim bytes there) into t: the application
 * function (a Read/Write with its class objects) or the link frame; NULL where Python says something
 * else: no DNP3 start or a bad header CRC (then it is data), an object that is not a class */
static char *dnp3_info(Walker *w, char *t, const uint8_t *d, Py_ssize_t lim) {
    if (lim < 10 || d[0] != 0x05 || d[1] != 0x64 || dnp3_crc(d, 8) != le16(d + 8))
        return NULL;
    unsigned ln = d[2], ctl = d[3], prm = ctl & 0x40, fn = ctl & 15;
    int n = (int)ln - 5;
    uint8_t ud[256];
    int got = 0;
    if (n > 0 && prm && (fn == 3 || fn == 4)) {
        Py_ssize_t o = 10;
        while (got < n && o < lim) {
            Py_ssize_t take = 16;
            if (take > n - got)
                take = n - got;
            if (take > lim - o)
                take = lim - o;
            memcpy(ud + got, d + o, (size_t)take);
            got += (int)take;
            o += take + 2;
        }
    }
    if (got >= 3 && (ud[0] & 0xC0) == 0xC0 && !(ud[2] >= 129 && got < 5)) {
        unsigned func = ud[2];
        t = put_str(t, w->dnp3_app.s[func], w->dnp3_app.len[func]);
        if (func == 1 || func == 2) { /* the objects (ics._objects): named here only when all are classes */
            char cls[64];
            int ncls = 0, nobj = 0, i = 3;
            while (i + 3 <= got && nobj < 60) {
                unsigned obj = (unsigned)ud[i] << 8 | ud[i + 1], q = ud[i + 2], r = q & 15, rs;
                nobj++;
                if (obj >> 8 != 60 || (obj & 0xFF) < 1 || (obj & 0xFF) > 10)
                    return NULL; /* another object (its name is Python's), or a class digit past 9 */
                cls[ncls++] = (char)('0' + (obj & 0xFF) - 1);
                if (r == 0 || r == 3 || r == 6)
                    rs = r == 6 ? 0 : 2;
                else if (r == 1 || r == 4)
                    rs = 4;
                else if (r == 2 || r == 5)
                    rs = 8;
                else if (r == 7 || r == 11)
                    rs = 1;
                else if (r == 8)
                    rs = 2;
                else if (r == 9)
                    rs = 4;
                else
                    break;
                if ((q >> 4) & 7 || !(r == 6 || r == 7 || r == 8 || r == 0 || r == 1))
                    break;
                i += 3 + (int)rs;
                if ((r == 0 || r == 1) && func != 1)
                    break;
            }
            if (nobj) {
                for (int a = 1; a < ncls; a++) /* sorted, as the digits' strings sort */
                    for (int b = a; b > 0 && cls[b - 1] > cls[b]; b--) {
                        char x = cls[b];
                        cls[b] = cls[b - 1];
                        cls[b - 1] = x;
                    }
                t = PUT_LIT(t, ", Class ");
                t = put_str(t, cls, (size_t)ncls);
            }
        }
        return t;
    }
    t = PUT_LIT(t, "from ");
    t = put_u64(t, le16(d + 6));
    t = PUT_LIT(t, " to ");
    t = put_u64(t, le16(d + 4));
    t = PUT_LIT(t, ", len=");
    t = put_u64(t, ln);
    t = PUT_LIT(t, ", ");
    return prm ? put_str(t, w->dnp3_pri.s[fn], w->dnp3_pri.len[fn]) : put_str(t, w->dnp3_sec.s[fn], w->dnp3_sec.len[fn]);
}

/* http._line_end: (end of the line's text, start of the next) for the line at o (cut: the end) */
static void http_line_end(const uint8_t *d, Py_ssize_t o, Py_ssize_t lim, Py_ssize_t *e, Py_ssize_t *nxt) {
    const uint8_t *nl = o < lim ? memchr(d + o, '\n', (size_t)(lim - o)) : NULL;
    if (nl == NULL) {
        *e = *nxt = lim;
        return;
    }
    Py_ssize_t at = nl - d;
    *e = at > o && d[at - 1] == 13 ? at - 1 : at;
    *nxt = at + 1;
}

static int http_ws(uint8_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == 11 || c == 12; }

/* d[a:b] stripped of str.strip()'s ASCII whitespace (or only " \t") equals the lower-case ASCII k */
static int http_is(const uint8_t *d, Py_ssize_t a, Py_ssize_t b, const char *k, int all_ws) {
    while (a < b && (all_ws ? http_ws(d[a]) : (d[a] == ' ' || d[a] == '\t')))
        a++;
    while (b > a && (all_ws ? http_ws(d[b - 1]) : (d[b - 1] == ' ' || d[b - 1] == '\t')))
        b--;
    size_t n = strlen(k);
    if ((size_t)(b - a) != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = d[a + (Py_ssize_t)i];
        if ((c >= 'A' && c <= 'Z' ? c + 32 : c) != (uint8_t)k[i])
            return 0;
    }
    return 1;
}

/* http._chunks_ok, for chunk sizes of plain hex digits (1: parses, 0: does not, -1: Python's int()
 * would need to judge: a sign, "0x", "_", other spacing) */
static int http_chunks_ok(const uint8_t *d, Py_ssize_t o, Py_ssize_t lim) {
    while (o < lim) {
        Py_ssize_t e, nxt, a, b;
        http_line_end(d, o, lim, &e, &nxt);
        const uint8_t *semi = memchr(d + o, ';', (size_t)(e - o));
        a = o;
        b = semi ? semi - d : e;
        while (a < b && http_ws(d[a]))
            a++;
        while (b > a && http_ws(d[b - 1]))
            b--;
        if (a == b)
            return 0;
        unsigned long long n = 0;
        for (Py_ssize_t i = a; i < b; i++) {
            uint8_t c = d[i];
            int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
            if (v < 0)
                return c == '+' || c == '-' || c == '_' || c == 'x' || c == 'X' || c > 127 || c < 32 ? -1 : 0;
            if (n > (1ULL << 40))
                return -1;
            n = n * 16 + (unsigned)v;
        }
        if (n == 0)
            return 1;
        o = nxt + (Py_ssize_t)n;
        if (o > lim)
            return 0;
        http_line_end(d, o, lim, &e, &nxt);
        o = nxt;
    }
    return 1;
}

/* HTTP's columns (http.dissect_http) for a segment at d (lim bytes) into t (<= 500 characters), *proto
 * the Protocol column's body-media override ("" none); NULL for whatever Python should judge: not a
 * request or response, a byte outside printable ASCII (and tab, CR, LF) in the line or the headers, a
 * line cut by the segment's end where a header was due ([BoundError...]) */
/* http.request_or_response: a known method and a space within 13 bytes, or "HTTP/" */
static int http_starts(Walker *w, const uint8_t *d, Py_ssize_t lim) {
    if (lim >= 5 && memcmp(d, "HTTP/", 5) == 0)
        return 1;
    Py_ssize_t top = lim < 13 ? lim : 13;
    const uint8_t *sp = top > 0 ? memchr(d, ' ', (size_t)top) : NULL;
    if (sp == NULL || sp == d)
        return 0;
    size_t ml = (size_t)(sp - d);
    for (int i = 0; i < w->n_http_methods; i++)
        if (w->http_methods[i].len == ml && memcmp(w->http_methods[i].s, d, ml) == 0)
            return 1;
    return 0;
}

static char *http_info(Walker *w, char *t, const uint8_t *d, Py_ssize_t lim, const char **proto, size_t *plen) {
    char *start = t;
    *plen = 0;
    if (!http_starts(w, d, lim))
        return NULL;
    Py_ssize_t e, o;
    http_line_end(d, 0, lim, &e, &o);
    if (e > 480)
        return NULL;
    for (Py_ssize_t i = 0; i < e; i++)
        if (d[i] < 32 || d[i] > 126)
            return NULL;
    Py_ssize_t ct_a = -1, ct_b = -1, body = -1;
    int chunked = 0, more = 0;
    while (o < lim) {
        Py_ssize_t le, nxt;
        http_line_end(d, o, lim, &le, &nxt);
        if (le == o) {
            body = nxt;
            break;
        }
        for (Py_ssize_t i = o; i < le; i++)
            if ((d[i] < 32 && d[i] != '\t') || d[i] > 126)
                return NULL;
        const uint8_t *colon = memchr(d + o, ':', (size_t)(le - o));
        if (colon == NULL) {
            if (nxt == lim && le == lim)
                return NULL; /* [BoundErrorUnreassembled Packet] */
            body = o;
            more = 1;
            break;
        }
        Py_ssize_t c = colon - d;
        if (c > o) {
            if (http_is(d, o, c, "content-type", 1)) {
                ct_a = c + 1;
                ct_b = le;
            } else if (http_is(d, o, c, "transfer-encoding", 1)) {
                chunked = 0;
                for (Py_ssize_t i = c + 1; i + 7 <= le && !chunked; i++)
                    chunked = http_is(d, i, i + 7, "chunked", 0) && d[i] != ' ' && d[i] != '\t' && d[i + 6] != ' ' && d[i + 6] != '\t';
            }
        }
        o = nxt;
    }
    t = put_str(t, (const char *)d, (size_t)e);
    *t++ = ' ';
    if (body < 0)
        return t;
    if (more)
        return PUT_LIT(t, "Continuation");
    if (body >= lim)
        return t;
    if (chunked) {
        int ok = http_chunks_ok(d, body, lim);
        if (ok < 0)
            return NULL;
        if (!ok)
            return t;
    }
    if (ct_a < 0)
        return t;
    /* the media type: the value stripped of " \t", up to ";", stripped, lower-cased */
    Py_ssize_t a = ct_a, b = ct_b;
    while (a < b && (d[a] == ' ' || d[a] == '\t'))
        a++;
    while (b > a && (d[b - 1] == ' ' || d[b - 1] == '\t'))
        b--;
    const uint8_t *semi = memchr(d + a, ';', (size_t)(b - a));
    if (semi != NULL)
        b = semi - d;
    while (a < b && http_ws(d[a]))
        a++;
    while (b > a && http_ws(d[b - 1]))
        b--;
    if (b - a > 60)
        return NULL;
    char mt[64];
    size_t ml = (size_t)(b - a);
    for (size_t i = 0; i < ml; i++) {
        uint8_t ch = d[a + (Py_ssize_t)i];
        mt[i] = (char)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
    }
    for (int i = 0; i < w->n_http_body; i++)
        if (w->http_body[i].mlen == ml && memcmp(w->http_body[i].m, mt, ml) == 0) {
            *proto = w->http_body[i].p;
            *plen = w->http_body[i].plen;
            return put_str(t, w->http_body[i].s, w->http_body[i].slen);
        }
    if (ml >= 5 && memcmp(mt, "text/", 5) == 0) {
        t = PUT_LIT(t, " (");
        t = put_str(t, mt, ml);
        *t++ = ')';
    }
    return t - start > 500 ? NULL : t;
}

static inline unsigned dce_u(const uint8_t *p, int n, int little) {
    unsigned v = 0;
    for (int k = 0; k < n; k++)
        v |= (unsigned)p[k] << (8 * (little ? k : n - 1 - k));
    return v;
}

/* dcerpc._uuid into u (36 characters), then its name from UUID_NAMES into t (or the text itself) */
static char *put_dce_uuid(Walker *w, char *t, const uint8_t *b, int little) {
    char u[36], *q = u;
    q = put_hex(q, dce_u(b, 4, little), 8);
    *q++ = '-';
    q = put_hex(q, dce_u(b + 4, 2, little), 4);
    *q++ = '-';
    q = put_hex(q, dce_u(b + 6, 2, little), 4);
    *q++ = '-';
    for (int k = 8; k < 16; k++) {
        if (k == 10)
            *q++ = '-';
        q = put_hex(q, b[k], 2);
    }
    for (int i = 0; i < w->n_dce_uuids; i++)
        if (memcmp(w->dce_uuids[i].uuid, u, 36) == 0)
            return put_str(t, w->dce_uuids[i].name, w->dce_uuids[i].len);
    return put_str(t, u, 36);
}

/* dcerpc.dissect_dcerpc's Info (the first PDU's) for the segment d[0:lim) into t; NULL if it does not
 * start with a PDU header (_looks_like) or the text would be long */
static char *dcerpc_info(Walker *w, char *t, const uint8_t *d, Py_ssize_t lim) {
    if (lim < 16 || d[0] != 5 || d[1] > 1 || !w->dce_ptypes.len[d[2]])
        return NULL;
    int little = (d[4] & 0x10) != 0;
    Py_ssize_t flen = dce_u(d + 8, 2, little), stop = flen;
    if (flen < 16)
        return NULL;
    unsigned ptype = d[2], flags = d[3];
    static const char *const frag[4] = {"Mid", "1st", "Last", "Single"};
    t = put_str(t, w->dce_ptypes.s[ptype], w->dce_ptypes.len[ptype]);
    t = PUT_LIT(t, ": call_id: ");
    t = put_u64(t, dce_u(d + 12, 4, little));
    t = PUT_LIT(t, ", Fragment: ");
    t = put_str(t, frag[flags & 3], strlen(frag[flags & 3]));
    if (stop > lim)
        return PUT_LIT(t, "[BoundErrorUnreassembled Packet]");
    Py_ssize_t b = 16;
    if (ptype == 11 || ptype == 14) { /* Bind, Alter_context: the context items */
        if (b + 12 > stop)
            return t;
        unsigned n = d[b + 8];
        if (n > 12) /* (each item <= ~95 characters: the Info stays within rcall) */
            return NULL;
        t = PUT_LIT(t, ", ");
        t = put_u64(t, n);
        t = PUT_LIT(t, " context items:");
        Py_ssize_t o = b + 12;
        for (unsigned i = 0; i < n; i++) {
            if (o + 24 > stop)
                break;
            unsigned nt = d[o + 2];
            const uint8_t *iface = d + o + 4;
            unsigned ver = dce_u(d + o + (little ? 20 : 22), 2, little), minor = dce_u(d + o + (little ? 22 : 20), 2, little);
            o += 24;
            const uint8_t *trans = NULL;
            for (unsigned k = 0; k < nt; k++) {
                if (o + 20 > stop)
                    break;
                trans = d + o;
                o += 20;
            }
            if (i)
                *t++ = ',';
            *t++ = ' ';
            t = put_dce_uuid(w, t, iface, little);
            t = PUT_LIT(t, " V");
            t = put_u64(t, ver);
            *t++ = '.';
            t = put_u64(t, minor);
            t = PUT_LIT(t, " (");
            if (trans != NULL)
                t = put_dce_uuid(w, t, trans, little);
            *t++ = ')';
        }
    } else if (ptype == 12 || ptype == 15) { /* Bind_ack, Alter_context_resp: the results */
        if (b + 10 > stop)
            return t;
        unsigned mx = dce_u(d + b, 2, little), mr = dce_u(d + b + 2, 2, little), sl = dce_u(d + b + 8, 2, little);
        Py_ssize_t o = b + 10 + sl;
        o += (4 - o % 4) % 4;
        if (o + 4 > stop)
            return t;
        unsigned n = d[o];
        if (n > 40)
            return NULL;
        o += 4;
        t = PUT_LIT(t, ", max_xmit: ");
        t = put_u64(t, mx);
        t = PUT_LIT(t, " max_recv: ");
        t = put_u64(t, mr);
        t = PUT_LIT(t, ", ");
        t = put_u64(t, n);
        t = PUT_LIT(t, " results:");
        for (unsigned i = 0; i < n; i++) {
            if (o + 24 > stop)
                break;
            unsigned res = dce_u(d + o, 2, little);
            if (i)
                *t++ = ',';
            *t++ = ' ';
            if (res < 256 && w->dce_results.len[res])
                t = put_str(t, w->dce_results.s[res], w->dce_results.len[res]);
            else {
                t = PUT_LIT(t, "Unknown result (");
                t = put_u64(t, res);
                *t++ = ')';
            }
            o += 24;
        }
    } else if (ptype == 0 && b + 8 <= stop) {
        t = PUT_LIT(t, ", opnum: ");
        t = put_u64(t, dce_u(d + b + 6, 2, little));
        t = PUT_LIT(t, ", Ctx: ");
        t = put_u64(t, dce_u(d + b + 4, 2, little));
    } else if ((ptype == 2 || ptype == 3) && b + 8 <= stop) {
        t = PUT_LIT(t, ", Ctx: ");
        t = put_u64(t, dce_u(d + b + 4, 2, little));
        if (ptype == 3 && b + 16 <= stop) {
            t = PUT_LIT(t, ", status: 0x");
            t = put_hex(t, dce_u(d + b + 8, 4, little), 8);
        }
    }
    return t;
}

/* text.dissect_irc's Info after "Request " / "Response " for the segment d[0:lim): each line's command in
 * parentheses; NULL for a byte >= 0x80 (Python's U+FFFD) or long */
static char *irc_info(char *t, const uint8_t *d, Py_ssize_t lim) {
    char *start = t;
    for (Py_ssize_t k = 0; k < lim; k++)
        if (d[k] >= 0x80)
            return NULL;
    Py_ssize_t o = 0;
    while (o < lim) {
        const uint8_t *nl = memchr(d + o, '\n', (size_t)(lim - o));
        Py_ssize_t e = nl != NULL ? nl - d : lim, nxt = nl != NULL ? e + 1 : lim;
        if (nl != NULL && e > o && d[e - 1] == 13)
            e--;
        Py_ssize_t a = o;
        o = nxt;
        if (a == e)
            continue;
        if (d[a] == ':') { /* the prefix, up to a space (none: nothing more to read) */
            const uint8_t *sp = memchr(d + a + 1, ' ', (size_t)(e - a - 1));
            if (sp == NULL)
                continue;
            a = sp - d + 1;
        }
        while (a < e && d[a] == ' ')
            a++;
        Py_ssize_t c = a;
        while (c < e && d[c] != ' ')
            c++;
        if (c == a)
            continue;
        if (t - start + (c - a) > 1500)
            return NULL;
        if (t != start)
            *t++ = ' ';
        *t++ = '(';
        t = put_str(t, (const char *)d + a, (size_t)(c - a));
        *t++ = ')';
    }
    return t;
}

/* tunnels.dissect_isakmp's Info for the message d[0:len) into t; NULL if its 28-byte header is cut */
static char *isakmp_info(Walker *w, char *t, const uint8_t *d, Py_ssize_t len) {
    if (len < 28)
        return NULL;
    unsigned ex = d[18];
    if (w->isakmp_ex.len[ex])
        t = put_str(t, w->isakmp_ex.s[ex], w->isakmp_ex.len[ex]);
    else {
        t = PUT_LIT(t, "Unknown (");
        t = put_u64(t, ex);
        *t++ = ')';
    }
    if (d[17] >> 4 == 2) {
        uint32_t mid = be32(d + 20);
        t = PUT_LIT(t, " MID=");
        if (mid < 10)
            *t++ = '0';
        t = put_u64(t, mid);
        t = d[19] & 0x08 ? PUT_LIT(t, " Initiator") : PUT_LIT(t, " Responder");
        t = d[19] & 0x20 ? PUT_LIT(t, " Response") : PUT_LIT(t, " Request");
    }
    return t;
}

static char *put_ctext(char *t, const uint8_t *d, Py_ssize_t n);

/* ASCII upper-case comparison of s[0:n) with the upper-case literal u (prefix: n may be longer) */
static int upper_is(const uint8_t *s, Py_ssize_t n, const char *u, int prefix) {
    Py_ssize_t k = (Py_ssize_t)strlen(u);
    if (prefix ? n < k : n != k)
        return 0;
    for (Py_ssize_t i = 0; i < k; i++) {
        uint8_t c = s[i] >= 'a' && s[i] <= 'z' ? s[i] - 32 : s[i];
        if (c != (uint8_t)u[i])
            return 0;
    }
    return 1;
}

/* An SMB1 message at d[0:lim) (its 32-byte header there), as smb._smb1 names it, into t with *proto set to
 * "SMB" or "BROWSER" (a Transaction request to \MAILSLOT\BROWSE or \MAILSLOT\LANMAN); NULL where Python's
 * (a named pipe, a text not ASCII) */
static char *smb1_info(Walker *w, char *t, const uint8_t *d, Py_ssize_t lim, int *browser) {
    unsigned cmd = d[4], resp = d[9] & 0x80;
    char *start = t;
    *browser = 0;
    if (w->smb1_cmds.len[cmd])
        t = put_str(t, w->smb1_cmds.s[cmd], w->smb1_cmds.len[cmd]);
    else {
        t = PUT_LIT(t, "Unknown (0x");
        t = put_hex(t, cmd, 2);
        *t++ = ')';
    }
    t = resp ? PUT_LIT(t, " Response") : PUT_LIT(t, " Request");
    Py_ssize_t o = 32;
    if (cmd != 0x25 || resp || o + 1 > lim)
        return t;
    unsigned wct = d[o];
    if (wct < 14 || o + 1 + 2 * (Py_ssize_t)wct + 2 > lim)
        return t;
    Py_ssize_t dcount = le16(d + o + 23), doff = le16(d + o + 25), p = o + 1 + 2 * (Py_ssize_t)wct + 2, e;
    uint8_t name[64];
    Py_ssize_t nl = 0;
    if (le16(d + 10) & 0x8000) { /* UTF-16LE, aligned to 2 from the header */
        p += p & 1;
        for (e = p; e + 1 < lim && (d[e] || d[e + 1]); e += 2) {
            if (d[e + 1] || d[e] >= 0x80)
                return NULL;
            if (nl < 64)
                name[nl] = d[e];
            nl++;
        }
        if (e + 1 >= lim)
            return t;
    } else {
        for (e = p; e < lim && d[e]; e++) {
            if (d[e] >= 0x80)
                return NULL;
            if (nl < 64)
                name[nl] = d[e];
            nl++;
        }
        if (e >= lim)
            return t;
    }
    if (nl > 64)
        return upper_is(name, 64, "\\PIPE\\", 0) ? NULL : t; /* (long: not one of the names below) */
    if (upper_is(name, nl, "\\MAILSLOT\\", 1)) {
        if (!upper_is(name, nl, "\\MAILSLOT\\BROWSE", 0) && !upper_is(name, nl, "\\MAILSLOT\\LANMAN", 0))
            return t;
        Py_ssize_t b = doff, blim = doff + dcount < lim ? doff + dcount : lim;
        if (b >= blim)
            return t;
        t = start; /* the Browser protocol's columns */
        *browser = 1;
        unsigned bc = d[b];
        if (w->browser_cmds.len[bc])
            t = put_str(t, w->browser_cmds.s[bc], w->browser_cmds.len[bc]);
        else {
            t = PUT_LIT(t, "Unknown command 0x");
            t = put_hex(t, bc, 2);
        }
        if ((bc == 1 || bc == 12 || bc == 13 || bc == 15) && b + 26 <= blim) {
            *t++ = ' ';
            if ((t = put_ctext(t, d + b + 6, 16)) == NULL)
                return NULL;
            uint32_t stype = le32(d + b + 24);
            for (int i = 0; i < w->n_server_types; i++)
                if (stype & w->server_types[i].bit) {
                    t = PUT_LIT(t, ", ");
                    t = put_str(t, w->server_types[i].name, w->server_types[i].len);
                }
        } else if (bc == 2 && b + 2 < blim) {
            *t++ = ' ';
            if (blim - b - 2 > 200 || (t = put_ctext(t, d + b + 2, blim - b - 2)) == NULL)
                return NULL;
        }
        return t;
    }
    if (upper_is(name, nl, "\\PIPE\\", 0) && dcount)
        return NULL; /* (DCE/RPC in a named pipe: Python's) */
    return t;
}

/* routing.dissect_ldp's Info for d[0:lim) into t: each PDU's messages' names, each followed by a space */
static char *ldp_info(Walker *w, char *t, const uint8_t *d, Py_ssize_t lim) {
    char *start = t;
    for (Py_ssize_t off = 0; off + 10 <= lim;) {
        Py_ssize_t plen = be16(d + off + 2), pend = off + 4 + plen, mlim = pend < lim ? pend : lim;
        for (Py_ssize_t o = off + 10; o + 8 <= mlim; o += 4 + (Py_ssize_t)be16(d + o + 2)) {
            if (t - start > 1400)
                return NULL;
            unsigned mt = be16(d + o) & 0x7FFF;
            int i = 0;
            while (i < w->n_ldp_msgs && w->ldp_msgs[i].type != mt)
                i++;
            t = i < w->n_ldp_msgs ? put_str(t, w->ldp_msgs[i].name, w->ldp_msgs[i].len) : PUT_LIT(t, "Unknown Message");
            *t++ = ' ';
        }
        if (plen < 6)
            break;
        off = pend;
    }
    return t;
}

/* routing.dissect_bgp's Info for the segment d[0:lim) into t; NULL where Python flags it (a length below
 * 19, a header cut at the end) or past 40 messages */
static char *bgp_info(Walker *w, char *t, const uint8_t *d, Py_ssize_t lim) {
    static const uint8_t marker[16] = {255, 255, 255, 255, 255, 255, 255, 255,
                                       255, 255, 255, 255, 255, 255, 255, 255};
    if (memcmp(d, marker, lim < 16 ? (size_t)lim : 16) != 0)
        return PUT_LIT(t, "Continuation");
    Py_ssize_t off = 0;
    for (int k = 0; off + 19 <= lim && memcmp(d + off, marker, 16) == 0; k++) {
        Py_ssize_t ln = be16(d + off + 16);
        unsigned ty = d[off + 18];
        if (ln < 19 || k == 40)
            return NULL;
        if (k)
            t = PUT_LIT(t, ", ");
        t = w->bgp_types.len[ty] ? put_str(t, w->bgp_types.s[ty], w->bgp_types.len[ty]) : PUT_LIT(t, "Unknown");
        t = PUT_LIT(t, " Message");
        off += ln;
    }
    if (off < lim && off + 19 > lim)
        return NULL;
    return t;
}

/* db._cstr of d[o:lim) into t (NULL for a byte >= 0x80 or past 300 characters) */
static char *put_cstr(char *t, const uint8_t *d, Py_ssize_t o, Py_ssize_t lim) {
    if (o >= lim)
        return t;
    const uint8_t *z = memchr(d + o, 0, (size_t)(lim - o));
    Py_ssize_t e = z != NULL ? z - d : lim;
    if (e - o > 300)
        return NULL;
    for (Py_ssize_t k = o; k < e; k++)
        if (d[k] >= 0x80)
            return NULL;
    return put_str(t, (const char *)d + o, (size_t)(e - o));
}

/* db.dissect_mysql's Info for the segment d[0:lim) (avail bytes of the frame from d), req: to port 3306 */
static char *mysql_info(Walker *w, char *t, const uint8_t *d, Py_ssize_t lim, Py_ssize_t avail, int req) {
    char *start = t;
    int first = 1;
    Py_ssize_t o = 0;
    while (o + 4 <= lim) {
        Py_ssize_t n = (Py_ssize_t)(d[o] | (unsigned)d[o + 1] << 8 | (unsigned)d[o + 2] << 16);
        unsigned num = d[o + 3];
        Py_ssize_t p = o + 4, e = p + n < lim ? p + n : lim;
        if (p >= e) {
            o = p + n;
            continue;
        }
        if (req && first) {
            if (num == 0) {
                unsigned cmd = d[p];
                t = PUT_LIT(t, "Request ");
                if (w->mysql_cmds.len[cmd])
                    t = put_str(t, w->mysql_cmds.s[cmd], w->mysql_cmds.len[cmd]);
                else {
                    t = PUT_LIT(t, "Unknown (");
                    t = put_u64(t, cmd);
                    *t++ = ')';
                }
            } else if (num == 1 && n >= 32) {
                t = PUT_LIT(t, "Login Request user=");
                if ((t = put_cstr(t, d, p + 32, e)) == NULL)
                    return NULL;
                *t++ = ' ';
            } else
                t = PUT_LIT(t, "Request");
        } else if (!req) {
            unsigned b = d[p];
            if (first && num == 0 && b == 10) {
                t = PUT_LIT(t, "Server Greeting  proto=10 version=");
                if ((t = put_cstr(t, d, p + 1, e)) == NULL)
                    return NULL;
                *t++ = ' ';
            } else if (b == 0 && first) { /* (Python reads two length-encoded integers: in the frame) */
                if (p + 1 >= avail)
                    return NULL;
                unsigned c = d[p + 1];
                Py_ssize_t k = c < 0xFB ? 1 : c == 0xFC ? 3 : c == 0xFD ? 4 : c == 0xFE ? 9 : 1;
                if (p + 1 + k >= avail)
                    return NULL;
                t = PUT_LIT(t, "Response  OK ");
            } else if (b == 0xFF) {
                if (t == start) {
                    if (p + 3 > avail)
                        return NULL;
                    t = PUT_LIT(t, "Response  Error ");
                    t = put_u64(t, le16(d + p + 1));
                    *t++ = ' ';
                }
            } else if (b == 0xFE && n < 9) {
                if (t == start)
                    t = PUT_LIT(t, "Response ");
            } else if (first)
                t = PUT_LIT(t, "Response TABULAR Response ");
        }
        first = 0;
        o = p + n;
    }
    if (t == start)
        t = req ? PUT_LIT(t, "Request") : PUT_LIT(t, "Response ");
    return t;
}

/* Whether the line [t, e) that a nested format wrote (a PIM Register's or an ICMP error's inner packet)
 * marks no problem: no "[Malformed Packet]", no "Packet size limited" (the outer line would carry them) */
static int line_clean(const char *t, const char *e) {
    static const char mal[] = "[Malformed Packet]", cut[] = "Packet size limited";
    for (const char *c = t; c < e; c++)
        if ((*c == '[' && c + sizeof(mal) - 1 <= e && memcmp(c, mal, sizeof(mal) - 1) == 0) ||
            (*c == 'P' && c + sizeof(cut) - 1 <= e && memcmp(c, cut, sizeof(cut) - 1) == 0))
            return 0;
    return 1;
}

/* Whether q (qlen bytes, all of an ICMP error's quote) is one whole plain UDP datagram in IPv4 without
 * options or fragments, to ports without a dissector and not a heuristic's probe: then the quote's
 * dissection (icmp._quote) leaves the columns and the malformed flag alone */
static int quoted_plain_udp(Walker *w, const uint8_t *q, Py_ssize_t qlen) {
    if (qlen < 28 || q[0] != 0x45 || q[9] != 17 || (be16(q + 6) & 0x3FFF) || be16(q + 2) != qlen)
        return 0;
    const uint8_t *u = q + 20;
    unsigned sp = be16(u), dp = be16(u + 2);
    Py_ssize_t ulen = be16(u + 4);
    if (ulen != qlen - 20 || (w->ports[sp] & 12) || (w->ports[dp] & 12))
        return 0;
    if ((ulen > 9 && w->udp_b1[u[9]]) || (ulen >= 12 && in_u32(w->w0, w->nw0, be32(u + 8))) ||
        (ulen >= 16 && in_u32(w->w4, w->nw4, be32(u + 12))))
        return 0;
    return 1;
}

/* SCTP's Info (sctp.dissect_sctp): each chunk's name, "DATA (TSN=n) " / "SACK (Ack=n, Arwnd=n) " for the
 * whole ones, into t (<= 500 characters); NULL where Python would say more: a chunk cut or shorter than
 * its header, a DATA payload with a dissector for its PPID or ports */
static char *sctp_info(Walker *w, char *t, const uint8_t *s, Py_ssize_t end) {
    char *start = t;
    unsigned sp = be16(s), dp = be16(s + 2), lo = sp < dp ? sp : dp, hi = sp < dp ? dp : sp;
    Py_ssize_t o = 12;
    while (o < end) {
        if (o + 4 > end || t - start > 440)
            return NULL;
        unsigned c = s[o];
        Py_ssize_t ln = be16(s + o + 2);
        if (ln < 4 || o + ln > end)
            return NULL;
        if (c == 0 && ln >= 16) {
            if (ln > 16) {
                uint32_t ppid = be32(s + o + 12);
                for (int i = 0; i < w->n_sctp_ppids; i++)
                    if (w->sctp_ppids[i] == ppid)
                        return NULL;
                if ((w->sctp_ports[lo >> 3] >> (lo & 7) & 1) || (w->sctp_ports[hi >> 3] >> (hi & 7) & 1))
                    return NULL;
            }
            t = PUT_LIT(t, "DATA (TSN=");
            t = put_u64(t, be32(s + o + 4));
            t = PUT_LIT(t, ") ");
        } else if (c == 3 && ln >= 16) {
            t = PUT_LIT(t, "SACK (Ack=");
            t = put_u64(t, be32(s + o + 4));
            t = PUT_LIT(t, ", Arwnd=");
            t = put_u64(t, be32(s + o + 8));
            t = PUT_LIT(t, ") ");
        } else {
            t = put_str(t, w->sctp.s[c], w->sctp.len[c]);
            *t++ = ' ';
        }
        o += (ln + 3) & ~3;
    }
    return t;
}

/* The line of an IP packet whose protocol has no dissector: its description as the Info (ipproto.py) */
static char *put_unknown_ip(Walker *w, char *o, unsigned long long n, long long sec, unsigned us, const uint8_t *ip,
                            int v6, unsigned proto, unsigned long long wl) {
        if (v6) {
            HEAD_IP(ip, v6, " IPv6 ");
            o = PUT_LIT(o, "Unknown IP Protocol: ");
        } else
            HEAD_IP(ip, v6, " IPv4 ");
        o = put_str(o, w->ip_unknown.s[proto], w->ip_unknown.len[proto]);
        o = PUT_LIT(o, " (");
        o = put_u64(o, proto);
        *o++ = ')';
        return o;
}

static char *format_l4(Walker *w, char *o, unsigned long long n, long long sec, unsigned us, const uint8_t *ip,
                       int v6, unsigned proto, const uint8_t *l4, Py_ssize_t len, Py_ssize_t cap,
                       unsigned hlim, unsigned long long wl, int fl) {
    const uint8_t *ports = w->ports;
    if ((fl & L4_FIRST_FRAG) && proto != 17 && proto != 6) /* (TCP is dissected alike in a first fragment) */
        return NULL;
    if (proto == 51 && w->ah && !(fl & L4_AFTER_AH)) { /* AH: the next header's columns (inet.dissect_ah) */
        Py_ssize_t size = len >= 12 ? ((Py_ssize_t)l4[1] + 2) * 4 : 0;
        if (len < 12 || size > len)
            return NULL;
        return format_l4(w, o, n, sec, us, ip, v6, l4[0], l4 + size, len - size, cap - size, hlim, wl,
                         fl | L4_AFTER_AH);
    }
    if (proto == 47 && w->gre && !(fl & L4_INNER)) { /* GRE: the inner packet's columns (inet.dissect_gre) */
        Py_ssize_t lim = len < cap ? len : cap, h = gre_len(l4, lim);
        return h < 0 ? NULL : format_inner(w, o, n, sec, us, be16(l4 + 2), l4 + h, lim - h, wl);
    }
    if (proto == 6) {
        if (len < 20)
            return NULL;
        unsigned sp = be16(l4), dp = be16(l4 + 2), offfl = be16(l4 + 12), win = be16(l4 + 14);
        uint32_t seq = be32(l4 + 4), ack = be32(l4 + 8);
        unsigned hl = (offfl >> 10) & 0x3C;
        Py_ssize_t seglen = len - (Py_ssize_t)hl;
        if (hl < 20)
            return NULL;
        int mptcp = 0, ssh = 0, ncp = 0, rpc = 0, text = -1;
        char rcall[1600]; /* an RPC call's Info (rpc = 2), SMB2's (smb = 1) */
        int smb = 0;
        const char *rcol = NULL;
        size_t rclen = 0;
        Py_ssize_t rlen = 0;
        if (seglen < 0) /* options past the IP payload's end (a first fragment cutting them): inet.dissect_tcp
                           only warns, Len=0, no option walk, no payload */
            seglen = 0;
        else if (hl > 20 && memchr(l4 + 20, 30, hl - 20) != NULL) { /* maybe MPTCP */
            if (!w->mptcp)
                return NULL;
            mptcp = has_option(l4 + 20, l4 + hl, 30);
        }
        if (seglen) {
            const uint8_t *pl = l4 + hl;
            Py_ssize_t avail = cap - (Py_ssize_t)hl;
            unsigned lo = sp < dp ? sp : dp, hi = sp < dp ? dp : sp;
            if (w->ssh && tcp_port_is(w, sp, dp, 22)) {
                /* SSH's dissector takes it: its encrypted packets only */
                if (seglen >= 4 && memcmp(pl, "SSH-", 4) == 0) { /* the banner (session 11) */
                    const uint8_t *nl = w->ssh_kex ? memchr(pl, '\n', (size_t)seglen) : NULL;
                    Py_ssize_t e = nl != NULL ? nl - pl : seglen;
                    if (!w->ssh_kex || e > 1000)
                        return NULL;
                    if (pl[e - 1] == 13)
                        e--;
                    for (Py_ssize_t k = 0; k < e; k++)
                        if (pl[k] >= 0x80)
                            return NULL;
                    memcpy(rcall, pl, (size_t)e);
                    rlen = e;
                    ssh = 2;
                } else if (ssh_plain(w, pl, seglen)) { /* key exchange messages (session 11) */
                    char *e = w->ssh_kex ? ssh_kex_info(w, rcall, pl, seglen) : NULL;
                    if (e == NULL)
                        return NULL;
                    rlen = e - rcall;
                    ssh = 3;
                } else
                    ssh = 1;
            } else if (w->n_rpc && rpc_index(w, (ports[lo] & 1) ? lo : hi) >= 0) {
                /* RPC over TCP: one record mark, one reply in the segment (no room for another mark) */
                uint32_t mark = seglen >= 4 ? be32(pl) & 0x7FFFFFFF : 0;
                Py_ssize_t mlen = seglen - 4 < (Py_ssize_t)mark ? seglen - 4 : (Py_ssize_t)mark;
                if (mark < 12 || mark > (1u << 24) || 8 + (Py_ssize_t)mark <= seglen)
                    return NULL;
                if (rpc_reply(pl + 4, mlen))
                    rpc = 1;
                else { /* a call (session 10) */
                    char *e = w->n_rpc_progs ? rpc_call_info(w, rcall, pl + 4, mlen, &rcol, &rclen) : NULL;
                    if (e == NULL)
                        return NULL;
                    rlen = e - rcall;
                    rpc = 2;
                }
            } else if (w->tls && seglen >= 5 && pl[0] >= 20 && pl[0] <= 25 && pl[1] == 3 && pl[2] <= 4 &&
                       ((ports[lo] & 1) || (ports[hi] & 1)
                            ? (w->tls_ports[((ports[lo] & 1) ? lo : hi) >> 3] >> (((ports[lo] & 1) ? lo : hi) & 7) & 1) ||
                                  (w->ldap_tls && tcp_port_is(w, sp, dp, w->ldap_tls))
                            : ((pl[0] == 22 || pl[0] == 23) && pl[2] <= 3 && be16(pl + 3) != 0 &&
                               be16(pl + 3) < 16384 + 2048))) {
                /* TLS records: on its ports (tls.dissect_tls_port) or by its heuristic on a port without a
                 * dissector (anything else there: the branches below, as before) */
                const char *tp;
                size_t tpl;
                char *e = tls_info(w, rcall, pl, seglen < avail ? seglen : avail, &tp, &tpl);
                if (e == NULL)
                    return NULL;
                rlen = e - rcall;
                rcol = tp;
                rclen = tpl;
                smb = 2;
            } else if (w->smb2 && (((ports[lo] & 1) ? lo : hi) == 139 || ((ports[lo] & 1) ? lo : hi) == 445)) {
                /* an NBSS session message holding SMB2 (netbios.dissect_nbss, smb._smb2) */
                Py_ssize_t slim = seglen < avail ? seglen : avail;
                if (slim < 4 + 64 || pl[0] != 0 || memcmp(pl + 4, "\xfeSMB", 4) != 0)
                    return NULL;
                Py_ssize_t nl = 4 + (Py_ssize_t)(be16(pl + 2) | (unsigned)pl[1] << 16);
                if (nl < slim)
                    slim = nl;
                char *e = slim >= 4 + 64 ? smb2_info(w, rcall, pl + 4, slim - 4) : NULL;
                if (e == NULL)
                    return NULL;
                rlen = e - rcall;
                smb = 1;
            } else if (w->dcerpc && (tcp_port_is(w, sp, dp, w->dcerpc) ||
                                     (!(ports[lo] & 1) && !(ports[hi] & 1) && pl[0] == 5 && seglen >= 3 && pl[1] <= 1 &&
                                      w->dce_ptypes.len[pl[2]]))) {
                /* DCE/RPC on the endpoint mapper's port or by the heuristic on a port without a dissector */
                char *e = dcerpc_info(w, rcall, pl, seglen);
                if (e == NULL)
                    return NULL;
                rlen = e - rcall;
                rcol = "DCERPC", rclen = 6, smb = 2;
            } else if (w->irc && tcp_port_is(w, sp, dp, w->irc)) { /* IRC (session 11) */
                char *t0 = dp == w->irc ? PUT_LIT(rcall, "Request ") : PUT_LIT(rcall, "Response ");
                char *e = irc_info(t0, pl, seglen);
                if (e == NULL)
                    return NULL;
                rlen = e - rcall;
                rcol = "IRC", rclen = 3, smb = 2;
            } else if (w->krb && tcp_port_is(w, sp, dp, w->krb)) { /* Kerberos after its record mark (session 11) */
                unsigned mt = seglen > 4 ? pl[4] : 0;
                if ((mt & 0xE0) != 0x60 || (mt & 0x1F) == 30 || !w->krb_types.len[mt & 0x1F])
                    return NULL;
                rlen = w->krb_types.len[mt & 0x1F];
                memcpy(rcall, w->krb_types.s[mt & 0x1F], (size_t)rlen);
                rcol = "KRB5", rclen = 4, smb = 2;
            } else if (w->ldp && tcp_port_is(w, sp, dp, w->ldp)) { /* LDP (session 11) */
                char *e = ldp_info(w, rcall, pl, seglen);
                if (e == NULL)
                    return NULL;
                rlen = e - rcall;
                rcol = "LDP", rclen = 3, smb = 2;
            } else if (w->bgp && tcp_port_is(w, sp, dp, w->bgp)) { /* BGP (session 11) */
                char *e = bgp_info(w, rcall, pl, seglen);
                if (e == NULL)
                    return NULL;
                rlen = e - rcall;
                rcol = "BGP", rclen = 3, smb = 2;
            } else if (w->mysql && tcp_port_is(w, sp, dp, w->mysql)) { /* MySQL (session 11) */
                char *e = seglen >= 4 ? mysql_info(w, rcall, pl, seglen, avail, dp == w->mysql) : NULL;
                if (e == NULL)
                    return NULL;
                rlen = e - rcall;
                rcol = "MySQL", rclen = 5, smb = 2;
            } else if (w->n_text && (text = text_index(w, (ports[lo] & 1) ? lo : hi)) >= 0) {
                char tmp[400];
                if (text_info(w, tmp, text, pl, seglen, dp) == NULL)
                    return NULL;
            } else if (w->http && (w->http_ports[((ports[lo] & 1) ? lo : hi) >> 3] >> (((ports[lo] & 1) ? lo : hi) & 7) & 1)) {
                if (!http_starts(w, pl, seglen)) {
                    /* no request or response: HTTP/2's preface (Python's) or data, the plain TCP line below */
                    if (seglen >= 3 && memcmp(pl, "PRI", 3) == 0)
                        return NULL;
                    goto plain;
                }
                char tmp[560];
                const char *hp = NULL;
                size_t hpl = 0;
                char *e = http_info(w, tmp, pl, seglen, &hp, &hpl);
                if (e == NULL || e - tmp > 500)
                    return NULL;
                HEAD_ADDRS(ip, v6);
                *o++ = ' ';
                o = hpl ? put_str(o, hp, hpl) : PUT_LIT(o, "HTTP");
                *o++ = ' ';
                o = put_u64(o, wl);
                *o++ = ' ';
                return put_str(o, tmp, (size_t)(e - tmp));
            } else if (w->dnp3 && tcp_port_is(w, sp, dp, 20000)) {
                char tmp[200];
                if (dnp3_info(w, tmp, pl, seglen) == NULL)
                    return NULL;
                HEAD_IP(ip, v6, " DNP 3.0 ");
                return dnp3_info(w, o, pl, seglen);
            } else if (w->ncp && tcp_port_is(w, sp, dp, 524)) {
                char tmp[512]; /* (C + a request text <= 63 + ": " + a path <= ~233) */
                if (ncp_info(w, tmp, pl, seglen) == NULL)
                    return NULL;
                ncp = 1;
            } else {
                if (w->hfirst[pl[0]] && in_prefixes(w->hpfx, pl, avail))
                    return NULL;
                if ((ports[sp] & 1) || (ports[dp] & 1)) {
                    if ((w->first[pl[0]] && in_prefixes(w->pfx, pl, avail)) || (ports[sp] & 2) ||
                        (ports[dp] & 2))
                        return NULL;
                }
            }
        }
        if (ssh == 2) {
            HEAD_IP(ip, v6, " SSH ");
            o = sp == 22 ? PUT_LIT(o, "Server: Protocol (") : PUT_LIT(o, "Client: Protocol (");
            o = put_str(o, rcall, (size_t)rlen);
            *o++ = ')';
            return o;
        }
        if (ssh == 3) {
            HEAD_IP(ip, v6, " SSHv2 ");
            o = sp == 22 ? PUT_LIT(o, "Server: ") : PUT_LIT(o, "Client: ");
            return put_str(o, rcall, (size_t)rlen);
        }
        if (ssh) {
            HEAD_IP(ip, v6, " SSHv2 ");
            o = sp == 22 ? PUT_LIT(o, "Server") : PUT_LIT(o, "Client");
            o = PUT_LIT(o, ": Encrypted packet (len=");
            o = put_u64(o, (unsigned long long)seglen);
            *o++ = ')';
            return o;
        }
        if (smb == 2) { /* TLS, and the payload protocols whose Protocol column rcol gives (session 11) */
            HEAD_ADDRS(ip, v6);
            *o++ = ' ';
            o = rcol != NULL ? put_str(o, rcol, rclen) : PUT_LIT(o, "SSL");
            *o++ = ' ';
            o = put_u64(o, wl);
            *o++ = ' ';
            return put_str(o, rcall, (size_t)rlen);
        }
        if (smb) {
            HEAD_IP(ip, v6, " SMB2 ");
            return put_str(o, rcall, (size_t)rlen);
        }
        if (rpc == 2) { /* a call: its program's column */
            HEAD_ADDRS(ip, v6);
            *o++ = ' ';
            o = rcol != NULL ? put_str(o, rcol, rclen) : PUT_LIT(o, "RPC");
            *o++ = ' ';
            o = put_u64(o, wl);
            *o++ = ' ';
            return put_str(o, rcall, (size_t)rlen);
        }
        if (rpc) { /* the reply's program is told by the port it comes from */
            int i = rpc_index(w, sp);
            HEAD_ADDRS(ip, v6);
            *o++ = ' ';
            o = i >= 0 ? put_str(o, w->rpc[i].proto, w->rpc[i].len) : PUT_LIT(o, "RPC");
            *o++ = ' ';
            o = put_u64(o, wl);
            return PUT_LIT(o, " Reply");
        }
        if (text >= 0) {
            HEAD_ADDRS(ip, v6);
            *o++ = ' ';
            o = put_str(o, w->text[text].proto, w->text[text].len);
            *o++ = ' ';
            o = put_u64(o, wl);
            *o++ = ' ';
            return text_info(w, o, text, l4 + hl, seglen, dp);
        }
        if (ncp) {
            HEAD_IP(ip, v6, " NCP ");
            return ncp_info(w, o, l4 + hl, seglen);
        }
    plain:;
        unsigned fl = offfl & 0xFFF;
        if (mptcp)
            HEAD_IP(ip, v6, " MPTCP ");
        else
            HEAD_IP(ip, v6, " TCP ");
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
        return put_u64(o, (unsigned long long)seglen);
    }
    if (proto == 17) {
        if (len < 8)
            return NULL;
        unsigned sp = be16(l4), dp = be16(l4 + 2);
        Py_ssize_t ulen = be16(l4 + 4);
        if (ulen < 8 || (ulen > len && !(fl & L4_FIRST_FRAG)))
            return NULL;
        if (PySet_GET_SIZE(w->bound)) { /* a conversation a dissector bound comes first */
            int r = bound_has(w, sp);
            if (r == 0)
                r = bound_has(w, dp);
            if (r < 0)
                return (char *)-1;
            if (r)
                return NULL;
        }
        unsigned lo = sp < dp ? sp : dp, hi = sp < dp ? dp : sp;
        if (w->rx && (rx_port(w, lo) || (!(ports[lo] & 4) && rx_port(w, hi))))
            return format_rx(w, o, n, sec, us, ip, v6, l4 + 8, (ulen < len ? ulen : len) - 8, sp, dp, wl);
        if (fl & L4_FIRST_FRAG)
            return NULL;
        unsigned chosen = (ports[lo] & 4) ? lo : hi;
        if (!(fl & L4_INNER) && (chosen == 6081 || chosen == 5072 || chosen == 4754)) {
            /* a tunnel over UDP: the inner packet's columns (tunnels.dissect_geneve, dissect_ayiya,
             * dissect_gre_in_udp) */
            const uint8_t *m = l4 + 8;
            Py_ssize_t ml = (ulen < cap ? ulen : cap) - 8;
            if (chosen == 6081 && w->geneve) {
                Py_ssize_t h = ml >= 8 ? 8 + (m[0] & 0x3F) * 4 : ml + 1;
                return h > ml ? NULL : format_inner(w, o, n, sec, us, be16(m + 2), m + h, ml - h, wl);
            }
            if (chosen == 5072 && w->ayiya) { /* a forwarded IPv4/IPv6 packet, identity and signature there */
                if (ml < 8 || (m[2] & 0x0F) != 1 || (m[3] != 4 && m[3] != 41))
                    return NULL;
                Py_ssize_t h = 8 + ((m[0] >> 4) ? (Py_ssize_t)1 << (m[0] >> 4) : 0) + (m[1] >> 4) * 4;
                return h >= ml ? NULL
                               : format_inner(w, o, n, sec, us, m[3] == 4 ? 0x0800 : 0x86DD, m + h, ml - h, wl);
            }
            if (chosen == 4754 && w->gre_udp) {
                Py_ssize_t h = gre_len(m, ml);
                return h < 0 ? NULL : format_inner(w, o, n, sec, us, be16(m + 2), m + h, ml - h, wl);
            }
            return NULL;
        }
        if (w->dns && (chosen == w->dns_port || chosen == w->mdns_port || (w->llmnr_port && chosen == w->llmnr_port))) {
            /* DNS / MDNS / LLMNR (session 11: DNS's Info) messages */
            char tmp[4096];
            int mdns = chosen == w->mdns_port;
            char *e = dns_info(w, tmp, l4 + 8, ulen - 8, mdns);
            if (e == NULL || e - tmp > 2300) /* (the line stays within LINE_MAX_BYTES) */
                return NULL;
            HEAD_ADDRS(ip, v6);
            o = mdns ? PUT_LIT(o, " MDNS ") : chosen == w->dns_port ? PUT_LIT(o, " DNS ") : PUT_LIT(o, " LLMNR ");
            o = put_u64(o, wl);
            *o++ = ' ';
            return dns_info(w, o, l4 + 8, ulen - 8, mdns);
        }
        if (w->nbds && chosen == w->nbds) { /* NBDS, the SMB1 in it, a Browser message (session 11) */
            const uint8_t *m = l4 + 8;
            Py_ssize_t ml = ulen - 8, q = 14, used;
            if (ml < 10)
                return NULL;
            unsigned t = m[0];
            char tmp[600], *e = tmp;
            int browser = 0, smb = 0;
            if ((t == 0x10 || t == 0x11 || t == 0x12)) {
                if (ml < 14)
                    return NULL;
                int named = 1;
                for (int k = 0; k < 2 && named; k++) {
                    char nbuf[400], *nt = nbuf;
                    int r = nb_name(m, q, ml, 0, &nt, &used);
                    if (r < 0)
                        return NULL;
                    named = r;
                    q += r ? used : 0;
                }
                if (named && q + 32 <= ml && m[q] == 0xFF && memcmp(m + q + 1, "SMB", 3) == 0) {
                    e = smb1_info(w, tmp, m + q, ml - q, &browser);
                    if (e == NULL)
                        return NULL;
                    smb = 1;
                } else if (named && q + 64 <= ml && m[q] == 0xFE && memcmp(m + q + 1, "SMB", 3) == 0)
                    return NULL; /* (SMB2: Python's) */
            }
            if (browser)
                HEAD_IP(ip, v6, " BROWSER ");
            else if (smb)
                HEAD_IP(ip, v6, " SMB ");
            else {
                HEAD_IP(ip, v6, " NBDS ");
                if (w->nbds_types.len[t])
                    return put_str(o, w->nbds_types.s[t], w->nbds_types.len[t]);
                o = PUT_LIT(o, "Unknown message type (0x");
                o = put_hex(o, t, 2);
                *o++ = ')';
                return o;
            }
            return put_str(o, tmp, (size_t)(e - tmp));
        }
        if (w->radius && (w->radius_ports[chosen >> 3] >> (chosen & 7) & 1)) { /* RADIUS (session 11) */
            const uint8_t *m = l4 + 8;
            if (ulen - 8 < 20)
                return NULL;
            HEAD_IP(ip, v6, " RADIUS ");
            if (w->radius_codes.len[m[0]])
                o = put_str(o, w->radius_codes.s[m[0]], w->radius_codes.len[m[0]]);
            else {
                o = PUT_LIT(o, "Unknown Packet (");
                o = put_u64(o, m[0]);
                *o++ = ')';
            }
            o = PUT_LIT(o, " id=");
            return put_u64(o, m[1]);
        }
        if (w->krb && chosen == w->krb) { /* Kerberos: the message type (session 11; errors: Python's) */
            const uint8_t *m = l4 + 8;
            if (ulen - 8 < 1 || (m[0] & 0xE0) != 0x60 || (m[0] & 0x1F) == 30 || !w->krb_types.len[m[0] & 0x1F])
                return NULL;
            HEAD_IP(ip, v6, " KRB5 ");
            return put_str(o, w->krb_types.s[m[0] & 0x1F], w->krb_types.len[m[0] & 0x1F]);
        }
        if (w->isakmp && (chosen == w->isakmp || (w->udpencap && chosen == w->udpencap))) {
            /* ISAKMP, and UDP-encapsulated IPsec: NAT keepalives, ISAKMP after the non-ESP marker, ESP */
            const uint8_t *m = l4 + 8;
            Py_ssize_t ml = ulen - 8;
            if (chosen == w->udpencap) {
                if (ml == 1 && m[0] == 0xFF) {
                    HEAD_IP(ip, v6, " UDPENCAP ");
                    return PUT_LIT(o, "NAT-keepalive");
                }
                if (!(ml >= 4 && be32(m) == 0))
                    return format_l4(w, o, n, sec, us, ip, v6, 50, m, ml, cap - 8, hlim, wl, fl);
                m += 4;
                ml -= 4;
            }
            char tmp[120];
            char *e = isakmp_info(w, tmp, m, ml);
            if (e == NULL)
                return NULL;
            HEAD_IP(ip, v6, " ISAKMP ");
            return put_str(o, tmp, (size_t)(e - tmp));
        }
        if (w->ldp && chosen == w->ldp) { /* LDP (session 11) */
            char tmp[1500];
            char *e = ldp_info(w, tmp, l4 + 8, ulen - 8);
            if (e == NULL)
                return NULL;
            HEAD_IP(ip, v6, " LDP ");
            return put_str(o, tmp, (size_t)(e - tmp));
        }
        if (w->nbns && chosen == 137) { /* NBNS: the operation, questions' and answers' names and types */
            char tmp[1600];
            char *e = nbns_info(w, tmp, l4 + 8, (ulen < len ? ulen : len) - 8);
            if (e == NULL)
                return NULL;
            HEAD_IP(ip, v6, " NBNS ");
            return put_str(o, tmp, (size_t)(e - tmp));
        }
        if (w->snmp && (chosen == 161 || chosen == 162)) { /* SNMP v1/v2c: the PDU type and object names */
            char tmp[1600];
            char *e = snmp_info(w, tmp, l4 + 8, (ulen < len ? ulen : len) - 8);
            if (e == NULL)
                return NULL;
            HEAD_IP(ip, v6, " SNMP ");
            return put_str(o, tmp, (size_t)(e - tmp));
        }
        if (w->n_sip && chosen == 5060) { /* SIP (voip.dissect_sip): request / status lines */
            char tmp[2800];
            int sdp = 0;
            Py_ssize_t ml = (ulen < len ? ulen : len) - 8;
            char *e = sip_info(w, tmp, l4 + 8, ml, &sdp);
            if (e == NULL || e - tmp > 2000)
                return NULL;
            HEAD_ADDRS(ip, v6);
            o = sdp ? PUT_LIT(o, " SIP/SDP ") : PUT_LIT(o, " SIP ");
            o = put_u64(o, wl);
            *o++ = ' ';
            return put_str(o, tmp, (size_t)(e - tmp));
        }
        if (w->dnp3 && chosen == 20000) {
            char tmp[200];
            Py_ssize_t ml = (ulen < len ? ulen : len) - 8;
            if (dnp3_info(w, tmp, l4 + 8, ml) == NULL)
                return NULL;
            HEAD_IP(ip, v6, " DNP 3.0 ");
            return dnp3_info(w, o, l4 + 8, ml);
        }
        if (w->bfd && (chosen == 3784 || chosen == 4784)) { /* BFD control: its 24-byte header all there */
            const uint8_t *m = l4 + 8;
            Py_ssize_t ml = ulen - 8;
            if (ml < 24 || ((m[1] & 0x04) && ml < 26)) /* (with authentication: its type and length too) */
                return NULL;
            HEAD_ADDRS(ip, v6);
            o = PUT_LIT(o, " BFD Control ");
            o = put_u64(o, wl);
            o = PUT_LIT(o, " Diag: ");
            o = put_str(o, w->bfd_diag.s[m[0] & 0x1F], w->bfd_diag.len[m[0] & 0x1F]);
            o = PUT_LIT(o, ", State: ");
            o = put_str(o, w->bfd_states.s[m[1] >> 6], w->bfd_states.len[m[1] >> 6]);
            o = PUT_LIT(o, ", Flags: 0x");
            return put_hex(o, m[1] & 0x3F, 2);
        }
        if (w->dhcp && (chosen == 67 || chosen == 68)) { /* DHCP (a BOOTP message with the magic cookie) */
            const uint8_t *m = l4 + 8;
            Py_ssize_t ml = ulen - 8, q = 240;
            if (ml < 240 || be32(m + 236) != 0x63825363)
                return NULL;
            int mt = -1;
            while (q < ml) { /* the options: the last DHCP message type (53) wins, as in the dissector */
                unsigned code = m[q];
                if (code == 255)
                    break;
                if (code == 0) {
                    q++;
                    continue;
                }
                if (q + 1 >= ml || q + 2 + m[q + 1] > ml)
                    break;
                if (code == 53 && m[q + 1] == 1)
                    mt = m[q + 2];
                q += 2 + m[q + 1];
            }
            HEAD_ADDRS(ip, v6);
            if (mt < 0) {
                o = PUT_LIT(o, " BOOTP ");
                o = put_u64(o, wl);
                if (m[2] != 6)
                    return PUT_LIT(o, " Boot");
                o = m[0] == 1 ? PUT_LIT(o, " Boot Request from ") : PUT_LIT(o, " Boot Reply from ");
                return put_mac(o, m + 28);
            }
            o = PUT_LIT(o, " DHCP ");
            o = put_u64(o, wl);
            o = PUT_LIT(o, " DHCP ");
            o = put_str(o, w->dhcp_types.s[mt], w->dhcp_types.len[mt]);
            for (int k = w->dhcp_types.len[mt]; k < 8; k++)
                *o++ = ' ';
            o = PUT_LIT(o, " - Transaction ID 0x");
            uint32_t xid = be32(m + 4);
            int digits = 1;
            while (digits < 8 && xid >> (4 * digits))
                digits++;
            return put_hex(o, xid, digits);
        }
        if (w->ntp_port && chosen == w->ntp_port) { /* NTP: the version and mode (the header all there) */
            const uint8_t *m = l4 + 8;
            Py_ssize_t ml = ulen - 8;
            unsigned mode = ml >= 1 ? m[0] & 7 : 0;
            if (ml < (mode == 6 ? 12 : mode == 7 ? 4 : 48))
                return NULL;
            HEAD_ADDRS(ip, v6);
            o = PUT_LIT(o, " NTP ");
            o = put_u64(o, wl);
            o = PUT_LIT(o, " NTP Version ");
            o = put_u64(o, (m[0] >> 3) & 7);
            o = PUT_LIT(o, ", ");
            o = put_str(o, w->ntp_modes.s[mode], w->ntp_modes.len[mode]);
            if (mode == 7) {
                o = m[0] & 0x80 ? PUT_LIT(o, ", Response, ") : PUT_LIT(o, ", Request, ");
                o = put_str(o, w->ntp_priv.s[m[3]], w->ntp_priv.len[m[3]]);
            }
            return o;
        }
        if (w->n_rpc && rpc_index(w, chosen) >= 0) { /* RPC over UDP: replies (and calls, session 10) */
            if (!rpc_reply(l4 + 8, ulen - 8)) {
                char rcall[1200];
                const char *rcol = NULL;
                size_t rclen = 0;
                char *e = w->n_rpc_progs ? rpc_call_info(w, rcall, l4 + 8, ulen - 8, &rcol, &rclen) : NULL;
                if (e == NULL)
                    return NULL;
                HEAD_ADDRS(ip, v6);
                *o++ = ' ';
                o = rcol != NULL ? put_str(o, rcol, rclen) : PUT_LIT(o, "RPC");
                *o++ = ' ';
                o = put_u64(o, wl);
                *o++ = ' ';
                return put_str(o, rcall, (size_t)(e - rcall));
            }
            int i = rpc_index(w, sp);
            HEAD_ADDRS(ip, v6);
            *o++ = ' ';
            o = i >= 0 ? put_str(o, w->rpc[i].proto, w->rpc[i].len) : PUT_LIT(o, "RPC");
            *o++ = ' ';
            o = put_u64(o, wl);
            return PUT_LIT(o, " Reply");
        }
        if ((ports[sp] & 4) || (ports[dp] & 4)) {
            if ((ulen > 8 && w->first[l4[8]] && in_prefixes(w->pfx, l4 + 8, cap - 8)) || (ports[sp] & 8) ||
                (ports[dp] & 8))
                return NULL;
        }
        /* the UDP heuristics' probes (summary._l4's conditions) */
        if ((ulen > 9 && w->udp_b1[l4[9]]) || (ulen >= 12 && in_u32(w->w0, w->nw0, be32(l4 + 8))) ||
            (ulen >= 16 && in_u32(w->w4, w->nw4, be32(l4 + 12))))
            return NULL;
        HEAD_IP(ip, v6, " UDP ");
        o = put_u64(o, sp);
        o = PUT_LIT(o, " -> ");
        o = put_u64(o, dp);
        o = PUT_LIT(o, " Len=");
        return put_u64(o, (unsigned long long)(ulen - 8));
    }
    if (!v6 && proto == 1 && w->icmp_err && len >= 36 && len <= cap) { /* ICMP errors (icmp.dissect_icmp) */
        unsigned t = l4[0], code = l4[1];
        int slot = t == 3 ? 0 : t == 4 ? 1 : t == 5 ? 2 : t == 11 ? 3 : t == 12 ? 4 : -1;
        if (slot >= 0) {
            if (!quoted_plain_udp(w, l4 + 8, len - 8)) {
                /* (session 11) a whole quoted IPv4 UDP datagram to a port with a dissector: taken where the
                 * walker formats that datagram (as a tunnel's packet) with no problem marked */
                const uint8_t *q = l4 + 8;
                Py_ssize_t qlen = len - 8;
                if (fl || qlen < 28 || q[0] != 0x45 || q[9] != 17 || be16(q + 2) != qlen)
                    return NULL;
                char tmp[LINE_MAX_BYTES];
                char *e = format_inner(w, tmp, n, sec, us, 0x0800, q, qlen, wl);
                if (e == NULL)
                    return NULL;
                if (e == (char *)-1)
                    return (char *)-1;
                if (!line_clean(tmp, e))
                    return NULL;
            }
            if (code > 16)
                code = 16;
            HEAD_IP(ip, v6, " ICMP ");
            return put_str(o, w->icmp_err_s[slot][code], w->icmp_err_len[slot][code]);
        }
    }
    if (v6 && proto == 58 && len >= 8 && w->mld.len[l4[0]]) { /* MLD (icmp.dissect_icmpv6, _mld_report_v2) */
        unsigned t = l4[0];
        char a[INET6_ADDRSTRLEN], tmp[1600], *x = tmp;
        if (t == 130 || t == 131 || t == 132) {
            if (len < 24)
                return NULL;
            if (t == 130 && len >= 28 && 28 + 16 * (Py_ssize_t)be16(l4 + 26) > len)
                return NULL; /* (a source cut: malformed) */
            inet_ntop(AF_INET6, l4 + 8, a, sizeof a);
            x = put_str(x, w->mld.s[t], w->mld.len[t]);
            if (t == 130) {
                x = len >= 28 ? PUT_LIT(x, " v2, ") : PUT_LIT(x, " v1, ");
                if (strcmp(a, "::") == 0)
                    x = PUT_LIT(x, "general");
                else {
                    x = PUT_LIT(x, "specific for group ");
                    x = put_str(x, a, strlen(a));
                }
            } else {
                x = PUT_LIT(x, " group ");
                x = put_str(x, a, strlen(a));
            }
        } else if (t == 143) {
            x = put_str(x, w->mld.s[t], w->mld.len[t]);
            unsigned nrec = be16(l4 + 6);
            Py_ssize_t q = 8;
            for (unsigned i = 0; i < nrec; i++) {
                if (q + 20 > len || x - tmp > 1200)
                    return NULL;
                unsigned rt = l4[q], aux = l4[q + 1], ns = be16(l4 + q + 2);
                if (q + 20 + 16 * (Py_ssize_t)ns + 4 * (Py_ssize_t)aux > len || ns > 64)
                    return NULL;
                x = PUT_LIT(x, " / ");
                if (w->mld_records.len[rt])
                    x = put_str(x, w->mld_records.s[rt], w->mld_records.len[rt]);
                else {
                    x = PUT_LIT(x, "Record type ");
                    x = put_u64(x, rt);
                }
                *x++ = ' ';
                inet_ntop(AF_INET6, l4 + q + 4, a, sizeof a);
                x = put_str(x, a, strlen(a));
                if (ns) {
                    x = PUT_LIT(x, " for source {");
                    for (unsigned k = 0; k < ns; k++) {
                        if (k)
                            x = PUT_LIT(x, ", ");
                        inet_ntop(AF_INET6, l4 + q + 20 + 16 * k, a, sizeof a);
                        x = put_str(x, a, strlen(a));
                        if (x - tmp > 1400)
                            return NULL;
                    }
                    *x++ = '}';
                } else if (rt == 4)
                    x = PUT_LIT(x, " for any sources");
                q += 20 + 16 * (Py_ssize_t)ns + 4 * (Py_ssize_t)aux;
            }
        } else
            return NULL;
        HEAD_IP(ip, v6, " ICMPv6 ");
        return put_str(o, tmp, (size_t)(x - tmp));
    }
    if (v6 && proto == 58 && len >= 8 && w->nd.len[l4[0]]) { /* ND: icmp.dissect_icmpv6's Info and _nd_options' */
        static const uint8_t fixed[5] = {8, 16, 24, 24, 40}; /* RS, RA, NS, NA, Redirect */
        unsigned t = l4[0];
        if (t < 133 || t > 137 || len < fixed[t - 133])
            return NULL;
        char sfx[64], *x = sfx; /* " from <mac>" / " is at <mac>": each the first of its kind, in option order */
        int from = 0, isat = 0;
        for (Py_ssize_t q = fixed[t - 133]; q < len;) {
            if (q + 2 > len || !l4[q + 1] || q + (Py_ssize_t)l4[q + 1] * 8 > len)
                return NULL; /* (cut, or a zero length: malformed) */
            if ((l4[q] == 1 || l4[q] == 2) && l4[q + 1] == 1 && !(l4[q] == 1 ? from : isat)) {
                x = l4[q] == 1 ? PUT_LIT(x, " from ") : PUT_LIT(x, " is at ");
                x = put_mac(x, l4 + q + 2);
                *(l4[q] == 1 ? &from : &isat) = 1;
            }
            q += (Py_ssize_t)l4[q + 1] * 8;
        }
        HEAD_IP(ip, v6, " ICMPv6 ");
        o = put_str(o, w->nd.s[t], w->nd.len[t]);
        if (t == 135 || t == 136) {
            char a[INET6_ADDRSTRLEN];
            inet_ntop(AF_INET6, l4 + 8, a, sizeof a);
            o = t == 135 ? PUT_LIT(o, " for ") : PUT_LIT(o, " ");
            o = put_str(o, a, strlen(a));
            unsigned f = l4[4] & 0xE0;
            if (t == 136 && f) {
                const char *sep = " (";
                for (int b = 0; b < 3; b++)
                    if (f & (0x80 >> b)) {
                        o = put_str(o, sep, strlen(sep));
                        o = put_str(o, b == 0 ? "rtr" : b == 1 ? "sol" : "ovr", 3);
                        sep = ", ";
                    }
                *o++ = ')';
            }
        }
        return put_str(o, sfx, (size_t)(x - sfx));
    }
    if (proto == (v6 ? 58u : 1u)) {
        if (len < 8)
            return NULL;
        unsigned t = l4[0], id = be16(l4 + 4), iseq = be16(l4 + 6);
        const char *name = v6 ? w->echo6[t] : w->echo[t];
        size_t name_len = v6 ? w->echo6_len[t] : w->echo_len[t];
        if (!name_len)
            return NULL;
        if (v6)
            HEAD_IP(ip, v6, " ICMPv6 ");
        else
            HEAD_IP(ip, v6, " ICMP ");
        o = put_str(o, name, name_len);
        o = PUT_LIT(o, " id=0x");
        o = put_hex(o, id, 4);
        o = PUT_LIT(o, ", seq=");
        o = put_u64(o, iseq);
        if (v6) {
            o = PUT_LIT(o, ", hop limit=");
        } else {
            *o++ = '/';
            o = put_u64(o, (iseq >> 8) | ((iseq & 0xFF) << 8));
            o = PUT_LIT(o, ", ttl=");
        }
        return put_u64(o, hlim);
    }
    if (proto == 103 && w->pim.len[0]) { /* PIM: the type's name */
        if (len < 4)
            return NULL;
        if (l4[0] == 0x21 && len >= 9 && (l4[8] >> 4 == 4 || l4[8] >> 4 == 6)) {
            /* a v2 Register (session 11): the packet inside is dissected (its addresses become the columns, its
             * problems the frame's), PIM's Protocol and Info stay: taken when the walker formats that packet
             * as a tunnel's with no mark of a problem */
            if (fl)
                return NULL;
            char tmp[LINE_MAX_BYTES];
            unsigned iv = l4[8] >> 4;
            const uint8_t *in = l4 + 8;
            /* a null Register: the inner header alone, PIM as its protocol (dissect_pim stops at once) */
            int null = iv == 4 ? len - 8 >= 20 && in[0] == 0x45 && be16(in + 2) == 20 && !(be16(in + 6) & 0x3FFF) && in[9] == 103
                               : len - 8 >= 40 && be16(in + 4) == 0 && in[6] == 103;
            char *e = null ? tmp : format_inner(w, tmp, n, sec, us, iv == 4 ? 0x0800 : 0x86DD, in, len - 8, wl);
            if (e == NULL)
                return NULL;
            if (e == (char *)-1)
                return (char *)-1;
            if (!line_clean(tmp, e))
                return NULL;
            HEAD_ADDRS(l4 + 8, iv == 6);
            o = PUT_LIT(o, " PIMv2 ");
            o = put_u64(o, wl);
            *o++ = ' ';
            return put_str(o, w->pim.s[1], w->pim.len[1]);
        }
        if (l4[0] == 0x21 && len < 9)
            return NULL;
        unsigned t = l4[0] & 15;
        HEAD_ADDRS(ip, v6);
        o = PUT_LIT(o, " PIMv");
        o = put_u64(o, l4[0] >> 4);
        *o++ = ' ';
        o = put_u64(o, wl);
        *o++ = ' ';
        return put_str(o, w->pim.s[t], w->pim.len[t]);
    }
    if (proto == 113 && w->pgm_types.len[0]) { /* PGM: the type, the sequence number, a POLL's GSI and subtype */
        unsigned t = l4[4];
        if (len < 20 || (t == 1 && len < 24))
            return NULL;
        HEAD_IP(ip, v6, " PGM ");
        const char *nm = w->pgm_types.s[t];
        size_t nl = w->pgm_types.len[t];
        o = put_str(o, nm, nl);
        for (size_t k = nl; k < 5; k++)
            *o++ = ' ';
        o = PUT_LIT(o, " sqn 0x");
        uint32_t sqn = be32(l4 + 16);
        int digits = 1;
        while (digits < 8 && (sqn >> (4 * digits)))
            digits++;
        o = put_hex(o, sqn, digits);
        if (t == 1 || t == 2) {
            o = PUT_LIT(o, " gsi ");
            for (int k = 8; k < 14; k++)
                o = put_hex(o, l4[k], 2);
        }
        if (t == 1) {
            unsigned sub = be16(l4 + 22);
            o = PUT_LIT(o, " subtype ");
            o = sub < 256 && w->pgm_poll.len[sub] ? put_str(o, w->pgm_poll.s[sub], w->pgm_poll.len[sub])
                                                  : PUT_LIT(o, "Unknown");
        }
        return o;
    }
    if (proto == 112 && w->vrrp) { /* VRRP: the version and type; the addresses all there */
        if (len < 8 || len < 8 + (Py_ssize_t)l4[3] * (v6 ? 16 : 4))
            return NULL;
        unsigned t = l4[0] & 15;
        HEAD_IP(ip, v6, " VRRP ");
        if (t == 1) {
            o = PUT_LIT(o, "Announcement (v");
        } else {
            o = PUT_LIT(o, "Unknown (");
            o = put_u64(o, t);
            o = PUT_LIT(o, ") (v");
        }
        o = put_u64(o, l4[0] >> 4);
        *o++ = ')';
        return o;
    }
    if (proto == 89 && w->ospf.len[0]) { /* OSPF: the message type (a v2/v3 Hello's fixed part all there) */
        unsigned ver = l4[0], t = len >= 2 ? l4[1] : 0;
        if (len < 16 || (t == 1 && (ver == 2 || ver == 3) && len < (ver == 2 ? 44 : 36)))
            return NULL;
        HEAD_IP(ip, v6, " OSPF ");
        return put_str(o, w->ospf.s[t], w->ospf.len[t]);
    }
    if (proto == 88 && w->eigrp.len[0]) { /* EIGRP: the opcode (a Hello with an ack: "Hello (Ack)") */
        if (len < 20)
            return NULL;
        unsigned op = l4[1];
        HEAD_IP(ip, v6, " EIGRP ");
        if (op == 5 && be32(l4 + 12))
            return PUT_LIT(o, "Hello (Ack)");
        return put_str(o, w->eigrp.s[op], w->eigrp.len[op]);
    }
    if (proto == 132 && w->sctp.len[0]) { /* SCTP: its chunks (all of the datagram captured, see format_ip4) */
        char tmp[512];
        char *e = len >= 12 && len <= cap ? sctp_info(w, tmp, l4, len) : NULL;
        if (e == NULL)
            return NULL;
        HEAD_IP(ip, v6, " SCTP ");
        return put_str(o, tmp, (size_t)(e - tmp));
    }
    if (proto == 50 && w->esp) { /* ESP: the SPI */
        if (len < 8)
            return NULL;
        HEAD_IP(ip, v6, " ESP ");
        o = PUT_LIT(o, "ESP (SPI=0x");
        o = put_hex(o, be32(l4), 8);
        *o++ = ')';
        return o;
    }
    if (!fl && w->ip_unknown.len[proto]) /* no dissector (inet.ipv4_next, ipv6_next): the description */
        return put_unknown_ip(w, o, n, sec, us, ip, v6, proto, wl);
    return NULL;
}

/* An IPv4 packet at ip (cap bytes captured from there, the frame's wire length wl) */
static char *format_ip4(Walker *w, char *o, unsigned long long n, long long sec, unsigned us, const uint8_t *ip,
                        Py_ssize_t cap, unsigned long long wl, int fl) {
    if (cap < 20)
        return NULL;
    unsigned vihl = ip[0], tlen = be16(ip + 2), frag = be16(ip + 6), proto = ip[9];
    if ((fl & L4_INNER) && ((frag & 0x3FFF) || proto == 2)) /* (a fragment or IGMP in a tunnel: Python's) */
        return NULL;
    if (vihl == 0x45 && (frag & 0x1FFF))
        return format_frag(w, o, n, sec, us, ip, wl);
    if (proto == 2)
        return format_igmp2(w, o, n, sec, us, ip, cap, wl);
    if (tlen == 0 && !(fl & L4_INNER) && cap <= 65535) /* TSO: the frame's length (inet.dissect_ipv4) */
        tlen = (unsigned)cap;
    if (vihl != 0x45 || (frag & 0x9FFF) || tlen < 20 || (Py_ssize_t)tlen > cap) /* (MF alone: see format_l4) */
        return NULL;
    return format_l4(w, o, n, sec, us, ip, 0, proto, ip + 20, (Py_ssize_t)tlen - 20, cap - 20, ip[8], wl,
                     (frag & 0x2000 ? L4_FIRST_FRAG : 0) | fl);
}

/* An IPv6 packet without extension headers at ip (cap bytes captured from there) */
static char *format_ip6(Walker *w, char *o, unsigned long long n, long long sec, unsigned us, const uint8_t *ip,
                        Py_ssize_t cap, unsigned long long wl, int fl) {
    if (cap < 40 || ip[0] >> 4 != 6)
        return NULL;
    Py_ssize_t plen = be16(ip + 4);
    if (!plen || 40 + plen > cap)
        return NULL;
    unsigned nxt = ip[6];
    const uint8_t *l4 = ip + 40;
    Py_ssize_t len = plen, lcap = cap - 40;
    for (int k = 0; (nxt == 0 || nxt == 60) && w->v6ext && k < 2; k++) { /* options headers: skipped */
        Py_ssize_t size = len >= 2 ? ((Py_ssize_t)l4[1] + 1) * 8 : len + 1;
        if (size > len)
            return NULL; /* (cut: malformed) */
        nxt = l4[0];
        l4 += size;
        len -= size;
        lcap -= size;
    }
    return format_l4(w, o, n, sec, us, ip, 1, nxt, l4, len, lcap, ip[7], wl, fl | (l4 != ip + 40 ? L4_AFTER_EXT : 0));
}

/* A tunnel's inner packet of ethertype et at p (cap bytes to the end the tunnel gives it): IPv4 or IPv6,
 * or an Ethernet frame carrying one (0x6558, transparent bridging: its addresses are not the columns') */
static char *format_inner(Walker *w, char *o, unsigned long long n, long long sec, unsigned us, unsigned et,
                          const uint8_t *p, Py_ssize_t cap, unsigned long long wl) {
    if (et == 0x6558) {
        if (cap < 14)
            return NULL;
        et = be16(p + 12);
        p += 14;
        cap -= 14;
    }
    if (et == 0x0800)
        return format_ip4(w, o, n, sec, us, p, cap, wl, L4_INNER);
    if (et == 0x86DD && w->ipv6)
        return format_ip6(w, o, n, sec, us, p, cap, wl, L4_INNER);
    return NULL;
}

/* The Info of a DECnet Phase IV frame (the routing layer at d, the frame's end at e), as
 * l2ctl.dissect_dec_dna and _dec_nsp write it; NULL where they leave it empty or mark the frame. */
static char *dec_info(Walker *w, char *o, const uint8_t *d, const uint8_t *e) {
    if (e - d < 3)
        return NULL;
    Py_ssize_t fo = 2 + ((d[2] & 0x80) ? (d[2] & 0x7F) : 0); /* (padding: its length in the low bits) */
    if (fo >= e - d)
        return NULL;
    const uint8_t *f = d + fo;
    unsigned flags = *f;
    if (flags & 1) {
        o = PUT_LIT(o, "Routing control, ");
        unsigned c = (flags >> 1) & 7;
        return put_str(o, w->dec_control.s[c], w->dec_control.len[c]);
    }
    if ((flags & 7) != 2 && (flags & 7) != 6)
        return NULL;
    Py_ssize_t hl = (flags & 7) == 2 ? 6 : 21;
    if (e - f < hl)
        return NULL;
    const uint8_t *m = f + hl, *lim = 2 + (Py_ssize_t)le16(d) < e - d ? d + 2 + le16(d) : e; /* NSP's */
    if (m >= lim)
        return NULL;
    unsigned msg = *m;
    if (w->dec_nsp.len[msg])
        return put_str(o, w->dec_nsp.s[msg], w->dec_nsp.len[msg]);
    if (!w->dec_seg.len[msg] && msg != 0x04 && msg != 0x10) {
        o = PUT_LIT(o, "NSP message 0x");
        return put_hex(o, msg, 2);
    }
    const uint8_t *q = m + 5;
    if (msg == 0x04) {
        if (lim - q < 2)
            return NULL;
        o = PUT_LIT(o, "NSP data ACK message(");
        o = put_u64(o, le16(q) & 0xFFF);
        *o++ = ')';
        return o;
    }
    for (int i = 0; i < 2; i++)
        if (lim - q >= 2 && q[1] & 0x80)
            q += 2;
    if (lim - q < 2)
        return NULL;
    unsigned seg = le16(q) & 0xFFF;
    q += 2;
    if (msg == 0x10) {
        if (lim - q < 2)
            return NULL;
        o = PUT_LIT(o, "NSP link control message(");
        o = put_str(o, w->dec_fcmod.s[*q & 3], w->dec_fcmod.len[*q & 3]);
        *o++ = ')';
        return o;
    }
    o = PUT_LIT(o, "msg nr. ");
    o = put_u64(o, seg);
    *o++ = ' ';
    o = put_str(o, w->dec_seg.s[msg], w->dec_seg.len[msg]);
    o = PUT_LIT(o, " segment, bytes this segment: ");
    o = put_u64(o, (unsigned long long)(lim - q));
    o = PUT_LIT(o, ", total so far:");
    return put_u64(o, (unsigned long long)(lim - q));
}

/* l2ctl._text of d[0:n) (up to a NUL) into t; NULL for a byte >= 0x80 (Python's latin-1 text) */
static char *put_ctext(char *t, const uint8_t *d, Py_ssize_t n) {
    const uint8_t *z = memchr(d, 0, (size_t)n);
    if (z != NULL)
        n = z - d;
    for (Py_ssize_t k = 0; k < n; k++)
        if (d[k] >= 0x80)
            return NULL;
    return put_str(t, (const char *)d, (size_t)n);
}

/* l2ctl.dissect_lldp's Info for the TLVs d[0:lim) into t; NULL where Python's: a TLV cut, a text with a
 * byte >= 0x80, long */
static char *lldp_info(Walker *w, char *t, const uint8_t *d, Py_ssize_t lim) {
    char *start = t;
    Py_ssize_t off = 0;
    while (off + 2 <= lim) {
        unsigned ty = d[off] >> 1, ln = be16(d + off) & 0x1FF;
        Py_ssize_t v = off + 2;
        if (v + (Py_ssize_t)ln > lim || t - start + 3 * (Py_ssize_t)ln + 16 > 2000) /* (a hex id: 3 per byte) */
            return NULL;
        if ((ty == 1 || ty == 2) && ln >= 1) {
            unsigned sub = d[v];
            const Names *ab = ty == 1 ? &w->lldp_chassis : &w->lldp_port;
            t = ab->len[sub] ? put_str(t, ab->s[sub], ab->len[sub]) : PUT_LIT(t, "??");
            *t++ = '/';
            const uint8_t *raw = d + v + 1;
            Py_ssize_t rl = (Py_ssize_t)ln - 1;
            if (sub == (ty == 1 ? 4u : 3u) && rl == 6)
                t = put_mac(t, raw);
            else if (sub == (ty == 1 ? 5u : 4u) && rl == 5 && raw[0] == 1)
                t = put_ip4(t, raw + 1);
            else if (ty == 2 || (sub >= 1 && sub <= 7 && sub != 4 && sub != 5)) {
                if ((t = put_ctext(t, raw, rl)) == NULL)
                    return NULL;
            } else
                for (Py_ssize_t k = 0; k < rl; k++) {
                    if (k)
                        *t++ = ':';
                    t = put_hex(t, raw[k], 2);
                }
            *t++ = ' ';
        } else if (ty == 3 && ln >= 2) {
            t = put_u64(t, be16(d + v));
            *t++ = ' ';
        } else if (ty == 5 || ty == 6) {
            t = ty == 5 ? PUT_LIT(t, "SysN=") : PUT_LIT(t, "SysD=");
            if ((t = put_ctext(t, d + v, ln)) == NULL)
                return NULL;
            *t++ = ' ';
        }
        off = v + ln;
        if (ty == 0)
            break;
    }
    return t;
}

/* l2ctl._nb_name: a 16-byte NetBIOS name, trailing blanks dropped, bytes outside 33-126 and the suffix as
 * <xx> */
static char *put_nb16(char *t, const uint8_t *d) {
    int n = 15;
    while (n > 0 && d[n - 1] == ' ')
        n--;
    for (int k = 0; k <= n; k++) {
        unsigned c = k < n ? d[k] : d[15];
        if (k < n && c > 32 && c < 127)
            *t++ = (char)c;
        else {
            *t++ = '<';
            t = put_hex(t, c, 2);
            *t++ = '>';
        }
    }
    return t;
}

static inline char *put_ipx_addr(char *t, const uint8_t *net) { /* "nnnnnnnn.nodenodenode" */
    t = put_hex(t, be32(net), 8);
    *t++ = '.';
    for (int k = 4; k < 10; k++)
        t = put_hex(t, net[k], 2);
    return t;
}

/* IPX at x (lim bytes to the end the dissector is given): l2ctl.dissect_ipx's columns; NULL where Python's
 * (a header or the field the Info needs cut, NMPI, an NBIPX directed datagram) */
static char *format_ipx(Walker *w, char *o, unsigned long long n, long long sec, unsigned us, const uint8_t *x,
                        Py_ssize_t lim, unsigned long long wl) {
    if (lim < 32) /* (the header and the 2 bytes dissect_ipx asks for whatever the socket) */
        return NULL;
    unsigned ds = be16(x + 16), ss = be16(x + 28);
    const uint8_t *q = x + 30;
    Py_ssize_t ql = lim - 30;
    const char *col;
    size_t cl;
    const Names *tab = NULL;
    if (ds == 0x0452 || ss == 0x0452)
        col = " IPX SAP ", cl = 9, tab = &w->ipx_sap;
    else if (ds == 0x0453 || ss == 0x0453)
        col = " IPX RIP ", cl = 9, tab = &w->ipx_rip;
    else if (ds == 0x0455 || ss == 0x0455) {
        col = " NBIPX ", cl = 7;
        if (x[5] == 0x14)
            q += 32, ql -= 32;
        if (ql < 2 || (q[1] <= 5 && ql < 18) || (q[1] == 0x0B && ql < 34))
            return NULL;
        if (q[1] == 0x0B && ql > 34 && w->nbds) { /* a directed datagram: the SMB1 in it (session 11) */
            const uint8_t *m = q + 34;
            Py_ssize_t ml = ql - 34;
            if (ml >= 32 && m[0] == 0xFE && memcmp(m + 1, "SMB", 3) == 0 && ml >= 64)
                return NULL;
            if (ml >= 32 && m[0] == 0xFF && memcmp(m + 1, "SMB", 3) == 0) {
                char tmp[600];
                int browser = 0;
                char *e = smb1_info(w, tmp, m, ml, &browser);
                if (e == NULL)
                    return NULL;
                int h_ = set_hms(w, sec);
                if (h_ <= 0)
                    return h_ < 0 ? (char *)-1 : NULL;
                o = put_head(w, o, n, us);
                o = put_ipx_addr(o, x + 18);
                o = PUT_LIT(o, " -> ");
                o = put_ipx_addr(o, x + 6);
                o = browser ? PUT_LIT(o, " BROWSER ") : PUT_LIT(o, " SMB ");
                o = put_u64(o, wl);
                *o++ = ' ';
                return put_str(o, tmp, (size_t)(e - tmp));
            }
        } else if (q[1] == 0x0B)
            return NULL;
    } else if (ds == 0x0553 || ss == 0x0553)
        return NULL;
    else
        col = " IPX ", cl = 5;
    int h_ = set_hms(w, sec);
    if (h_ <= 0)
        return h_ < 0 ? (char *)-1 : NULL;
    o = put_head(w, o, n, us);
    o = put_ipx_addr(o, x + 18);
    o = PUT_LIT(o, " -> ");
    o = put_ipx_addr(o, x + 6);
    o = put_str(o, col, cl);
    o = put_u64(o, wl);
    *o++ = ' ';
    if (tab != NULL) {
        unsigned v = be16(q);
        return v < 256 && tab->len[v] ? put_str(o, tab->s[v], tab->len[v]) : PUT_LIT(o, "Unknown Packet Type");
    }
    if (cl == 7) {
        o = put_str(o, w->nbipx_types.s[q[1]], w->nbipx_types.len[q[1]]);
        if (q[1] <= 5) {
            *o++ = ' ';
            o = put_nb16(o, q + 2);
        }
    }
    return o;
}

/* l2ctl._sysid: an IS-IS system id "xxxx.xxxx.xxxx", then ".cc" (7 bytes) and "-ff" (8) */
static char *put_sysid(char *o, const uint8_t *b, int n) {
    for (int i = 0; i < 6; i += 2) {
        if (i)
            *o++ = '.';
        o = put_hex(o, be16(b + i), 4);
    }
    if (n >= 7) {
        *o++ = '.';
        o = put_hex(o, b[6], 2);
    }
    if (n >= 8) {
        *o++ = '-';
        o = put_hex(o, b[7], 2);
    }
    return o;
}

/* PTPv2 over Ethernet (ethertype 0x88f7), its 34-byte header all captured: decode.l2ctl's dissect_ptp */
static char *format_ptp(Walker *w, char *o, unsigned long long n, long long sec, unsigned us,
                        const uint8_t *p, Py_ssize_t caplen, Py_ssize_t l3) {
    if (caplen < l3 + 34 || (p[l3 + 1] & 15) != 2)
        return NULL;
    unsigned t = p[l3] & 15;
    HEAD_MAC(p, " PTPv2 ", caplen);
    return put_str(o, w->ptp.s[t], w->ptp.len[t]);
}

/* An 802.1Q tag's type (link.dissect_vlan), or 802.1ad's / old QinQ's while theirs are the same (session 11) */
static inline int vlan_tag(Walker *w, unsigned et) {
    return w->vlan && (et == 0x8100 || (w->qinq && (et == 0x88A8 || et == 0x9100)));
}

/* Format the line of one Ethernet frame p[0:caplen] (wire length wl, packet number n, time sec + us) at o.
 * Returns the end of the line, NULL if the packet is not one this file knows (Python's), or (char *)-1 on
 * a Python error. */
/* 802.1Q (and, with the qinq table, 802.1ad) tags, up to 4, from *l3 on: *et and *l3 after them; -1 where a
 * tag is cut */
static int skip_vlan_tags(Walker *w, const uint8_t *p, Py_ssize_t caplen, unsigned *et, Py_ssize_t *l3) {
    for (int tags = 0; vlan_tag(w, *et) && tags < 4; tags++) {
        if (caplen < *l3 + 4)
            return -1;
        *et = be16(p + *l3 + 2);
        *l3 += 4;
    }
    return 0;
}

/* Cisco FabricPath (tunnels.dissect_cfp): the outer addresses and FTAG/TTL (16 bytes), then a whole Ethernet
 * frame; Wireshark takes the frame's last 4 bytes as FabricPath's FCS and hands the inner frame over without
 * them, so an inner packet that fills the frame is cut short of its own length: malformed. The inner IPv4/
 * IPv6 packet's columns where it ends before the FCS (format_ip4/6: Python dissects it as a frame's); where the
 * FCS cuts it, the text of the dissectors on a cut header (inet.dissect_tcp, dissect_udp, sctp.dissect_sctp,
 * the description of a protocol without a dissector, inet.dissect_ipv6's short header); NULL for the rest. */
static char *format_cfp(Walker *w, char *o, unsigned long long n, long long sec, unsigned us, const uint8_t *p,
                        Py_ssize_t caplen, unsigned long long wl) {
    Py_ssize_t e = caplen - 4; /* the inner frame's end */
    if (e < 30)
        return NULL;
    const uint8_t *q = p + 16, *ip = p + 30; /* the inner Ethernet frame, its network layer */
    unsigned et = be16(q + 12);
    Py_ssize_t cap = e - 30;
    int v6 = et == 0x86DD;
    if (v6 && !w->ipv6)
        return NULL;
    if (v6 && cap < 40) {
        if (!w->bogus_ip)
            return NULL;
        HEAD_MAC(p, " IPv6 ", wl); /* (the outer addresses: the inner Ethernet layer keeps them) */
        o = PUT_LIT(o, "Invalid IPv6 header (");
        o = put_u64(o, (unsigned long long)cap);
        return PUT_LIT(o, " bytes, need exactly 40)[Malformed Packet]");
    }
    Py_ssize_t hl, len;
    unsigned proto;
    if (v6) {
        len = be16(ip + 4);
        if (ip[0] >> 4 != 6 || !len)
            return NULL;
        hl = 40;
        proto = ip[6];
    } else if (et == 0x0800) {
        if (cap < 20 || ip[0] != 0x45 || (be16(ip + 6) & 0x3FFF) || be16(ip + 2) < 20)
            return NULL;
        len = (Py_ssize_t)be16(ip + 2) - 20;
        hl = 20;
        proto = ip[9];
    } else
        return NULL;
    if (hl + len <= cap) /* the whole packet before the FCS */
        return v6 ? format_ip6(w, o, n, sec, us, ip, cap, wl, 0) : format_ip4(w, o, n, sec, us, ip, cap, wl, 0);
    const uint8_t *t = ip + hl;
    Py_ssize_t avail = cap - hl; /* what the FCS leaves of the transport header (the rest is captured) */
    if (proto == 6 && avail >= 4 && avail < 20) {
        HEAD_IP(ip, v6, " TCP ");
        o = put_u64(o, be16(t));
        o = PUT_LIT(o, " -> ");
        o = put_u64(o, be16(t + 2));
        if (avail >= 16) { /* cut after the window: the columns up to Win= */
            unsigned fl = be16(t + 12) & 0xFFF;
            o = PUT_LIT(o, " [");
            o = put_str(o, w->flags + w->flag_off[fl], w->flag_len[fl]);
            o = PUT_LIT(o, "] Seq=");
            o = put_u64(o, be32(t + 4));
            if (fl & 0x10) {
                o = PUT_LIT(o, " Ack=");
                o = put_u64(o, be32(t + 8));
            }
            o = PUT_LIT(o, " Win=");
            o = put_u64(o, be16(t + 14));
        }
        return PUT_LIT(o, "[Malformed Packet]");
    }
    if (proto == 17 && avail >= 4 && avail < 8) {
        HEAD_IP(ip, v6, " UDP ");
        o = put_u64(o, be16(t));
        o = PUT_LIT(o, " -> ");
        o = put_u64(o, be16(t + 2));
        unsigned ulen = avail >= 6 ? be16(t + 4) : 0;
        if (ulen >= 8) { /* the length read, the checksum cut: the column says the length is bad */
            o = PUT_LIT(o, " [BAD UDP LENGTH ");
            o = put_u64(o, ulen);
            o = PUT_LIT(o, " > IP PAYLOAD LENGTH] Len=");
            o = put_u64(o, ulen - 8);
        }
        return PUT_LIT(o, "[Malformed Packet]");
    }
    if (proto == 132 && w->sctp.len[0] && avail < 12) { /* SCTP's common header cut: no Info */
        HEAD_IP(ip, v6, " SCTP ");
        return PUT_LIT(o, "[Malformed Packet]");
    }
    if (w->ip_unknown.len[proto]) /* no dissector: the description (nothing reads the cut payload) */
        return put_unknown_ip(w, o, n, sec, us, ip, v6, proto, wl);
    return NULL;
}

static char *format_eth(Walker *w, char *o, unsigned long long n, long long sec, unsigned us,
                        const uint8_t *p, Py_ssize_t caplen, unsigned long long wl) {
    if ((unsigned long long)caplen != wl || wl < 14 || wl >= NUMS_MAX)
        return NULL;
    unsigned et = be16(p + 12);
    Py_ssize_t l3 = 14;
    int efl = 0;
    if (skip_vlan_tags(w, p, caplen, &et, &l3) < 0) /* 802.1Q tags: the next layer's columns */
        return NULL;
    if (et <= 1500 && w->stp && caplen >= l3 + 3 &&
        (p[l3] == 0x42 || (w->pvst && p[l3] == 0xAA && p[l3 + 1] == 0xAA && caplen >= l3 + 8 &&
                           (be32(p + l3 + 2) & 0xFFFFFF) == 0x00000C && be16(p + l3 + 6) == 0x010B))) {
        /* STP (l2ctl.dissect_stp) after an LLC header, or Cisco's PVST+ after SNAP (session 11), 802.1Q tags
         * before them too: all 35 bytes of a configuration BPDU within the 802.3 length, or a TCN's 4 */
        Py_ssize_t lend = caplen < l3 + (Py_ssize_t)et ? caplen : l3 + (Py_ssize_t)et, h = p[l3] == 0x42 ? 3 : 8;
        const uint8_t *b = p + l3 + h;
        Py_ssize_t bl = lend - l3 - h;
        if (bl < 4)
            return NULL;
        unsigned t = b[3];
        if (t != 0x80 && bl < 35)
            return NULL;
        HEAD_MAC(p, " STP ", wl);
        if (t == 0x80)
            return PUT_LIT(o, "Topology Change Notification");
        o = t == 0 ? PUT_LIT(o, "Conf. Root = ") : b[2] >= 3 ? PUT_LIT(o, "MST. Root = ") : PUT_LIT(o, "RST. Root = ");
        unsigned rp = be16(b + 5);
        o = put_u64(o, rp & 0xF000);
        *o++ = '/';
        o = put_u64(o, rp & 0x0FFF);
        *o++ = '/';
        o = put_mac(o, b + 7);
        o = PUT_LIT(o, "  Cost = ");
        o = put_u64(o, be32(b + 13));
        o = PUT_LIT(o, "  Port = 0x");
        return put_hex(o, be16(b + 25), 4);
    }
    if (et <= 1500 && w->isis_names.len[15] && caplen >= l3 + 4 && p[l3] == 0xFE) {
        /* IS-IS after an 802.3 LLC header (l2ctl.dissect_osi, dissect_isis): the fixed part of a known PDU
         * type all there within the 802.3 length */
        Py_ssize_t lend = caplen < l3 + (Py_ssize_t)et ? caplen : l3 + (Py_ssize_t)et;
        const uint8_t *b = p + l3 + 3;
        Py_ssize_t bl = lend - l3 - 3;
        if (bl < 8 || b[0] != 0x83)
            return NULL;
        unsigned t = b[4] & 0x1F;
        const uint8_t *q = b + 8;
        Py_ssize_t ql = bl - 8;
        const char *col;
        size_t cl;
        if (t >= 15 && t <= 17 && ql >= 11)
            col = "HELLO", cl = 5;
        else if ((t == 18 || t == 20) && ql >= 16)
            col = "LSP", cl = 3;
        else if ((t == 24 || t == 25) && ql >= 25)
            col = "CSNP", cl = 4;
        else if ((t == 26 || t == 27) && ql >= 9)
            col = "PSNP", cl = 4;
        else
            return NULL;
        int h_ = set_hms(w, sec);
        if (h_ <= 0)
            return h_ < 0 ? (char *)-1 : NULL;
        o = put_head(w, o, n, us);
        o = put_mac(o, p + 6);
        o = PUT_LIT(o, " -> ");
        o = put_mac(o, p);
        o = PUT_LIT(o, " ISIS ");
        o = put_str(o, col, cl);
        *o++ = ' ';
        o = put_u64(o, wl);
        *o++ = ' ';
        o = put_str(o, w->isis_names.s[t], w->isis_names.len[t]);
        if (cl == 5) {
            o = PUT_LIT(o, ", System-ID: ");
            return put_sysid(o, q + 1, 6);
        }
        if (cl == 3) {
            o = PUT_LIT(o, ", LSP-ID: ");
            o = put_sysid(o, q + 4, 8);
            o = PUT_LIT(o, ", Sequence: 0x");
            o = put_hex(o, be32(q + 12), 8);
            o = PUT_LIT(o, ", Lifetime: ");
            unsigned life = be16(q + 2);
            for (unsigned d = 10000; d > 1 && life < d; d /= 10)
                *o++ = ' ';
            o = put_u64(o, life);
            *o++ = 's';
            return o;
        }
        o = PUT_LIT(o, ", Source-ID: ");
        o = put_sysid(o, q + 2, 7);
        if (t >= 24 && t <= 25) {
            o = PUT_LIT(o, ", Start LSP-ID: ");
            o = put_sysid(o, q + 9, 8);
            o = PUT_LIT(o, ", End LSP-ID: ");
            o = put_sysid(o, q + 17, 8);
        }
        return o;
    }
    if (et <= 1500 && w->udld && caplen >= l3 + 12 && p[l3] == 0xAA && p[l3 + 1] == 0xAA &&
        (be32(p + l3 + 2) & 0xFFFFFF) == 0x00000C && be16(p + l3 + 6) == 0x0111) {
        /* UDLD in 802.3 + LLC/SNAP (l2ctl.dissect_udld): its header all there within the 802.3 length */
        Py_ssize_t lim = caplen < l3 + (Py_ssize_t)et ? caplen : l3 + (Py_ssize_t)et;
        if (lim < l3 + 12)
            return NULL;
        const uint8_t *dev = NULL, *port = NULL;
        Py_ssize_t devn = 0, portn = 0;
        for (Py_ssize_t q = l3 + 12; q + 4 <= lim;) {
            unsigned t = be16(p + q), ln = be16(p + q + 2);
            if (ln < 4)
                break;
            if ((t == 1 || t == 2) && q + (Py_ssize_t)ln <= lim) {
                if (t == 1)
                    dev = p + q + 4, devn = ln - 4;
                else
                    port = p + q + 4, portn = ln - 4;
            }
            q += ln;
        }
        if (devn > 600 || portn > 600)
            return NULL;
        HEAD_MAC(p, " UDLD ", wl);
        o = PUT_LIT(o, "Device ID: ");
        if (dev != NULL && (o = put_ctext(o, dev, devn)) == NULL)
            return NULL;
        o = PUT_LIT(o, "  Port ID: ");
        if (port != NULL && (o = put_ctext(o, port, portn)) == NULL)
            return NULL;
        return PUT_LIT(o, "  ");
    }
    if (et <= 1500 && w->ipx && caplen >= l3 + 3 && p[l3] == 0xE0) /* IPX after 802.3 + LLC */
        return format_ipx(w, o, n, sec, us, p + l3 + 3, (caplen < l3 + (Py_ssize_t)et ? caplen : l3 + (Py_ssize_t)et) - l3 - 3, wl);
    if (et == 0x8137 && w->ipx)
        return format_ipx(w, o, n, sec, us, p + l3, caplen - l3, wl);
    if (et == 0x88E7 && w->pbb) { /* PBB: the I-TAG and the customer's addresses, then IP: its columns */
        if (caplen < l3 + 18)
            return NULL;
        et = be16(p + l3 + 16);
        l3 += 18;
        if (skip_vlan_tags(w, p, caplen, &et, &l3) < 0 || (et != 0x0800 && et != 0x86DD))
            return NULL;
        efl = L4_AFTER_PBB;
    }
    if (et == 0xD28B && w->avsp) { /* AVSP: sub-type 1, a 64- or 48-bit timestamp, the ethertype: IP's columns */
        if (caplen < l3 + 4 || be16(p + l3) != 1)
            return NULL;
        unsigned ver = p[l3 + 3];
        Py_ssize_t ts = ver == 0x10 ? 8 : ver == 0x20 ? 6 : -1;
        if (ts < 0 || caplen < l3 + 4 + ts + 2)
            return NULL;
        et = be16(p + l3 + 4 + ts);
        l3 += 4 + ts + 2;
        if (et != 0x0800 && et != 0x86DD && et != 0x8847 && et != 0x8848)
            return NULL;
    }
    if (et == 0x8926 && w->vntag) { /* VN-Tag (tunnels.dissect_vntag): its ethertype, 802.1Q tags, then IP */
        if (caplen < l3 + 6)
            return NULL;
        et = be16(p + l3 + 4);
        l3 += 6;
        if (skip_vlan_tags(w, p, caplen, &et, &l3) < 0 || (et != 0x0800 && et != 0x86DD))
            return NULL;
    }
    if (et == 0x8903 && w->cfp && l3 == 14)
        return format_cfp(w, o, n, sec, us, p, caplen, wl);
    if (w->bogus_ip && et == 0x0800 && caplen > l3 && (p[l3] >> 4 != 4 || (p[l3] & 15) < 5)) {
        /* inet.dissect_ipv4: a bogus version or header length, the Ethernet addresses as the columns */
        HEAD_MAC(p, " IPv4 ", wl);
        if (p[l3] >> 4 != 4) {
            o = PUT_LIT(o, "Bogus IP version (");
            o = put_u64(o, p[l3] >> 4);
            *o++ = ')';
            return o;
        }
        o = PUT_LIT(o, "Bogus IP header length (");
        o = put_u64(o, (p[l3] & 15) * 4u);
        return PUT_LIT(o, ", must be at least 20)");
    }
    if (w->bogus_ip && et == 0x86DD && caplen - l3 < 40) { /* inet.dissect_ipv6: the header cut */
        HEAD_MAC(p, " IPv6 ", wl);
        o = PUT_LIT(o, "Invalid IPv6 header (");
        o = put_u64(o, (unsigned long long)(caplen - l3));
        return PUT_LIT(o, " bytes, need exactly 40)[Malformed Packet]");
    }
    if (et == 0x0800)
        return format_ip4(w, o, n, sec, us, p + l3, caplen - l3, wl, efl);
    if (et == 0x86DD)
        return w->ipv6 ? format_ip6(w, o, n, sec, us, p + l3, caplen - l3, wl, efl) : NULL;
    if (et == 0x8864 && w->pppoe) { /* PPPoE session, PPP's IPv4/IPv6 (tunnels.dissect_pppoes, dissect_ppp) */
        if (caplen < l3 + 8)
            return NULL;
        Py_ssize_t end = l3 + 6 + (Py_ssize_t)be16(p + l3 + 4);
        if (end > caplen)
            end = caplen;
        unsigned pp = be16(p + l3 + 6);
        if (end < l3 + 8 || (pp != 0x0021 && pp != 0x0057))
            return NULL;
        return format_inner(w, o, n, sec, us, pp == 0x0021 ? 0x0800 : 0x86DD, p + l3 + 8, end - l3 - 8, wl);
    }
    if ((et == 0x8847 || et == 0x8848) && w->mpls) { /* MPLS: the labels, then IPv4/IPv6 by the first nibble */
        for (int labels = 0;; labels++) {
            if (caplen < l3 + 4 || labels == 16)
                return NULL;
            l3 += 4;
            if (p[l3 - 2] & 1)
                break;
        }
        if (caplen <= l3 || (p[l3] >> 4 != 4 && p[l3] >> 4 != 6))
            return NULL;
        return format_inner(w, o, n, sec, us, p[l3] >> 4 == 4 ? 0x0800 : 0x86DD, p + l3, caplen - l3, wl);
    }
    if (et == 0x0806)
        return w->arp ? format_arp(w, o, n, sec, us, p, caplen, l3) : NULL;
    if (et == 0x88CC && w->lldp) { /* LLDP (l2ctl.dissect_lldp) */
        char tmp[2100];
        char *e = lldp_info(w, tmp, p + l3, caplen - l3);
        if (e == NULL)
            return NULL;
        HEAD_MAC(p, " LLDP ", wl);
        return put_str(o, tmp, (size_t)(e - tmp));
    }
    if (et == 0x888E && w->eap && caplen >= l3 + 4) { /* EAPOL, EAP (l2ctl.dissect_eapol, dissect_eap) */
        const uint8_t *a = p + l3;
        if (a[1] != 0) {
            HEAD_MAC(p, " EAPOL ", wl);
            return put_str(o, w->eapol_types.s[a[1]], w->eapol_types.len[a[1]]);
        }
        Py_ssize_t end = caplen - l3 - 4 < (Py_ssize_t)be16(a + 2) ? caplen - l3 - 4 : (Py_ssize_t)be16(a + 2);
        const uint8_t *e = a + 4;
        if (end < 4 || ((e[0] == 1 || e[0] == 2) && end < 5)) /* (cut: Python flags it) */
            return NULL;
        HEAD_MAC(p, " EAP ", wl);
        o = put_str(o, w->eap_codes.s[e[0]], w->eap_codes.len[e[0]]);
        if (e[0] == 1 || e[0] == 2) {
            o = PUT_LIT(o, ", ");
            o = put_str(o, w->eap_types.s[e[4]], w->eap_types.len[e[4]]);
        }
        return o;
    }
    if (et == 0x88F7)
        return w->ptp.len[0] ? format_ptp(w, o, n, sec, us, p, caplen, l3) : NULL;
    if (et == 0x6003 && w->dec) {
        char tmp[160];
        if (dec_info(w, tmp, p + l3, p + caplen) == NULL)
            return NULL;
        HEAD_MAC(p, " DEC DNA ", caplen);
        return dec_info(w, o, p + l3, p + caplen);
    }
    return NULL;
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
    if (left > 0 && left * LINE_AVG_BYTES > w->cap) {
        Py_ssize_t cap = left * LINE_AVG_BYTES;
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
        if (w->cap - used < LINE_MAX_BYTES + 1) { /* (room for the longest line and its newline) */
            char *grown = PyMem_Realloc(w->out, (size_t)(w->cap * 2));
            if (grown == NULL) {
                PyErr_NoMemory();
                goto done;
            }
            w->out = grown;
            w->cap *= 2;
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
static PyObject *walker_layers_setup(Walker *w, PyObject *const *args, Py_ssize_t nargs);
static PyObject *walker_layer_map(Walker *w, PyObject *frame);
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
    {"layers_setup", (PyCFunction)(void (*)(void))walker_layers_setup, METH_FASTCALL,
     "layers_setup(LayerMap, tcp_map, udp_map, ip_map, eth_map, data_layer, reach, reach_eth, stacks, walked)"},
    {"layer_map", (PyCFunction)walker_layer_map, METH_O, "layer_map(frame) -> LayerMap | 0 | 1"},
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

/* 1 if decode.summary._fast takes this Ethernet frame p[0:caplen] (wire length wl) of the TCP/UDP/ICMP
 * shapes: the conditions of its _l4 (what format_eth copied before it learned to format more: a TCP/UDP
 * payload on a dissected port or with a heuristic's prefix, an MPTCP-like option, a non-echo ICMP are
 * not the fast path's, whose protocol stack alone the shapes name); 0 if not (or maybe not: this declines
 * a few the fast path takes), -1 on error. */
static int fast_accepts(Walker *w, const uint8_t *p, Py_ssize_t caplen, unsigned long long wl) {
    if ((unsigned long long)caplen != wl || wl < 54 || wl >= NUMS_MAX)
        return 0;
    unsigned vihl = p[14], tlen = be16(p + 16), frag = be16(p + 20), proto = p[23];
    if (be16(p + 12) != 0x0800 || vihl != 0x45 || (frag & 0x3FFF) || tlen < 20 || tlen > wl - 14)
        return 0;
    unsigned sp = be16(p + 34), dp = be16(p + 36), offfl = be16(p + 46), win = be16(p + 48);
    uint32_t seq = be32(p + 38), ack = be32(p + 42);
    const uint8_t *ports = w->ports;
    if (proto == 6) {
        Py_ssize_t hl = (offfl >> 10) & 0x3C, seglen = (Py_ssize_t)tlen - 20 - hl;
        if (hl < 20 || seglen < 0)
            return 0;
        if (hl > 20 && memchr(p + 54, 30, (size_t)(hl - 20)) != NULL)
            return 0;
        if (seglen) {
            const uint8_t *pl = p + 34 + hl; /* < p + 14 + tlen <= p + caplen */
            Py_ssize_t avail = caplen - 34 - hl;
            if (w->hfirst[pl[0]] && in_prefixes(w->hpfx, pl, avail))
                return 0;
            if (((ports[sp] | ports[dp]) & 1) &&
                ((w->first[pl[0]] && in_prefixes(w->pfx, pl, avail)) || ((ports[sp] | ports[dp]) & 2)))
                return 0;
        }
        return 1;
    }
    if (proto == 17) {
        long ulen = (long)(seq >> 16);
        if (ulen < 8 || ulen > (long)tlen - 20)
            return 0;
        if (((ports[sp] | ports[dp]) & 4) &&
            ((w->first[p[42]] && in_prefixes(w->pfx, p + 42, caplen - 42)) || ((ports[sp] | ports[dp]) & 8)))
            return 0;
        if (w->udp_b1[(ack >> 16) & 0xFF] || in_u32(w->w0, w->nw0, ack) ||
            in_u32(w->w4, w->nw4, (uint32_t)offfl << 16 | win))
            return 0;
        if (PySet_GET_SIZE(w->bound)) {
            int r = bound_has(w, sp);
            if (r == 0)
                r = bound_has(w, dp);
            return r < 0 ? -1 : !r;
        }
        return 1;
    }
    return proto == 1 && tlen >= 28 && w->echo_len[sp >> 8];
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
    if (shape >= 16) {
        int a = fast_accepts(w, p, caplen, (unsigned long long)wl);
        if (a < 0)
            return NULL;
        if (!a)
            shape = 0;
    }
    if (!shape) {
        if (fast_declines(w, p, caplen))
            return PyLong_FromLong(0);
        Py_RETURN_NONE;
    }
    /* the line of packet 0 at the last second formatted (no call of the time formatter but the first);
     * (no_state: the formatters that keep per-process state, AFS's call map, decline instead) */
    w->no_state = 1;
    char *e = format_eth(w, w->out, 0, w->last_sec >= 0 ? w->last_sec : 0, 0, p, caplen,
                         (unsigned long long)wl);
    w->no_state = 0;
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

#define xp_table native_byte_table

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
    TcpOptions opt;
    if (!native_tcp_options(d, o, oend, &opt))
        return 0;
    PyObject *ws = opt.wscale >= 0 ? PyLong_FromLong(opt.wscale) : Py_NewRef(Py_None), *sk = Py_NewRef(Py_None);
    if (opt.nsack && ws != NULL) {
        Py_SETREF(sk, PyTuple_New(opt.nsack));
        for (int i = 0; sk != NULL && i < opt.nsack; i++) {
            PyObject *pair = Py_BuildValue("(kk)", (unsigned long)opt.sack[i][0], (unsigned long)opt.sack[i][1]);
            if (pair == NULL)
                Py_CLEAR(sk);
            else
                PyTuple_SET_ITEM(sk, i, pair);
        }
    }
    if (ws == NULL || sk == NULL) {
        Py_XDECREF(ws);
        Py_XDECREF(sk);
        return -1;
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

/* -------------------------------------------------------------------------------------------------- */
/* decode.layers.layer_map's common case in C (session 12: the protocol hierarchy and the display filters
 * walk every packet's layers first): an Ethernet frame of >= 34 bytes carrying IPv4 that is not a fragment
 * (TCP, UDP, another protocol), or an untagged ethertype with a dissector. The same LayerMap as the Python
 * code (tests/decode/test_layers.py compares both on every corpus frame and on mutated ones), built from
 * the dissector tables and reach caches layers.py hands over once (``layers_setup``); 0 where Python's
 * slow walk (layers._layer_map) decides, 1 where its fast case must (a dissector whose reach is not cached
 * yet, a possible MPTCP option, a frame that is not a plain tuple of bytes). */

static PyObject *lm_type, *lm_tcp, *lm_udp, *lm_ip, *lm_eth, *lm_data, *lm_reach, *lm_reach_eth, *lm_s_tcp,
    *lm_h_tcp, *lm_s_udp, *lm_h_udp, *lm_s_ip, *lm_h_ip, *lm_none, *lm_h_eth, *lm_s_eth;
static uint8_t lm_walked[65536];

/* layers_setup(LayerMap, tcp_map, udp_map, ip_map, eth_map, data_layer, reach, reach_eth,
 *              (S_TCP, H_TCP, S_UDP, H_UDP, S_IP, H_IP, NONE, H_ETH), walked_ethertypes) -> None */
static PyObject *walker_layers_setup(Walker *w, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 10 || !PyType_Check(args[0]) || !PyType_IsSubtype((PyTypeObject *)args[0], &PyTuple_Type) ||
        !PyDict_Check(args[1]) || !PyDict_Check(args[2]) || !PyDict_Check(args[3]) || !PyDict_Check(args[4]) ||
        !PyDict_Check(args[6]) || !PyDict_Check(args[7]) || !PyTuple_Check(args[8]) ||
        PyTuple_GET_SIZE(args[8]) != 8) {
        PyErr_SetString(PyExc_TypeError, "layers_setup(LayerMap, tcp_map, udp_map, ip_map, eth_map, data_layer, "
                                         "reach, reach_eth, stacks, walked)");
        return NULL;
    }
    if (xp_table(args[9], lm_walked, 65536) < 0)
        return NULL;
    if (lm_s_eth == NULL && (lm_s_eth = PyUnicode_InternFromString("eth")) == NULL)
        return NULL;
    PyObject **slots[] = {&lm_type, &lm_tcp, &lm_udp, &lm_ip, &lm_eth, &lm_data, &lm_reach, &lm_reach_eth};
    for (int i = 0; i < 8; i++)
        Py_XSETREF(*slots[i], Py_NewRef(args[i]));
    PyObject **consts[] = {&lm_s_tcp, &lm_h_tcp, &lm_s_udp, &lm_h_udp, &lm_s_ip, &lm_h_ip, &lm_none, &lm_h_eth};
    for (int i = 0; i < 8; i++)
        Py_XSETREF(*consts[i], Py_NewRef(PyTuple_GET_ITEM(args[8], i)));
    Py_RETURN_NONE;
}

/* LayerMap((stack, heads, after, et, net, version, proto, l4, end, rest, rest_off)); NULL on error. (Made
 * as tuple.__new__ makes a tuple subclass's instance, without the two temporary tuples: the items first,
 * then the object, filled.) */
static PyObject *lm_make(PyObject *stack, PyObject *heads, PyObject *after, long et, long net, long v, long proto,
                         Py_ssize_t l4, Py_ssize_t end, PyObject *rest, Py_ssize_t rest_off) {
    PyObject *items[11] = {Py_NewRef(stack), Py_NewRef(heads), Py_NewRef(after), PyLong_FromLong(et),
                           PyLong_FromLong(net), PyLong_FromLong(v), PyLong_FromLong(proto),
                           PyLong_FromSsize_t(l4), PyLong_FromSsize_t(end), Py_NewRef(rest),
                           PyLong_FromSsize_t(rest_off)};
    PyObject *r = NULL;
    int bad = 0;
    for (int i = 0; i < 11; i++)
        bad |= items[i] == NULL;
    if (!bad)
        r = ((PyTypeObject *)lm_type)->tp_alloc((PyTypeObject *)lm_type, 11);
    if (r == NULL) {
        for (int i = 0; i < 11; i++)
            Py_XDECREF(items[i]);
        return NULL;
    }
    for (int i = 0; i < 11; i++)
        PyTuple_SET_ITEM(r, i, items[i]);
    return r;
}

/* the dissector of a TCP/UDP port pair (the lower port's, else the higher's, else data), borrowed; NULL
 * with an exception set on error */
static PyObject *lm_ports(PyObject *map, unsigned sp, unsigned dp) {
    unsigned lo = sp < dp ? sp : dp, hi = sp < dp ? dp : sp;
    for (int i = 0; i < 2; i++) {
        PyObject *k = PyLong_FromLong(i ? hi : lo);
        if (k == NULL)
            return NULL;
        PyObject *fn = PyDict_GetItemWithError(map, k);
        Py_DECREF(k);
        if (fn != NULL && PyObject_IsTrue(fn) == 1)
            return fn;
        if (PyErr_Occurred())
            return NULL;
    }
    return lm_data;
}

static PyObject *walker_layer_map(Walker *w, PyObject *frame) {
    (void)w;
    if (lm_type == NULL || !PyTuple_Check(frame) || PyTuple_GET_SIZE(frame) < 4 ||
        !PyBytes_CheckExact(PyTuple_GET_ITEM(frame, 1)) || !PyLong_CheckExact(PyTuple_GET_ITEM(frame, 3)))
        return PyLong_FromLong(1);
    PyObject *data = PyTuple_GET_ITEM(frame, 1);
    const uint8_t *d = (const uint8_t *)PyBytes_AS_STRING(data);
    Py_ssize_t n = PyBytes_GET_SIZE(data);
    long lt = PyLong_AsLong(PyTuple_GET_ITEM(frame, 3));
    if (lt == -1 && PyErr_Occurred())
        return NULL;
    if (lt != 1 || n < 34)
        return PyLong_FromLong(0);
    unsigned et = be16(d + 12), vhl = d[14], frag = be16(d + 20), proto = d[23];
    if (et == 0x0800 && vhl >> 4 == 4 && !(frag & 0x3FFF)) {
        Py_ssize_t l4 = 14 + (Py_ssize_t)(vhl & 15) * 4, end = 14 + (Py_ssize_t)be16(d + 16);
        if (l4 < 34 || end < l4 || end > n)
            return PyLong_FromLong(0); /* a bogus or cut header, TSO: the slow walk decides */
        if (proto == 6) {
            if (end < l4 + 20)
                return PyLong_FromLong(0);
            Py_ssize_t thl = (Py_ssize_t)(d[l4 + 12] >> 4) * 4;
            if (thl < 20 || thl > end - l4)
                return PyLong_FromLong(0);
            if (thl > 20 && memchr(d + l4 + 20, 30, (size_t)(thl - 20)) != NULL)
                return PyLong_FromLong(1); /* maybe an MPTCP option: the dissector's option walk */
            if (end == l4 + thl)
                return lm_make(lm_s_tcp, lm_h_tcp, lm_none, (long)et, 14, 4, 6, l4, end, Py_None, end);
            PyObject *fn = lm_ports(lm_tcp, be16(d + l4), be16(d + l4 + 2));
            if (fn == NULL)
                return NULL;
            PyObject *after = PyDict_GetItemWithError(lm_reach, fn);
            if (after == NULL)
                return PyErr_Occurred() ? NULL : PyLong_FromLong(1);
            return lm_make(lm_s_tcp, lm_h_tcp, after, (long)et, 14, 4, 6, l4, end, fn, l4 + thl);
        }
        if (proto == 17) {
            if (end < l4 + 8)
                return PyLong_FromLong(0);
            Py_ssize_t ulen = be16(d + l4 + 4);
            if (ulen < 8 || l4 + ulen > end)
                return PyLong_FromLong(0);
            Py_ssize_t uend = l4 + ulen;
            if (ulen == 8)
                return lm_make(lm_s_udp, lm_h_udp, lm_none, (long)et, 14, 4, 17, l4, uend, Py_None, uend);
            PyObject *fn = lm_ports(lm_udp, be16(d + l4), be16(d + l4 + 2));
            if (fn == NULL)
                return NULL;
            PyObject *after = PyDict_GetItemWithError(lm_reach, fn);
            if (after == NULL)
                return PyErr_Occurred() ? NULL : PyLong_FromLong(1);
            return lm_make(lm_s_udp, lm_h_udp, after, (long)et, 14, 4, 17, l4, uend, fn, l4 + 8);
        }
        PyObject *k = PyLong_FromLong((long)proto);
        if (k == NULL)
            return NULL;
        PyObject *fn = PyDict_GetItemWithError(lm_ip, k);
        Py_DECREF(k);
        if (fn == NULL && PyErr_Occurred())
            return NULL;
        if (fn == NULL && end > l4)
            fn = lm_data;
        PyObject *after = lm_none;
        if (fn != NULL && (after = PyDict_GetItemWithError(lm_reach, fn)) == NULL)
            return PyErr_Occurred() ? NULL : PyLong_FromLong(1);
        return lm_make(lm_s_ip, lm_h_ip, after, (long)et, 14, 4, (long)proto, -1, end, fn ? fn : Py_None, l4);
    }
    if (et > 1500 && !lm_walked[et]) { /* an untagged ethertype with a dissector (ARP, PTP...) */
        PyObject *k = PyLong_FromLong((long)et);
        if (k == NULL)
            return NULL;
        PyObject *fn = PyDict_GetItemWithError(lm_eth, k);
        Py_DECREF(k);
        if (fn == NULL)
            return PyErr_Occurred() ? NULL : PyLong_FromLong(0);
        PyObject *after = PyDict_GetItemWithError(lm_reach_eth, fn);
        if (after == NULL)
            return PyErr_Occurred() ? NULL : PyLong_FromLong(1);
        PyObject *wo = PyTuple_GET_ITEM(frame, 2);
        long long wire = PyLong_Check(wo) ? PyLong_AsLongLong(wo) : -1;
        if (wire == -1 && PyErr_Occurred())
            return NULL;
        if (wire < 0 || wire > PY_SSIZE_T_MAX)
            return PyLong_FromLong(1);
        return lm_make(lm_s_eth, lm_h_eth, after, (long)et, 14, 0, -1, -1, wire > n ? (Py_ssize_t)wire : n, fn, 14);
    }
    return PyLong_FromLong(0);
}
