/* The entity recogniser's per-token loops in C: label scores of the CRF (crf.LinearChainCRF.block_emissions),
 * the window network's hidden layer (window.WindowTagger.block_emissions), Viterbi decoding (crf.viterbi) and the
 * rows of its two-word features (crf.LinearChainCRF.pair_emissions); and the cue finder's word tokens
 * (cues.tokenize) and where the recogniser's tokens start and end (features.TOKEN_RE), the same tokens as their
 * regular expressions without a match object per word.
 *
 * The numpy versions in crf.py and window.py are the reference and run where this module was not built. Each
 * function here does the same float32 operations in the same order for every token (numpy's order, passes
 * included), so the scores are the same to the bit and so are the labels; tests/unit/entities/test_tagger.py
 * compares both. Built without floating-point contraction (pyproject.toml: -ffp-contract=off): a fused
 * multiply-add would round differently from numpy's multiplication then addition.
 *
 * Arrays arrive through the buffer protocol, C-contiguous, as the numpy callers pass them: float32 scores,
 * int64 indexes (numpy's intp on 64-bit platforms), uint8 flags. Sizes are checked before any work. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define WIDTH 5 /* tokens in a window or a CRF spelling's roles: two before, the token, two after */
#define HALF 2

static int
check_size(const Py_buffer *buffer, Py_ssize_t bytes, const char *name)
{
    if (buffer->len != bytes) {
        PyErr_Format(PyExc_ValueError, "%s holds %zd bytes where %zd were expected", name, buffer->len, bytes);
        return -1;
    }
    return 0;
}

static void
release(Py_buffer *buffers[], int count)
{
    for (int i = 0; i < count; i++) {
        if (buffers[i]->obj != NULL) {
            PyBuffer_Release(buffers[i]);
        }
    }
}

/* viterbi(emit, width, transitions, starts, ends, labels): the best labels of the sequences [starts[k], ends[k])
 * of emit (float32 [tokens, width]) under transitions (float32 [from, to]), written into labels (int64
 * [tokens]). Ties go to the lowest label, as numpy's argmax. */
static PyObject *
viterbi(PyObject *self, PyObject *args)
{
    Py_buffer emit = {0}, transitions = {0}, starts = {0}, ends = {0}, labels = {0};
    Py_buffer *all[] = {&emit, &transitions, &starts, &ends, &labels};
    Py_ssize_t width;
    if (!PyArg_ParseTuple(args, "y*ny*y*y*w*", &emit, &width, &transitions, &starts, &ends, &labels)) {
        release(all, 5);
        return NULL;
    }
    PyObject *result = NULL;
    unsigned char *back = NULL;
    float *delta = NULL;
    Py_ssize_t tokens = labels.len / (Py_ssize_t)sizeof(int64_t);
    Py_ssize_t sequences = starts.len / (Py_ssize_t)sizeof(int64_t);
    if (width < 1 || width > 255) {
        PyErr_Format(PyExc_ValueError, "%zd labels: between 1 and 255 are decoded", width);
        goto done;
    }
    if (check_size(&labels, tokens * (Py_ssize_t)sizeof(int64_t), "labels") < 0
        || check_size(&emit, tokens * width * (Py_ssize_t)sizeof(float), "emit") < 0
        || check_size(&transitions, width * width * (Py_ssize_t)sizeof(float), "transitions") < 0
        || check_size(&ends, starts.len, "ends") < 0) {
        goto done;
    }
    const float *E = emit.buf, *T = transitions.buf;
    const int64_t *S = starts.buf, *F = ends.buf;
    int64_t *out = labels.buf;
    Py_ssize_t longest = 0;
    for (Py_ssize_t k = 0; k < sequences; k++) {
        if (S[k] < 0 || S[k] > F[k] || F[k] > tokens) {
            PyErr_Format(PyExc_ValueError, "sequence %zd runs from %lld to %lld of %zd tokens", k, (long long)S[k],
                         (long long)F[k], tokens);
            goto done;
        }
        if (F[k] - S[k] > longest) {
            longest = (Py_ssize_t)(F[k] - S[k]);
        }
    }
    back = malloc((size_t)(longest > 0 ? longest : 1) * (size_t)width);
    delta = malloc(2 * (size_t)width * sizeof(float));
    if (back == NULL || delta == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t k = 0; k < sequences; k++) {
        Py_ssize_t first = (Py_ssize_t)S[k], length = (Py_ssize_t)(F[k] - S[k]);
        if (length == 0) {
            continue;
        }
        float *now = delta, *next = delta + width;
        memcpy(now, E + first * width, (size_t)width * sizeof(float));
        for (Py_ssize_t step = 1; step < length; step++) {
            const float *scores = E + (first + step) * width;
            unsigned char *from = back + step * width;
            for (Py_ssize_t to = 0; to < width; to++) {
                float best = now[0] + T[to];
                Py_ssize_t arg = 0;
                for (Py_ssize_t i = 1; i < width; i++) {
                    float candidate = now[i] + T[i * width + to];
                    if (candidate > best) {
                        best = candidate;
                        arg = i;
                    }
                }
                next[to] = best + scores[to];
                from[to] = (unsigned char)arg;
            }
            float *swap = now;
            now = next;
            next = swap;
        }
        Py_ssize_t current = 0;
        for (Py_ssize_t i = 1; i < width; i++) {
            if (now[i] > now[current]) {
                current = i;
            }
        }
        for (Py_ssize_t step = length - 1; step >= 0; step--) {
            out[first + step] = current;
            if (step > 0) {
                current = back[step * width + current];
            }
        }
    }
    Py_END_ALLOW_THREADS
    result = Py_NewRef(Py_None);
done:
    free(back);
    free(delta);
    release(all, 5);
    return result;
}

