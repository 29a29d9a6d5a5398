/* The topic classifier's hashed term counts in C (topic_model.hashed_counts over topic_model.text_terms).
 *
 * A text's terms are its Chinese/Japanese character pairs (given whole), "w:<word>" for each word, "s:<stem>" for
 * each stem that differs from its word and "b:<stem> <next stem>" for each two consecutive stems; each term is
 * counted in bucket CRC-32(UTF-8 of the term) % buckets. The Python version builds every term as a string; this
 * one feeds the prefix and the words' UTF-8 straight into the CRC. Buckets come in the order of the first term
 * that falls in them and counts are whole numbers, so the dict returned is the Python version's, item for item
 * (tests/unit/enricher/test_topics.py compares both). */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>

static uint32_t crc_table[256];

static void
crc_init(void)
{
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++) {
            c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        }
        crc_table[n] = c;
    }
}

/* CRC-32 (zlib's) carried on over more bytes: start at 0xFFFFFFFF, end by inverting. */
static uint32_t
crc_more(uint32_t crc, const char *bytes, Py_ssize_t size)
{
    for (Py_ssize_t i = 0; i < size; i++) {
        crc = crc_table[(crc ^ (unsigned char)bytes[i]) & 0xFF] ^ (crc >> 8);
    }
    return crc;
}

typedef struct {
    uint32_t *keys;   /* open addressing: bucket + 1, 0 for an empty slot */
    Py_ssize_t *slot; /* the bucket's place in order[] */
    size_t mask;
    uint32_t *order;  /* buckets in the order they were first met */
    double *counts;
    Py_ssize_t used;
} Tally;

static void
tally_add(Tally *tally, uint32_t bucket)
{
    size_t at = (bucket * 2654435761u) & tally->mask;
    while (tally->keys[at] != 0 && tally->keys[at] != bucket + 1) {
        at = (at + 1) & tally->mask;
    }
    if (tally->keys[at] == 0) {
        tally->keys[at] = bucket + 1;
        tally->slot[at] = tally->used;
        tally->order[tally->used] = bucket;
        tally->counts[tally->used] = 0.0;
        tally->used++;
    }
    tally->counts[tally->slot[at]] += 1.0;
}

static const char *
utf8_of(PyObject *text, Py_ssize_t *size, const char *what)
{
    if (!PyUnicode_Check(text)) {
        PyErr_Format(PyExc_TypeError, "%s must be a str, not %.80s", what, Py_TYPE(text)->tp_name);
        return NULL;
    }
    return PyUnicode_AsUTF8AndSize(text, size);
}

/* Adds one text's terms: parts is (character pairs, words, stems). Returns -1 on error. */
static int
add_text(Tally *tally, PyObject *parts, uint32_t buckets)
{
    PyObject *pairs = NULL, *words = NULL, *stems = NULL;
    int status = -1;
    if (!PyTuple_Check(parts) || PyTuple_GET_SIZE(parts) != 3) {
        PyErr_SetString(PyExc_TypeError, "each text must be a tuple (character pairs, words, stems)");
        return -1;
    }
    pairs = PySequence_Fast(PyTuple_GET_ITEM(parts, 0), "character pairs must be a sequence");
    words = PySequence_Fast(PyTuple_GET_ITEM(parts, 1), "words must be a sequence");
    stems = PySequence_Fast(PyTuple_GET_ITEM(parts, 2), "stems must be a sequence");
    if (pairs == NULL || words == NULL || stems == NULL) {
        goto done;
    }
    Py_ssize_t count = PySequence_Fast_GET_SIZE(words);
    if (PySequence_Fast_GET_SIZE(stems) != count) {
        PyErr_SetString(PyExc_ValueError, "words and stems differ in number");
        goto done;
    }
    const char *bytes;
    Py_ssize_t size;
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(pairs); i++) {
        if ((bytes = utf8_of(PySequence_Fast_GET_ITEM(pairs, i), &size, "a character pair")) == NULL) {
            goto done;
        }
        tally_add(tally, (crc_more(0xFFFFFFFFu, bytes, size) ^ 0xFFFFFFFFu) % buckets);
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        if ((bytes = utf8_of(PySequence_Fast_GET_ITEM(words, i), &size, "a word")) == NULL) {
            goto done;
        }
        tally_add(tally, (crc_more(crc_more(0xFFFFFFFFu, "w:", 2), bytes, size) ^ 0xFFFFFFFFu) % buckets);
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *stem = PySequence_Fast_GET_ITEM(stems, i);
        if ((bytes = utf8_of(stem, &size, "a stem")) == NULL) {
            goto done;
        }
        int same = PyUnicode_Compare(stem, PySequence_Fast_GET_ITEM(words, i));
        if (same == -1 && PyErr_Occurred()) {
            goto done;
        }
        if (same != 0) {
            tally_add(tally, (crc_more(crc_more(0xFFFFFFFFu, "s:", 2), bytes, size) ^ 0xFFFFFFFFu) % buckets);
        }
    }
    for (Py_ssize_t i = 0; i + 1 < count; i++) {
        const char *second;
        Py_ssize_t second_size;
        bytes = utf8_of(PySequence_Fast_GET_ITEM(stems, i), &size, "a stem");
        second = utf8_of(PySequence_Fast_GET_ITEM(stems, i + 1), &second_size, "a stem");
        if (bytes == NULL || second == NULL) {
            goto done;
        }
        uint32_t crc = crc_more(crc_more(0xFFFFFFFFu, "b:", 2), bytes, size);
        crc = crc_more(crc_more(crc, " ", 1), second, second_size);
        tally_add(tally, (crc ^ 0xFFFFFFFFu) % buckets);
    }
    status = 0;
