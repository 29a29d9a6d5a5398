/* The topic classifier's term features in C (topic_model.term_vector: hashed_counts of text_terms, weighted).
 *
 * A text is read as topic_model.text_terms reads it: characters that are neither word characters nor digits nor
 * "_" (the [\\W\\d_] of its regular expression) separate; runs of Chinese/Japanese characters give their
 * character pairs, other runs are words (the body's first max_words), and each word has a stem (Arabic: one
 * proclitic group and one suffix off, keeping three letters; other scripts: the first six letters). Its terms
 * are "c:<pair>" for each character pair, "w:<word>" for each word, "s:<stem>" for each stem that differs from
 * its word and "b:<stem> <next stem>" for each two consecutive stems; each term is counted in bucket
 * CRC-32(UTF-8 of the term) % buckets, and each bucket's weight is 1 + log(count), L2-normalised. The Python
 * version builds every word, stem and term as a string; this one feeds the characters' UTF-8 straight into the
 * CRC. Buckets come in the order of the first term that falls in them, counts are whole numbers and the weights
 * are the same double operations in the same order, so the arrays are the Python version's to the bit
 * (tests/unit/enricher/test_topics.py compares both). */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

/* CRC-32 carried on over the UTF-8 of n code points. */
static uint32_t
crc_chars(uint32_t crc, const Py_UCS4 *chars, Py_ssize_t n)
{
    unsigned char bytes[4];
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = chars[i];
        Py_ssize_t size;
        if (c < 0x80) {
            bytes[0] = (unsigned char)c;
            size = 1;
        } else if (c < 0x800) {
            bytes[0] = (unsigned char)(0xC0 | (c >> 6));
            bytes[1] = (unsigned char)(0x80 | (c & 0x3F));
            size = 2;
        } else if (c < 0x10000) {
            bytes[0] = (unsigned char)(0xE0 | (c >> 12));
            bytes[1] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
            bytes[2] = (unsigned char)(0x80 | (c & 0x3F));
            size = 3;
        } else {
            bytes[0] = (unsigned char)(0xF0 | (c >> 18));
            bytes[1] = (unsigned char)(0x80 | ((c >> 12) & 0x3F));
            bytes[2] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
            bytes[3] = (unsigned char)(0x80 | (c & 0x3F));
            size = 4;
        }
        crc = crc_more(crc, (const char *)bytes, size);
    }
    return crc;
}

/* Neither a separator ([\W\d_]) nor anything else: a letter of a word. */
static int
is_letter(Py_UCS4 c)
{
    return Py_UNICODE_ISALNUM(c) && !Py_UNICODE_ISDECIMAL(c) && c != '_';
}

static int
is_cjk(Py_UCS4 c)
{
    return (c >= 0x3040 && c <= 0x30FF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x4E00 && c <= 0x9FFF);
}

/* topic_model._ARABIC_PREFIXES and _ARABIC_SUFFIXES, in their order (test_topics.py checks every one). */
static const Py_UCS4 PREFIXES[][4] = {
    {0x0648, 0x0627, 0x0644, 0}, {0x0628, 0x0627, 0x0644, 0}, {0x0643, 0x0627, 0x0644, 0}, {0x0641, 0x0627, 0x0644, 0},
    {0x0644, 0x0644, 0}, {0x0627, 0x0644, 0}, {0x0648, 0}, {0x0641, 0}, {0x0628, 0}, {0x0644, 0}, {0x0643, 0},
};
static const Py_UCS4 SUFFIXES[][4] = {
    {0x0647, 0x0645, 0x0627, 0}, {0x0647, 0x0627, 0}, {0x0647, 0x0645, 0}, {0x0627, 0x062A, 0}, {0x0648, 0x0646, 0},
    {0x064A, 0x0646, 0}, {0x0627, 0x0646, 0}, {0x064A, 0x0647, 0}, {0x0647, 0}, {0x064A, 0},
};

static Py_ssize_t
affix_length(const Py_UCS4 *affix)
{
    Py_ssize_t n = 0;
    while (affix[n] != 0) {
        n++;
    }
    return n;
}