/* crf_emissions(blocks, width, begins, pairs, bos, eos, kb_rows, kb_weights, out): crf.py's
 * LinearChainCRF.block_emissions. blocks: float32 [tokens, 5 roles, width] (own, prev2, prev, next, next2);
 * begins: uint8 [tokens + 2], 1 where a sentence begins (and at tokens, tokens + 1); pairs: float32 [tokens,
 * width] or an empty buffer for none; kb_rows: int64 [tokens], a token's row in kb_weights (float32 [rows,
 * width]: on the token, on the token after, on the token before) or -1; out: float32 [tokens, width]. */
static PyObject *
crf_emissions(PyObject *self, PyObject *args)
{
    Py_buffer blocks = {0}, begins = {0}, pairs = {0}, bos = {0}, eos = {0}, kb_rows = {0}, kb_weights = {0};
    Py_buffer out = {0};
    Py_buffer *all[] = {&blocks, &begins, &pairs, &bos, &eos, &kb_rows, &kb_weights, &out};
    Py_ssize_t width;
    if (!PyArg_ParseTuple(args, "y*ny*y*y*y*y*y*w*", &blocks, &width, &begins, &pairs, &bos, &eos, &kb_rows,
                          &kb_weights, &out)) {
        release(all, 8);
        return NULL;
    }
    PyObject *result = NULL;
    Py_ssize_t n = kb_rows.len / (Py_ssize_t)sizeof(int64_t);
    Py_ssize_t row_bytes = width * (Py_ssize_t)sizeof(float);
    Py_ssize_t weight_rows = width > 0 ? kb_weights.len / row_bytes : 0;
    if (width < 1 || check_size(&kb_rows, n * (Py_ssize_t)sizeof(int64_t), "kb_rows") < 0
        || check_size(&blocks, n * WIDTH * row_bytes, "blocks") < 0 || check_size(&begins, n + 2, "begins") < 0
        || (pairs.len != 0 && check_size(&pairs, n * row_bytes, "pairs") < 0)
        || check_size(&bos, row_bytes, "bos") < 0 || check_size(&eos, row_bytes, "eos") < 0
        || check_size(&kb_weights, weight_rows * row_bytes, "kb_weights") < 0
        || check_size(&out, n * row_bytes, "out") < 0) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_ValueError, "no labels");
        }
        goto done;
    }
    const int64_t *R = kb_rows.buf;
    for (Py_ssize_t t = 0; t < n; t++) {
        if (R[t] < -1 || R[t] + 2 >= weight_rows) {
            PyErr_Format(PyExc_ValueError, "token %zd: knowledge-base row %lld of %zd", t, (long long)R[t],
                         weight_rows);
            goto done;
        }
    }
    const float *B = blocks.buf, *P = pairs.len ? pairs.buf : NULL, *W = kb_weights.buf;
    const float *first = bos.buf, *last = eos.buf;
    const unsigned char *begin = begins.buf;
    float *E = out.buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t t = 0; t < n; t++) {
        /* As numpy: has_prev2 of token 0 is false, of token t the token and the one before have left neighbours. */
        int has_prev = !begin[t];
        int has_prev2 = t > 0 && has_prev && !begin[t - 1];
        int has_next = !begin[t + 1];
        int has_next2 = has_next && !begin[t + 2];
        float *e = E + t * width;
        const float *own = B + t * WIDTH * width;
        for (Py_ssize_t j = 0; j < width; j++) {
            float sum = own[j];
            if (t >= 1 && has_prev) {
                sum += B[((t - 1) * WIDTH + 2) * width + j];
            }
            if (t >= 2 && has_prev2) {
                sum += B[((t - 2) * WIDTH + 1) * width + j];
            }
            if (t + 1 < n && has_next) {
                sum += B[((t + 1) * WIDTH + 3) * width + j];
            }
            if (t + 2 < n && has_next2) {
                sum += B[((t + 2) * WIDTH + 4) * width + j];
            }
            if (P != NULL && has_prev) {
                sum += P[t * width + j];
            }
            if (!has_prev) {
                sum += first[j];
            }
            if (!has_next) {
                sum += last[j];
            }
            if (t >= 1 && R[t - 1] >= 0 && has_prev) {
                sum += W[(R[t - 1] + 1) * width + j];
            }
            if (R[t] >= 0) {
                sum += W[R[t] * width + j];
            }
            if (t + 1 < n && R[t + 1] >= 0 && has_next) {
                sum += W[(R[t + 1] + 2) * width + j];
            }
            e[j] = sum;
        }
    }
    Py_END_ALLOW_THREADS
    result = Py_NewRef(Py_None);
