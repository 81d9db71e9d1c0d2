/* The decoder's hot loop in C: element boundaries of little endian data sets (PS3.5 7.1).
 *
 * Optional speed-up of dicomkit.io._decoder (built by setup.py when a compiler is there; the
 * pure-Python loop is the reference and the fallback). Each function walks the ordinary
 * elements of one data set from `pos` -- tag, VR, length, value offset -- and stores each one
 * in the data set's dict exactly as the Python loop does: `d[tag] = (vr, value bytes)`, the
 * element itself made lazily by the data model. At the first element it does not handle it
 * stops and returns that element's offset; the Python loop then reads that one element (its
 * errors, sequences, undefined lengths, large values, unknown VRs, delimiters, the stop tag)
 * and calls back here for the rest. So both paths give the same data set and the same errors:
 * this file decides nothing the Python code does not decide the same way.
 *
 * A defined-length sequence (explicit VR) is stored as `on_sq(tag, value start, value end)`
 * returns it (the Python side's unparsed sequence element), when the caller gives `on_sq`.
 *
 * Handed back to Python: a tag >= `stop`; a VR not in the table given to init() (unknown,
 * blank, NUL); a long-VR header cut off; an undefined length; SQ without `on_sq`, and in
 * implicit VR; a value running past `end`;
 * a long-VR value of `large` bytes or more (kept as a memoryview slice there); in implicit VR a
 * tag whose VR is not in the `known` cache. `end` past the buffer: everything (Python's
 * bounds checks give the error).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

#define NVR (26 * 26)
#define UNDEFINED 0xFFFFFFFFu

/* VR strings by (letter1 - 'A') * 26 + (letter2 - 'A'); NULL: not a VR. */
static PyObject *vr_str[NVR];
static unsigned char vr_long[NVR];
static unsigned char vr_sq[NVR];
static int ready = 0;

static int
vr_index(const unsigned char *b)
{
    unsigned int a = (unsigned int)b[0] - 'A', c = (unsigned int)b[1] - 'A';
    if (a >= 26 || c >= 26)
        return -1;
    return (int)(a * 26 + c);
}

static PyObject *
cscan_init(PyObject *self, PyObject *args)
{
    PyObject *vr_of, *long_vrs, *key, *value;
    Py_ssize_t i = 0;
    if (!PyArg_ParseTuple(args, "O!O:init", &PyDict_Type, &vr_of, &long_vrs))
        return NULL;
    for (int k = 0; k < NVR; k++) {
        Py_CLEAR(vr_str[k]);
        vr_long[k] = vr_sq[k] = 0;
    }
    while (PyDict_Next(vr_of, &i, &key, &value)) {
        if (!PyBytes_Check(key) || PyBytes_GET_SIZE(key) != 2 || !PyUnicode_Check(value)) {
            PyErr_SetString(PyExc_TypeError, "init: VR table must map 2-byte bytes to str");
            return NULL;
        }
        const unsigned char *b = (const unsigned char *)PyBytes_AS_STRING(key);
        int idx = vr_index(b);
        if (idx < 0)
            continue; /* not two capital letters: left to Python */
        int is_long = PySequence_Contains(long_vrs, key);
        if (is_long < 0)
            return NULL;
        Py_INCREF(value);
        vr_str[idx] = value;
        vr_long[idx] = (unsigned char)is_long;
        vr_sq[idx] = (b[0] == 'S' && b[1] == 'Q');
    }
    ready = 1;
    Py_RETURN_NONE;
}

/* Whether `specific` (None: every tag) holds tag: 1, 0, or -1 (exception). */
static int
wanted(PyObject *specific, PyObject *tagobj)
{
    if (specific == Py_None)
        return 1;
    return PySet_Check(specific) || PyFrozenSet_Check(specific)
               ? PySet_Contains(specific, tagobj)
               : PySequence_Contains(specific, tagobj);
}