/* A word's stem as [*from, *to) of the word (topic_model._stem). */
static void
stem_of(const Py_UCS4 *word, Py_ssize_t length, Py_ssize_t *from, Py_ssize_t *to)
{
    *from = 0;
    *to = length;
    if (!(word[0] >= 0x0600 && word[0] <= 0x06FF)) {
        *to = length < 6 ? length : 6;
        return;
    }
    for (size_t p = 0; p < sizeof(PREFIXES) / sizeof(PREFIXES[0]); p++) {
        Py_ssize_t n = affix_length(PREFIXES[p]);
        if (length - n >= 3 && memcmp(word, PREFIXES[p], (size_t)n * sizeof(Py_UCS4)) == 0) {
            *from = n;
            break;
        }
    }
    Py_ssize_t left = *to - *from;
    for (size_t q = 0; q < sizeof(SUFFIXES) / sizeof(SUFFIXES[0]); q++) {
        Py_ssize_t n = affix_length(SUFFIXES[q]);
        if (left - n >= 3 && memcmp(word + *to - n, SUFFIXES[q], (size_t)n * sizeof(Py_UCS4)) == 0) {
            *to -= n;
            return;
        }
    }
}

/* Adds one text's terms; max_words < 0 reads every word. Returns -1 on error. */
static int
add_text(Tally *tally, PyObject *text, Py_ssize_t max_words, uint32_t buckets)
{
    Py_UCS4 *chars = PyUnicode_AsUCS4Copy(text);
    if (chars == NULL) {
        return -1;
    }
    Py_ssize_t length = PyUnicode_GET_LENGTH(text);
    /* Words as (start, end, stem start, stem end), at most one per two characters (a separator between). */
    Py_ssize_t *words = malloc(((size_t)length / 2 + 1) * 4 * sizeof(Py_ssize_t));
    if (words == NULL) {
        PyMem_Free(chars);
        PyErr_NoMemory();
        return -1;
    }
    Py_ssize_t count = 0, pairs = 0;
    int pairs_done = 0;
    Py_ssize_t i = 0;
    while (i < length) {
        if (!is_letter(chars[i])) {
            i++;
            continue;
        }
        int cjk = is_cjk(chars[i]);
        Py_ssize_t start = i;
        while (i < length && is_letter(chars[i]) && is_cjk(chars[i]) == cjk) {
            i++;
        }
        if (cjk) {
            if (pairs_done) {
                continue;
            }
            Py_ssize_t run = i - start;
            for (Py_ssize_t k = 0; k < (run > 1 ? run - 1 : 1); k++) {
                uint32_t crc = crc_chars(crc_more(0xFFFFFFFFu, "c:", 2), chars + start + k, run > 1 ? 2 : 1);
                tally_add(tally, (crc ^ 0xFFFFFFFFu) % buckets);
                pairs++;
            }
            pairs_done = max_words >= 0 && pairs > 3 * max_words;
        } else if (max_words < 0 || count < max_words) {
            Py_ssize_t *word = words + 4 * count++;
            word[0] = start;
            word[1] = i;
            stem_of(chars + start, i - start, &word[2], &word[3]);
        }
    }
    for (Py_ssize_t w = 0; w < count; w++) {
        Py_ssize_t *word = words + 4 * w;
        uint32_t crc = crc_chars(crc_more(0xFFFFFFFFu, "w:", 2), chars + word[0], word[1] - word[0]);
        tally_add(tally, (crc ^ 0xFFFFFFFFu) % buckets);
    }
    for (Py_ssize_t w = 0; w < count; w++) {
        Py_ssize_t *word = words + 4 * w;
        if (word[2] != 0 || word[3] != word[1] - word[0]) {
            uint32_t crc = crc_chars(crc_more(0xFFFFFFFFu, "s:", 2), chars + word[0] + word[2], word[3] - word[2]);
            tally_add(tally, (crc ^ 0xFFFFFFFFu) % buckets);
        }
    }
    for (Py_ssize_t w = 0; w + 1 < count; w++) {
        Py_ssize_t *first = words + 4 * w, *second = first + 4;
        uint32_t crc = crc_chars(crc_more(0xFFFFFFFFu, "b:", 2), chars + first[0] + first[2], first[3] - first[2]);
        crc = crc_chars(crc_more(crc, " ", 1), chars + second[0] + second[2], second[3] - second[2]);
        tally_add(tally, (crc ^ 0xFFFFFFFFu) % buckets);
    }
    free(words);
    PyMem_Free(chars);
    return 0;
}