done:
    release(all, 8);
    return result;
}

/* Where a token's part at one window position lies in `parts` (window.quantised_layout): its codes, and its
 * scale in `scale`; the part is each code times the scale (window.dequantised_at). */
static inline const int8_t *
part_at(const unsigned char *base, Py_ssize_t record, Py_ssize_t source, Py_ssize_t offset, Py_ssize_t hidden,
        float *scale)
{
    const unsigned char *at = base + source * record;
    memcpy(scale, at + offset * sizeof(float), sizeof(float));
    return (const int8_t *)(at + WIDTH * sizeof(float)) + offset * hidden;
}

/* window_hidden(parts, hidden, win_b, firsts, pad_left, pad_right, kb_tags, kb_changes, out): the hidden layer of
 * window.py's WindowTagger.block_emissions before its ReLU. parts: a token's record a row, float32 scale [5]
 * then int8 codes [5, hidden] (window.quantised_layout); firsts: int64, the sorted sentence starts, the first one
 * 0; pad_left, pad_right: float32 [5, hidden]; kb_tags: int64 [tokens], a token's row in kb_changes (float32
 * [tags, 5, hidden]) or -1; out: float32 [tokens, hidden]. */
static PyObject *
window_hidden(PyObject *self, PyObject *args)
{
    Py_buffer parts = {0}, win_b = {0}, firsts = {0}, pad_left = {0}, pad_right = {0}, kb_tags = {0};
    Py_buffer kb_changes = {0}, out = {0};
    Py_buffer *all[] = {&parts, &win_b, &firsts, &pad_left, &pad_right, &kb_tags, &kb_changes, &out};
    Py_ssize_t hidden;
    if (!PyArg_ParseTuple(args, "y*ny*y*y*y*y*y*w*", &parts, &hidden, &win_b, &firsts, &pad_left, &pad_right,
                          &kb_tags, &kb_changes, &out)) {
        release(all, 8);
        return NULL;
    }
    PyObject *result = NULL;
    int64_t *start = NULL, *end = NULL;
    Py_ssize_t n = kb_tags.len / (Py_ssize_t)sizeof(int64_t);
    Py_ssize_t row_bytes = hidden * (Py_ssize_t)sizeof(float);
    Py_ssize_t record = WIDTH * (Py_ssize_t)sizeof(float) + WIDTH * hidden;
    Py_ssize_t sentences = firsts.len / (Py_ssize_t)sizeof(int64_t);
    Py_ssize_t tags = hidden > 0 ? kb_changes.len / (WIDTH * row_bytes) : 0;
    if (hidden < 1 || check_size(&kb_tags, n * (Py_ssize_t)sizeof(int64_t), "kb_tags") < 0
        || check_size(&parts, n * record, "parts") < 0 || check_size(&win_b, row_bytes, "win_b") < 0
        || check_size(&firsts, sentences * (Py_ssize_t)sizeof(int64_t), "firsts") < 0
        || check_size(&pad_left, WIDTH * row_bytes, "pad_left") < 0
        || check_size(&pad_right, WIDTH * row_bytes, "pad_right") < 0
        || check_size(&kb_changes, tags * WIDTH * row_bytes, "kb_changes") < 0
        || check_size(&out, n * row_bytes, "out") < 0) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_ValueError, "no hidden units");
        }
        goto done;
    }
    const int64_t *F = firsts.buf, *K = kb_tags.buf;
    if (n > 0 && (sentences == 0 || F[0] != 0)) {
        PyErr_SetString(PyExc_ValueError, "the first sentence must start at token 0");
        goto done;
    }
    for (Py_ssize_t s = 1; s < sentences; s++) {
        if (F[s] < F[s - 1] || F[s] > n) {
            PyErr_Format(PyExc_ValueError, "sentence starts must be sorted and within the %zd tokens", n);
            goto done;
        }
    }
    for (Py_ssize_t t = 0; t < n; t++) {
        if (K[t] < -1 || K[t] >= tags) {
            PyErr_Format(PyExc_ValueError, "token %zd: knowledge-base tag %lld of %zd", t, (long long)K[t], tags);
            goto done;
        }
    }
    start = malloc((size_t)(n > 0 ? n : 1) * sizeof(int64_t));
    end = malloc((size_t)(n > 0 ? n : 1) * sizeof(int64_t));
    if (start == NULL || end == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    const unsigned char *base = parts.buf;
    const float *bias = win_b.buf, *left = pad_left.buf, *right = pad_right.buf, *changes = kb_changes.buf;
    float *H = out.buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t s = 0; s < sentences; s++) {
        int64_t to = s + 1 < sentences ? F[s + 1] : n;
        for (int64_t t = F[s]; t < to; t++) {
            start[t] = F[s];
            end[t] = to;
        }
    }
    /* Each token takes its neighbours' parts as if the text were one sentence, window position by position. */
    for (Py_ssize_t t = 0; t < n; t++) {
        float *h = H + t * hidden;
        memcpy(h, bias, (size_t)row_bytes);
        for (Py_ssize_t offset = 0; offset < WIDTH; offset++) {
            Py_ssize_t source = t + offset - HALF;
            if (source < 0 || source >= n) {
                continue;
            }
            float scale;
            const int8_t *codes = part_at(base, record, source, offset, hidden, &scale);
            for (Py_ssize_t k = 0; k < hidden; k++) {
                h[k] += (float)codes[k] * scale;
            }
        }
    }
    /* Within two tokens of a sentence's edge: a neighbour from another sentence is taken back, the padding put in. */
    for (Py_ssize_t t = 0; t < n; t++) {
        if (!(t - start[t] < HALF || end[t] - t <= HALF)) {
            continue;
        }
        float *h = H + t * hidden;
        for (Py_ssize_t offset = 0; offset < WIDTH; offset++) {
            Py_ssize_t source = t + offset - HALF;
            const float *pad;
            if (source < start[t]) {
                pad = left;
            }
            else if (source >= end[t]) {
                pad = right;
            }
            else {
                continue;
            }
            if (source >= 0 && source < n) {
                float scale;
                const int8_t *codes = part_at(base, record, source, offset, hidden, &scale);
                for (Py_ssize_t k = 0; k < hidden; k++) {
                    h[k] -= (float)codes[k] * scale;
                }
            }
            for (Py_ssize_t k = 0; k < hidden; k++) {
                h[k] += pad[offset * hidden + k];
            }
        }
    }
    /* A matched token's tag replaces "no match" at the positions it fills within its sentence, position by
     * position. */
    for (Py_ssize_t offset = 0; offset < WIDTH; offset++) {
        for (Py_ssize_t i = 0; i < n; i++) {
            if (K[i] < 0) {
                continue;
            }
            Py_ssize_t target = i - (offset - HALF);
            if (target < start[i] || target >= end[i]) {
                continue;
            }
            const float *change = changes + (K[i] * WIDTH + offset) * hidden;
            float *h = H + target * hidden;
            for (Py_ssize_t k = 0; k < hidden; k++) {
                h[k] += change[k];
            }
        }
    }
    Py_END_ALLOW_THREADS
    result = Py_NewRef(Py_None);
