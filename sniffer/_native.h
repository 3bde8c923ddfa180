/*
 * What the native accelerators share (sniffer/decode/_fastline.c, sniffer/model/_tcpstate.c): big-endian
 * reads, a byte table from a Python iterable of numbers, and the walk of TCP options that
 * model.tcpanalysis.tcp_options does in Python (its reference: tests compare both on every corpus frame).
 */
#ifndef SNIFFER_NATIVE_H
#define SNIFFER_NATIVE_H

#include <Python.h>
#include <stdint.h>
#include <string.h>

static inline unsigned be16(const uint8_t *p) { return (unsigned)p[0] << 8 | p[1]; }
static inline uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* t[0:size] = 0, then t[v] = 1 for every number v of the Python iterable items; -1 (exception set) when one
 * is out of the table */
static inline int native_byte_table(PyObject *items, uint8_t *t, Py_ssize_t size) {
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
                PyErr_SetString(PyExc_ValueError, "setup: a number out of its table");
            return -1;
        }
        t[v] = 1;
    }
    Py_DECREF(it);
    return PyErr_Occurred() ? -1 : 0;
}

/* The TCP options d[o:oend] as tcp_options reads them: the last window scale option's shift (-1: none) and
 * the blocks of the first SACK option (at most 4 fit in 40 bytes of options) */
typedef struct {
    long wscale;
    int nsack;
    uint32_t sack[4][2];
} TcpOptions;

/* 1 (opt filled), 0 if an option's length is bogus (the decoder decides what that means) */
static inline int native_tcp_options(const uint8_t *d, Py_ssize_t o, Py_ssize_t oend, TcpOptions *opt) {
    int have_sack = 0;
    opt->wscale = -1;
    opt->nsack = 0;
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
        if (ln < 2 || o + ln > oend)
            return 0;
        if (kind == 3 && ln == 3) {
            opt->wscale = d[o + 2];
        } else if (kind == 5 && ln >= 10 && !have_sack) {
            have_sack = 1;
            for (Py_ssize_t b = o + 2; b < o + ln - 7 && opt->nsack < 4; b += 8) {
                opt->sack[opt->nsack][0] = be32(d + b);
                opt->sack[opt->nsack][1] = be32(d + b + 4);
                opt->nsack++;
            }
        }
        o += ln;
    }
    return 1;
}

#endif