/* text_vector(texts, buckets) -> (indices, weights): the terms of every text of texts (each a tuple (text,
 * max_words), max_words None to read every word) counted by bucket, as the bytes of an int64 array of the buckets
 * in the order they were first met and of a float64 array of their weights, 1 + log(count), divided by the
 * weights' L2 norm (topic_model.term_vector). */
static PyObject *
text_vector(PyObject *self, PyObject *args)
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
    PyObject *result = NULL, *indices = NULL, *weights = NULL;
    Tally tally = {0};
    Py_ssize_t count = PySequence_Fast_GET_SIZE(texts);
    Py_ssize_t *limits = malloc(((size_t)count + 1) * sizeof(Py_ssize_t));
    /* At most one character pair per character and three terms per word: an upper bound on the buckets met. */
    Py_ssize_t most = 1;
    if (limits == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t t = 0; t < count; t++) {
        PyObject *item = PySequence_Fast_GET_ITEM(texts, t);
        if (!PyTuple_Check(item) || PyTuple_GET_SIZE(item) != 2 || !PyUnicode_Check(PyTuple_GET_ITEM(item, 0))) {
            PyErr_SetString(PyExc_TypeError, "each text must be a tuple (str, max_words or None)");
            goto done;
        }
        PyObject *limit = PyTuple_GET_ITEM(item, 1);
        if (limit == Py_None) {
            limits[t] = -1;
        } else if ((limits[t] = PyLong_AsSsize_t(limit)) < 0) {
            if (!PyErr_Occurred()) {
                PyErr_SetString(PyExc_ValueError, "max_words must be 0 or more");
            }
            goto done;
        }
        most += 4 * PyUnicode_GET_LENGTH(PyTuple_GET_ITEM(item, 0));
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
    for (Py_ssize_t t = 0; t < count; t++) {
        PyObject *text = PyTuple_GET_ITEM(PySequence_Fast_GET_ITEM(texts, t), 0);
        if (add_text(&tally, text, limits[t], (uint32_t)buckets) < 0) {
            goto done;
        }
    }
    indices = PyBytes_FromStringAndSize(NULL, tally.used * (Py_ssize_t)sizeof(int64_t));
    weights = PyBytes_FromStringAndSize(NULL, tally.used * (Py_ssize_t)sizeof(double));
    if (indices == NULL || weights == NULL) {
        goto done;
    }
    int64_t *index = (int64_t *)PyBytes_AS_STRING(indices);
    double *weight = (double *)PyBytes_AS_STRING(weights);
    /* The same double operations in the same order as the Python version. */
    double total = 0.0;
    for (Py_ssize_t i = 0; i < tally.used; i++) {
        index[i] = tally.order[i];
        weight[i] = 1.0 + log(tally.counts[i]);
        total += weight[i] * weight[i];
    }
    double norm = sqrt(total);
    if (norm == 0.0) {
        norm = 1.0;
    }
    for (Py_ssize_t i = 0; i < tally.used; i++) {
        weight[i] = weight[i] / norm;
    }
    result = PyTuple_Pack(2, indices, weights);
done:
    Py_XDECREF(indices);
    Py_XDECREF(weights);
    free(limits);
    free(tally.keys);
    free(tally.slot);
    free(tally.order);
    free(tally.counts);
    Py_DECREF(texts);
    return result;
}

static PyMethodDef methods[] = {
    {"text_vector", text_vector, METH_VARARGS, "Term features of texts by CRC-32 bucket (topic_model.term_vector)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    "_terms",
    "The topic classifier's term features in C (the Python version in topic_model.py is the reference).",
    -1,
    methods,
};

PyMODINIT_FUNC
PyInit__terms(void)
{
    crc_init();
    return PyModule_Create(&module);
}