done:
    free(start);
    free(end);
    release(all, 8);
    return result;
}

/* "2s=<left>|<right>", as features.stem_pair writes it (a third of the time of PyUnicode_FromFormat). */
static PyObject *
stem_pair(PyObject *left, PyObject *right)
{
    if (!PyUnicode_Check(left) || !PyUnicode_Check(right)) {
        PyErr_SetString(PyExc_TypeError, "a half's stem must be a str");
        return NULL;
    }
    Py_ssize_t a = PyUnicode_GET_LENGTH(left), b = PyUnicode_GET_LENGTH(right);
    Py_UCS4 widest = Py_MAX(PyUnicode_MAX_CHAR_VALUE(left), PyUnicode_MAX_CHAR_VALUE(right));
    PyObject *key = PyUnicode_New(4 + a + b, Py_MAX(widest, 127));
    if (key == NULL) {
        return NULL;
    }
    int kind = PyUnicode_KIND(key);
    void *data = PyUnicode_DATA(key);
    PyUnicode_WRITE(kind, data, 0, '2');
    PyUnicode_WRITE(kind, data, 1, 's');
    PyUnicode_WRITE(kind, data, 2, '=');
    PyUnicode_WRITE(kind, data, 3 + a, '|');
    if (PyUnicode_CopyCharacters(key, 3, left, 0, a) < 0 || PyUnicode_CopyCharacters(key, 4 + a, right, 0, b) < 0) {
        Py_DECREF(key);
        return NULL;
    }
    return key;
}