done:
    Py_XDECREF(pairs);
    Py_XDECREF(words);
    Py_XDECREF(stems);
    return status;
}

/* bucket_counts(texts, buckets) -> {bucket: count}: the terms of every text of texts (each a tuple of character
 * pairs, words and stems, as topic_model.text_parts gives them), counted by bucket. */
static PyObject *
bucket_counts(PyObject *self, PyObject *args)
{
    PyObject *texts_in;
    Py_ssize_t buckets;
    if (!PyArg_ParseTuple(args, "On", &texts_in, &buckets)) {
        return NULL;
    }
    if (buckets < 1 || buckets > 0xFFFFFFFFLL) {
        PyErr_Format(PyExc_ValueError, "%zd buckets: between 1 and 2**32 - 1", buckets);
        return NULL;
    }
    PyObject *texts = PySequence_Fast(texts_in, "texts must be a sequence");
    if (texts == NULL) {
        return NULL;
    }
    PyObject *result = NULL;
    Tally tally = {0};
    /* At most 3 terms per word and every character pair: an upper bound on the distinct buckets. */
    Py_ssize_t most = 1;
    for (Py_ssize_t t = 0; t < PySequence_Fast_GET_SIZE(texts); t++) {
        PyObject *parts = PySequence_Fast_GET_ITEM(texts, t);
        if (!PyTuple_Check(parts) || PyTuple_GET_SIZE(parts) != 3) {
            PyErr_SetString(PyExc_TypeError, "each text must be a tuple (character pairs, words, stems)");
            goto done;
        }
        Py_ssize_t pairs = PyObject_Length(PyTuple_GET_ITEM(parts, 0));
        Py_ssize_t words = PyObject_Length(PyTuple_GET_ITEM(parts, 1));
        if (pairs < 0 || words < 0) {
            goto done;
        }
        most += pairs + 3 * words;
    }
    size_t capacity = 16;
    while (capacity < (size_t)most * 2) {
        capacity *= 2;
    }
    tally.mask = capacity - 1;
    tally.keys = calloc(capacity, sizeof(uint32_t));
    tally.slot = malloc(capacity * sizeof(Py_ssize_t));
    tally.order = malloc((size_t)most * sizeof(uint32_t));
    tally.counts = malloc((size_t)most * sizeof(double));
    if (tally.keys == NULL || tally.slot == NULL || tally.order == NULL || tally.counts == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t t = 0; t < PySequence_Fast_GET_SIZE(texts); t++) {
        if (add_text(&tally, PySequence_Fast_GET_ITEM(texts, t), (uint32_t)buckets) < 0) {
            goto done;
        }
    }
    PyObject *counts = PyDict_New();
    if (counts == NULL) {
        goto done;
    }
    for (Py_ssize_t i = 0; i < tally.used; i++) {
        PyObject *key = PyLong_FromUnsignedLong(tally.order[i]);
        PyObject *value = PyFloat_FromDouble(tally.counts[i]);
        if (key == NULL || value == NULL || PyDict_SetItem(counts, key, value) < 0) {
            Py_XDECREF(key);
            Py_XDECREF(value);
            Py_DECREF(counts);
            goto done;
        }
        Py_DECREF(key);
        Py_DECREF(value);
    }
    result = counts;
done:
    free(tally.keys);
    free(tally.slot);
    free(tally.order);
    free(tally.counts);
    Py_DECREF(texts);
    return result;
}

static PyMethodDef methods[] = {
    {"bucket_counts", bucket_counts, METH_VARARGS, "Term counts by CRC-32 bucket (topic_model.hashed_counts)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    "_terms",
    "The topic classifier's hashed term counts in C (the Python version in topic_model.py is the reference).",
    -1,
    methods,
};

PyMODINIT_FUNC
PyInit__terms(void)
{
    crc_init();
    return PyModule_Create(&module);
}