/* d[tag] = (vr, bytes(p[0:n])) when `specific` is None or holds tag; 0 or -1 (exception). */
static int
store(PyObject *d, uint32_t tag, PyObject *vr, const char *p, Py_ssize_t n, PyObject *specific,
      PyObject *tagobj)
{
    int rc = -1;
    PyObject *own = NULL, *raw = NULL, *pair = NULL;
    if (tagobj == NULL) {
        tagobj = own = PyLong_FromUnsignedLong(tag);
        if (tagobj == NULL)
            return -1;
    }
    int has = wanted(specific, tagobj);
    if (has <= 0) {
        Py_XDECREF(own);
        return has; /* 0: not asked for; -1: error */
    }
    raw = PyBytes_FromStringAndSize(p, n);
    if (raw == NULL)
        goto done;
    Py_INCREF(vr);
    pair = PyTuple_Pack(2, vr, raw);
    Py_DECREF(vr);
    if (pair == NULL)
        goto done;
    rc = PyDict_CheckExact(d) ? PyDict_SetItem(d, tagobj, pair) : PyObject_SetItem(d, tagobj, pair);
done:
    Py_XDECREF(pair);
    Py_XDECREF(raw);
    Py_XDECREF(own);
    return rc;
}

typedef struct {
    Py_buffer view;
    Py_ssize_t pos, end, large;
    unsigned long long stop;
    PyObject *d, *specific;
} Scan;

static int
scan_args(PyObject *args, Scan *s, const char *fmt, PyObject **extra)
{
    PyObject *buf;
    if (!PyArg_ParseTuple(args, fmt, &buf, &s->pos, &s->end, &s->d, &s->stop, &s->specific,
                          &s->large, extra))
        return -1;
    if (!ready) {
        PyErr_SetString(PyExc_RuntimeError, "dicomkit.io._cscan.init() was not called");
        return -1;
    }
    if (PyObject_GetBuffer(buf, &s->view, PyBUF_SIMPLE) < 0)
        return -1;
    return 0;
}

/* A defined-length sequence: d[tag] = on_sq(tag, value offset, value end) when `specific`
 * allows (the Python side makes the unparsed sequence element); 0 or -1 (exception). */
static int
sequence(PyObject *d, uint32_t tag, Py_ssize_t value, Py_ssize_t end, PyObject *specific,
         PyObject *on_sq)
{
    PyObject *tagobj = PyLong_FromUnsignedLong(tag), *el;
    int rc = -1;
    if (tagobj == NULL)
        return -1;
    int has = wanted(specific, tagobj);
    if (has <= 0) {
        Py_DECREF(tagobj);
        return has;
    }
    el = PyObject_CallFunction(on_sq, "Onn", tagobj, value, end);
    if (el != NULL) {
        rc = PyDict_CheckExact(d) ? PyDict_SetItem(d, tagobj, el) : PyObject_SetItem(d, tagobj, el);
        Py_DECREF(el);
    }
    Py_DECREF(tagobj);
    return rc;
}

static PyObject *
cscan_explicit_le(PyObject *self, PyObject *args)
{
    Scan s;
    PyObject *on_sq;
    if (scan_args(args, &s, "OnnOKOnO:explicit_le", &on_sq) < 0)
        return NULL;
    const unsigned char *buf = (const unsigned char *)s.view.buf;
    Py_ssize_t pos = s.pos, end = s.end;
    if (pos < 0 || end > s.view.len)
        goto out; /* Python's checks name the problem */
    while (pos + 8 <= end) {
        const unsigned char *p = buf + pos;
        uint32_t tag = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 24 | p[2] | (uint32_t)p[3] << 8;
        if (tag >= s.stop)
            break;
        int idx = vr_index(p + 4);
        if (idx < 0 || vr_str[idx] == NULL)
            break;
        Py_ssize_t value, length;
        if (vr_long[idx]) {
            if (pos + 12 > end)
                break;
            uint32_t ln = p[8] | (uint32_t)p[9] << 8 | (uint32_t)p[10] << 16 |
                          (uint32_t)p[11] << 24;
            if (ln == UNDEFINED)
                break;
            length = (Py_ssize_t)ln;
            value = pos + 12;
            if (vr_sq[idx]) {
                if (on_sq == Py_None || value + length > end)
                    break;
                if (sequence(s.d, tag, value, value + length, s.specific, on_sq) < 0) {
                    PyBuffer_Release(&s.view);
                    return NULL;
                }
                pos = value + length;
                continue;
            }
            if (length >= s.large)
                break;
        }
        else {
            length = p[6] | p[7] << 8;
            value = pos + 8;
        }
        if (value + length > end)
            break;
        if (store(s.d, tag, vr_str[idx], (const char *)buf + value, length, s.specific, NULL) <
            0) {
            PyBuffer_Release(&s.view);
            return NULL;
        }
        pos = value + length;
    }
out:
    PyBuffer_Release(&s.view);
    return PyLong_FromSsize_t(pos);
}