/* pair_rows(halves, rows, bases, missing, stems, combined): crf.py's LinearChainCRF.pair_emissions up to its
 * arrays. halves: a sequence of every token's `WordFeatures.pair` half, (stem, article flag, cue marks) or ();
 * for token t >= 1 with both halves, stems[t] is the row of "2s=<left stem>|<right stem>" in rows (missing if
 * none) and combined[t] the index in bases of (left flag, right flag, left marks, right marks), -1 where bases
 * has none yet; token 0 and tokens without both halves get missing and 0. Returns the tokens left at -1, for
 * the caller to add to bases in order. */
static PyObject *
pair_rows(PyObject *self, PyObject *args)
{
    PyObject *halves_in, *rows, *bases;
    Py_ssize_t missing;
    Py_buffer stems = {0}, combined = {0};
    Py_buffer *all[] = {&stems, &combined};
    if (!PyArg_ParseTuple(args, "OO!O!nw*w*", &halves_in, &PyDict_Type, &rows, &PyDict_Type, &bases, &missing,
                          &stems, &combined)) {
        release(all, 2);
        return NULL;
    }
    PyObject *result = NULL, *unknown = NULL;
    PyObject *halves = PySequence_Fast(halves_in, "halves must be a sequence");
    if (halves == NULL) {
        goto done;
    }
    Py_ssize_t n = PySequence_Fast_GET_SIZE(halves);
    if (check_size(&stems, n * (Py_ssize_t)sizeof(int64_t), "stems") < 0
        || check_size(&combined, n * (Py_ssize_t)sizeof(int64_t), "combined") < 0) {
        goto done;
    }
    unknown = PyList_New(0);
    if (unknown == NULL) {
        goto done;
    }
    PyObject **items = PySequence_Fast_ITEMS(halves);
    int64_t *S = stems.buf, *C = combined.buf;
    for (Py_ssize_t t = 0; t < n; t++) {
        PyObject *right = items[t];
        if (!PyTuple_Check(right) || (PyTuple_GET_SIZE(right) != 0 && PyTuple_GET_SIZE(right) != 3)) {
            PyErr_Format(PyExc_TypeError, "half %zd is not a tuple of 0 or 3 items", t);
            goto done;
        }
        S[t] = missing;
        C[t] = 0;
        if (t == 0 || PyTuple_GET_SIZE(right) == 0 || PyTuple_GET_SIZE(items[t - 1]) == 0) {
            continue;
        }
        PyObject *left = items[t - 1];
        PyObject *key = stem_pair(PyTuple_GET_ITEM(left, 0), PyTuple_GET_ITEM(right, 0));
        if (key == NULL) {
            goto done;
        }
        PyObject *row = PyDict_GetItemWithError(rows, key);
        Py_DECREF(key);
        if (row != NULL) {
            S[t] = PyLong_AsSsize_t(row);
            if (S[t] == -1 && PyErr_Occurred()) {
                goto done;
            }
        }
        else if (PyErr_Occurred()) {
            goto done;
        }
        PyObject *pair = PyTuple_Pack(4, PyTuple_GET_ITEM(left, 1), PyTuple_GET_ITEM(right, 1),
                                      PyTuple_GET_ITEM(left, 2), PyTuple_GET_ITEM(right, 2));
        if (pair == NULL) {
            goto done;
        }
        PyObject *index = PyDict_GetItemWithError(bases, pair);
        Py_DECREF(pair);
        if (index != NULL) {
            C[t] = PyLong_AsSsize_t(index);
            if (C[t] == -1 && PyErr_Occurred()) {
                goto done;
            }
        }
        else if (PyErr_Occurred()) {
            goto done;
        }
        else {
            C[t] = -1;
            PyObject *position = PyLong_FromSsize_t(t);
            if (position == NULL || PyList_Append(unknown, position) < 0) {
                Py_XDECREF(position);
                goto done;
            }
            Py_DECREF(position);
        }
    }
    result = Py_NewRef(unknown);
done:
    Py_XDECREF(unknown);
    Py_XDECREF(halves);
    release(all, 2);
    return result;
}

/* A word character of Python's regular expressions (\w for str patterns). */
static int
is_word(Py_UCS4 c)
{
    return Py_UNICODE_ISALNUM(c) || c == '_';
}

/* words(text, token_type) -> [token_type(start, end, word), ...]: the matches of cues.TOKEN_RE,
 * \w+(?:[-'&]\w+)*, in order (runs of word characters, joined by one hyphen, apostrophe or ampersand between two
 * word characters), each as a tuple of token_type (cues.Token, a NamedTuple). The pattern needs no backtracking:
 * each run is taken whole and a joiner only with a word character after it. */
static PyObject *
words(PyObject *self, PyObject *args)
{
    PyObject *text;
    PyTypeObject *type;
    if (!PyArg_ParseTuple(args, "UO!", &text, &PyType_Type, &type)) {
        return NULL;
    }
    if (!PyType_IsSubtype(type, &PyTuple_Type)) {
        PyErr_Format(PyExc_TypeError, "token_type must be a tuple type (a NamedTuple), not %.80s", type->tp_name);
        return NULL;
    }
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t length = PyUnicode_GET_LENGTH(text);
    PyObject *found = PyList_New(0);
    if (found == NULL) {
        return NULL;
    }
    Py_ssize_t i = 0;
    while (i < length) {
        if (!is_word(PyUnicode_READ(kind, data, i))) {
            i++;
            continue;
        }
        Py_ssize_t start = i;
        while (i < length && is_word(PyUnicode_READ(kind, data, i))) {
            i++;
        }
        while (i + 1 < length) {
            Py_UCS4 joiner = PyUnicode_READ(kind, data, i);
            if (!(joiner == '-' || joiner == '\'' || joiner == '&') || !is_word(PyUnicode_READ(kind, data, i + 1))) {
                break;
            }
            i++;
            while (i < length && is_word(PyUnicode_READ(kind, data, i))) {
                i++;
            }
        }
        PyObject *token = type->tp_alloc(type, 3);
        if (token == NULL) {
            Py_DECREF(found);
            return NULL;
        }
        PyObject *first = PyLong_FromSsize_t(start), *last = PyLong_FromSsize_t(i);
        PyObject *word = PyUnicode_Substring(text, start, i);
        /* The tuple owns whatever was made; a NULL item is allowed until it is freed. */
        PyTuple_SET_ITEM(token, 0, first);
        PyTuple_SET_ITEM(token, 1, last);
        PyTuple_SET_ITEM(token, 2, word);
        if (first == NULL || last == NULL || word == NULL || PyList_Append(found, token) < 0) {
            Py_DECREF(token);
            Py_DECREF(found);
            return NULL;
        }
        Py_DECREF(token);
    }
    return found;
}