static PyObject *
cscan_implicit_le(PyObject *self, PyObject *args)
{
    Scan s;
    PyObject *known;
    if (scan_args(args, &s, "OnnOKOnO:implicit_le", &known) < 0)
        return NULL;
    if (!PyDict_Check(known)) {
        PyBuffer_Release(&s.view);
        PyErr_SetString(PyExc_TypeError, "implicit_le: known must be a dict");
        return NULL;
    }
    const unsigned char *buf = (const unsigned char *)s.view.buf;
    Py_ssize_t pos = s.pos, end = s.end;
    if (pos < 0 || end > s.view.len)
        goto out;
    while (pos + 8 <= end) {
        const unsigned char *p = buf + pos;
        uint32_t tag = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 24 | p[2] | (uint32_t)p[3] << 8;
        if (tag >= s.stop)
            break;
        uint32_t ln = p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;
        if (ln == UNDEFINED || (Py_ssize_t)ln >= s.large || pos + 8 + (Py_ssize_t)ln > end)
            break;
        PyObject *tagobj = PyLong_FromUnsignedLong(tag);
        if (tagobj == NULL)
            goto fail;
        PyObject *vr = PyDict_GetItemWithError(known, tagobj); /* borrowed */
        if (vr == NULL || !PyUnicode_Check(vr) || PyUnicode_GET_LENGTH(vr) == 0 ||
            PyUnicode_CompareWithASCIIString(vr, "SQ") == 0) {
            Py_DECREF(tagobj);
            if (PyErr_Occurred())
                goto fail;
            break; /* not looked up yet, or a sequence: Python's turn */
        }
        int rc = store(s.d, tag, vr, (const char *)buf + pos + 8, (Py_ssize_t)ln, s.specific,
                       tagobj);
        Py_DECREF(tagobj);
        if (rc < 0)
            goto fail;
        pos += 8 + (Py_ssize_t)ln;
    }
out:
    PyBuffer_Release(&s.view);
    return PyLong_FromSsize_t(pos);
fail:
    PyBuffer_Release(&s.view);
    return NULL;
}

static PyMethodDef methods[] = {
    {"init", cscan_init, METH_VARARGS,
     "init(vr_of, long_vrs): the VR table (2-byte VR -> str) and the VRs with a 4-byte length."},
    {"explicit_le", cscan_explicit_le, METH_VARARGS,
     "explicit_le(buf, pos, end, d, stop, specific, large, on_sq) -> offset of the first "
     "element left to Python (explicit VR little endian; defined-length sequences stored as "
     "on_sq(tag, start, end) returns them, or left to Python when on_sq is None)."},
    {"implicit_le", cscan_implicit_le, METH_VARARGS,
     "implicit_le(buf, pos, end, d, stop, specific, large, known) -> offset of the first "
     "element left to Python (implicit VR little endian; VRs from the dict `known`)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "dicomkit.io._cscan",
    "Element-boundary scan of little endian data sets (optional speed-up of the decoder).", -1,
    methods,
};

PyMODINIT_FUNC
PyInit__cscan(void)
{
    PyObject *m = PyModule_Create(&module);
    /* the calling convention: _decoder.CSCAN_API must match (a stale build is not used) */
    if (m != NULL && PyModule_AddIntConstant(m, "API", 2) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