/* A letter of the recogniser's Arabic shortcut: [\u0621-\u063a\u0641-\u064a]. */
static int
is_arabic_letter(Py_UCS4 c)
{
    return (c >= 0x0621 && c <= 0x063A) || (c >= 0x0641 && c <= 0x064A);
}

/* token_bounds(text, pattern) -> (starts, ends): where the matches of pattern.finditer(text) start and end, for
 * features.TOKEN_RE. Every alternative of that pattern starts by taking one character that is not a space, and
 * the last (\S) takes any, so a match starts at each next character that is not a space. Its first alternative,
 * two Arabic letters or more with no word character, dot, hyphen, ampersand or apostrophe after them, can only
 * take the whole run of such letters (a shorter run has a letter after it); most tokens of Arabic news are such
 * runs and are found here; at any other character pattern.match(text, position) decides (its lookbehinds still
 * see the text before). */
static PyObject *
token_bounds(PyObject *self, PyObject *args)
{
    PyObject *text, *pattern;
    if (!PyArg_ParseTuple(args, "UO", &text, &pattern)) {
        return NULL;
    }
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t length = PyUnicode_GET_LENGTH(text);
    PyObject *starts = PyList_New(0), *ends = PyList_New(0), *match = NULL;
    if (starts == NULL || ends == NULL) {
        goto failed;
    }
    Py_ssize_t i = 0;
    while (i < length) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (Py_UNICODE_ISSPACE(c)) {
            i++;
            continue;
        }
        Py_ssize_t start = i, end = -1;
        if (is_arabic_letter(c)) {
            Py_ssize_t run = i;
            while (run < length && is_arabic_letter(PyUnicode_READ(kind, data, run))) {
                run++;
            }
            Py_UCS4 after = run < length ? PyUnicode_READ(kind, data, run) : 0;
            int joined = is_word(after) || after == '.' || after == '-' || after == '&' || after == '\'';
            if (run - i >= 2 && (run == length || !joined)) {
                end = run;
            }
        }
        if (end < 0) {
            match = PyObject_CallMethod(pattern, "match", "On", text, start);
            if (match == NULL) {
                goto failed;
            }
            PyObject *span = match == Py_None ? NULL : PyObject_CallMethod(match, "span", NULL);
            Py_ssize_t found_start = -1;
            if (span != NULL && !PyArg_ParseTuple(span, "nn", &found_start, &end)) {
                Py_DECREF(span);
                goto failed;
            }
            Py_XDECREF(span);
            Py_CLEAR(match);
            if (PyErr_Occurred()) {
                goto failed;
            }
            if (found_start != start || end <= start) {
                PyErr_Format(PyExc_ValueError, "the pattern found no token at %zd, where one starts", start);
                goto failed;
            }
        }
        PyObject *first = PyLong_FromSsize_t(start), *last = PyLong_FromSsize_t(end);
        int failed = first == NULL || last == NULL || PyList_Append(starts, first) < 0 || PyList_Append(ends, last) < 0;
        Py_XDECREF(first);
        Py_XDECREF(last);
        if (failed) {
            goto failed;
        }
        i = end;
    }
    PyObject *result = PyTuple_Pack(2, starts, ends);
    Py_DECREF(starts);
    Py_DECREF(ends);
    return result;
failed:
    Py_XDECREF(match);
    Py_XDECREF(starts);
    Py_XDECREF(ends);
    return NULL;
}

static PyMethodDef methods[] = {
    {"viterbi", viterbi, METH_VARARGS, "Best label paths of sequences of label scores (crf.viterbi)."},
    {"crf_emissions", crf_emissions, METH_VARARGS, "A linear-chain CRF's label scores (crf.LinearChainCRF)."},
    {"window_hidden", window_hidden, METH_VARARGS, "The window network's hidden layer (window.WindowTagger)."},
    {"pair_rows", pair_rows, METH_VARARGS, "Rows of a CRF's two-word features (crf.LinearChainCRF)."},
    {"words", words, METH_VARARGS, "The words of a normalised text as tokens (cues.tokenize)."},
    {"token_bounds", token_bounds, METH_VARARGS, "Where the recogniser's tokens start and end (ner)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    "_tagger",
    "The entity recogniser's per-token loops in C (the numpy versions in crf.py and window.py are the reference).",
    -1,
    methods,
};

PyMODINIT_FUNC
PyInit__tagger(void)
{
    return PyModule_Create(&module);
}
