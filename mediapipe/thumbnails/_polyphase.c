/* The polyphase resampler's loops (``thumbnails/polyphase.py`` is their face and makes the
weights).

Each output pixel is the weighted sum of the input pixels under its kernel, and only output
pixels are computed, ROWS output rows at a time. The ROWS rows are first weighted sums of the
input rows under their windows, two at a time (``vertical``: each input row under a pair's
windows loaded once for both), then each pixel of each row the weighted sum of the pixels under its window (``horizontal``: a vector
holds two or more neighbouring pixels, all their bands, so that one multiply-add takes as many
taps, and each vector of weights is loaded once for the ROWS rows), then rounded to uint8
(``narrow``). uint8 input rows are read as they are by an AVX2 loop on CPUs with AVX2 and FMA
(``vertical_u8_avx2``: each byte made a float as it is loaded, so the rows stay small in the
cache); elsewhere each is converted to float once (``widen``) and kept in a ring while output rows
need it. The GIL is released while it runs.

The vectors are GCC's generic vector types (SSE2 or NEON wherever it compiles); on x86-64 Linux
with GCC the loops are also built for AVX2 and FMA (x86-64-v3), picked by the loader on CPUs
that have them (``target_clones``). Pixels are uint8 (rounded and clamped on the way out) or
float32 (kept as they are), 1 to 4 bands interleaved, every buffer C-contiguous; every size
and window is checked against the shape given before anything is read.
*/
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef float v8f __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));

#if defined(__x86_64__) && defined(__GLIBC__) && defined(__GNUC__) && !defined(__clang__)
#define CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define CLONES
#endif
#define INLINE static inline __attribute__((always_inline))
#pragma GCC diagnostic ignored "-Wpsabi" /* vectors passed between inlined functions only */

#define LANES 8 /* floats in a v8f */
#define ROWS 4 /* output rows done together: ``horizontal`` loads each weight vector once for all */

INLINE v8f
load8(const float *p)
{
    v8f v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* out[x] = (float)in[x], for x in [0, n): a loop the compiler vectorises on its own. */
CLONES static void
widen(const uint8_t *in, Py_ssize_t n, float *restrict out)
{
    for (Py_ssize_t x = 0; x < n; x++)
        out[x] = in[x];
}

/* out0[x] = sum over k of w0[k] * rows[k][x], and out1 alike from w1, for x in [0, n): two
   output rows over the rows under both their windows (each weight zero outside its own row's
   window), each row loaded once for both. */
CLONES static void
vertical(const float *const *rows, Py_ssize_t n, int taps, const float *w0, const float *w1,
         float *restrict out0, float *restrict out1)
{
    Py_ssize_t x = 0;
    for (; x + 4 * LANES <= n; x += 4 * LANES) {
        v8f a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, b0 = {0}, b1 = {0}, b2 = {0}, b3 = {0};
        for (int k = 0; k < taps; k++) {
            const float *p = rows[k] + x;
            const v8f p0 = load8(p), p1 = load8(p + LANES), p2 = load8(p + 2 * LANES),
                      p3 = load8(p + 3 * LANES);
            const float u = w0[k], v = w1[k];
            a0 += u * p0;
            a1 += u * p1;
            a2 += u * p2;
            a3 += u * p3;
            b0 += v * p0;
            b1 += v * p1;
            b2 += v * p2;
            b3 += v * p3;
        }
        memcpy(out0 + x, &a0, sizeof a0);
        memcpy(out0 + x + LANES, &a1, sizeof a1);
        memcpy(out0 + x + 2 * LANES, &a2, sizeof a2);
        memcpy(out0 + x + 3 * LANES, &a3, sizeof a3);
        memcpy(out1 + x, &b0, sizeof b0);
        memcpy(out1 + x + LANES, &b1, sizeof b1);
        memcpy(out1 + x + 2 * LANES, &b2, sizeof b2);
        memcpy(out1 + x + 3 * LANES, &b3, sizeof b3);
    }
    for (; x < n; x++) {
        float a = 0, b = 0;
        for (int k = 0; k < taps; k++) {
            a += w0[k] * rows[k][x];
            b += w1[k] * rows[k][x];
        }
        out0[x] = a;
        out1[x] = b;
    }
}

/* Whether uint8 rows are read straight by ``vertical_u8_avx2`` (set at import on CPUs with AVX2
   and FMA; ``avx2(False)`` turns it off, as the tests do to check the portable path). */
static int use_avx2 = 0;

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_U8_AVX2 1
/* Eight uint8 pixels at p as floats. */
__attribute__((target("avx2,fma"))) static inline __m256
u8x8(const uint8_t *p)
{
    return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)p)));
}

/* ``vertical`` straight from uint8 rows, for CPUs with AVX2 and FMA: each byte made a float as it is loaded (no float
   copy of the rows to keep: their bytes stay in the cache). */
__attribute__((target("avx2,fma"))) static void
vertical_u8_avx2(const uint8_t *const *rows, Py_ssize_t n, int taps, const float *w0,
                 const float *w1, float *out0, float *out1)
{
    Py_ssize_t x = 0;
    for (; x + 4 * LANES <= n; x += 4 * LANES) {
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0,
               b3 = a0;
        for (int k = 0; k < taps; k++) {
            const uint8_t *p = rows[k] + x;
            const __m256 p0 = u8x8(p), p1 = u8x8(p + LANES), p2 = u8x8(p + 2 * LANES),
                         p3 = u8x8(p + 3 * LANES);
            const __m256 u = _mm256_broadcast_ss(w0 + k), v = _mm256_broadcast_ss(w1 + k);
            a0 = _mm256_fmadd_ps(u, p0, a0);
            a1 = _mm256_fmadd_ps(u, p1, a1);
            a2 = _mm256_fmadd_ps(u, p2, a2);
            a3 = _mm256_fmadd_ps(u, p3, a3);
            b0 = _mm256_fmadd_ps(v, p0, b0);
            b1 = _mm256_fmadd_ps(v, p1, b1);
            b2 = _mm256_fmadd_ps(v, p2, b2);
            b3 = _mm256_fmadd_ps(v, p3, b3);
        }
        _mm256_storeu_ps(out0 + x, a0);
        _mm256_storeu_ps(out0 + x + LANES, a1);
        _mm256_storeu_ps(out0 + x + 2 * LANES, a2);
        _mm256_storeu_ps(out0 + x + 3 * LANES, a3);
        _mm256_storeu_ps(out1 + x, b0);
        _mm256_storeu_ps(out1 + x + LANES, b1);
        _mm256_storeu_ps(out1 + x + 2 * LANES, b2);
        _mm256_storeu_ps(out1 + x + 3 * LANES, b3);
    }
    for (; x < n; x++) {
        float a = 0, b = 0;
        for (int k = 0; k < taps; k++) {
            a += w0[k] * rows[k][x];
            b += w1[k] * rows[k][x];
        }
        out0[x] = a;
        out1[x] = b;
    }
}
#endif

/* The x weights laid out for ``horizontal``: a vector holds LANES / bands neighbouring pixels
   (all their bands), so each output's taps are taken that many at a time, each vector of
   weights repeating a tap's weight over its pixel's bands (zero in lanes past the last whole
   pixel and past the last tap). */
static void
spread(const float *w, Py_ssize_t n, int taps, int bands, int groups, float *restrict out)
{
    const int per = LANES / bands;
    for (Py_ssize_t x = 0; x < n; x++, w += taps)
        for (int g = 0; g < groups; g++)
            for (int l = 0; l < LANES; l++) {
                const int k = g * per + l / bands;
                *out++ = l < per * bands && k < taps ? w[k] : 0.0f;
            }
}


/* ``a`` with lanes i and i + s (a literal) summed into lane i. */
#ifdef __clang__
#define FOLD(a, s) \
    ((a) + __builtin_shufflevector((a), (a), s, s + 1, s + 2, s + 3, s + 4, s + 5, s + 6, s + 7))
#else
#define FOLD(a, s) \
    ((a) + __builtin_shuffle((a), (v8i){s, s + 1, s + 2, s + 3, s + 4, s + 5, s + 6, s + 7} & 7))
#endif

/* The sums of a vector's neighbouring pixels, in its first pixel's lanes. */
INLINE v8f
sum_pixels(v8f a, const int bands)
{
    switch (bands) {
    case 1: return FOLD(FOLD(FOLD(a, 1), 2), 4);
    case 2: return FOLD(FOLD(a, 2), 4);
    case 3: return FOLD(a, 3);
    default: return FOLD(a, 4);
    }
}

/* out[r][x] (all ``bands``) = sum over k of w[x][k] * in[r][start[x] + k], for x in [0, n)
   and ROWS rows, ``bands`` known when it is compiled. ``w`` as ``spread`` lays it out; ``in``
   rows have 16 floats of zeros past their ends, ``out`` rows 8 floats of room. */
INLINE void
horizontal_of(const float *const *in, const int bands, Py_ssize_t n, const int32_t *start,
              int groups, const float *w, float *const *out)
{
    const int step = LANES / bands * bands;
    const float *in0 = in[0], *in1 = in[1], *in2 = in[2], *in3 = in[3];
    float *out0 = out[0], *out1 = out[1], *out2 = out[2], *out3 = out[3];
    for (Py_ssize_t x = 0; x < n; x++) {
        const Py_ssize_t at = (Py_ssize_t)start[x] * bands;
        const float *p0 = in0 + at, *p1 = in1 + at, *p2 = in2 + at, *p3 = in3 + at;
        /* two groups a turn, into two sets of sums: each waits on half the multiply-adds */
        v8f a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, b0 = {0}, b1 = {0}, b2 = {0}, b3 = {0};
        int g = 0;
        for (; g + 2 <= groups; g += 2, w += 2 * LANES) {
            const v8f u = load8(w), v = load8(w + LANES);
            a0 += u * load8(p0);
            a1 += u * load8(p1);
            a2 += u * load8(p2);
            a3 += u * load8(p3);
            b0 += v * load8(p0 + step);
            b1 += v * load8(p1 + step);
            b2 += v * load8(p2 + step);
            b3 += v * load8(p3 + step);
            p0 += 2 * step;
            p1 += 2 * step;
            p2 += 2 * step;
            p3 += 2 * step;
        }
        if (g < groups) {
            const v8f u = load8(w);
            a0 += u * load8(p0);
            a1 += u * load8(p1);
            a2 += u * load8(p2);
            a3 += u * load8(p3);
            w += LANES;
        }
        a0 = sum_pixels(a0 + b0, bands);
        a1 = sum_pixels(a1 + b1, bands);
        a2 = sum_pixels(a2 + b2, bands);
        a3 = sum_pixels(a3 + b3, bands);
        memcpy(out0 + x * bands, &a0, sizeof a0);
        memcpy(out1 + x * bands, &a1, sizeof a1);
        memcpy(out2 + x * bands, &a2, sizeof a2);
        memcpy(out3 + x * bands, &a3, sizeof a3);
    }
}

CLONES static void
horizontal(const float *const *in, int bands, Py_ssize_t n, const int32_t *start, int groups,
           const float *w, float *const *out)
{
    switch (bands) {
    case 1: horizontal_of(in, 1, n, start, groups, w, out); break;
    case 2: horizontal_of(in, 2, n, start, groups, w, out); break;
    case 3: horizontal_of(in, 3, n, start, groups, w, out); break;
    default: horizontal_of(in, 4, n, start, groups, w, out); break;
    }
}

/* out[i] = in[i] rounded and clamped to uint8, for i in [0, n): vectorised, no branches
   (the clamp on integers, which the compiler turns into min and max). */
CLONES static void
narrow(const float *in, Py_ssize_t n, uint8_t *restrict out)
{
    for (Py_ssize_t i = 0; i < n; i++) {
        int v = (int)(in[i] + 0.5f);
        v = v < 0 ? 0 : v;
        out[i] = (uint8_t)(v > 255 ? 255 : v);
    }
}

/* A buffer of ``count`` items of ``size`` bytes, or an exception set. */
static int
sized(Py_buffer *b, PyObject *o, int writable, Py_ssize_t count, Py_ssize_t size,
      const char *what)
{
    if (PyObject_GetBuffer(o, b, PyBUF_C_CONTIGUOUS | (writable ? PyBUF_WRITABLE : 0)) < 0)
        return -1;
    if (b->len != count * size) {
        PyErr_Format(PyExc_ValueError, "%s: %zd bytes, the shape wants %zd", what, b->len,
                     count * size);
        PyBuffer_Release(b);
        return -1;
    }
    return 0;
}

/* Every window [start, start + taps) within [0, size), each starting where the one before
   does or later, and at most ``taps`` later (as ``polyphase.weights`` makes them: the rows
   under ROWS neighbouring outputs' windows are then at most ROWS * taps). */
static int
windows_fit(const Py_buffer *starts, Py_ssize_t n, int taps, Py_ssize_t size, const char *what)
{
    const int32_t *s = starts->buf;
    for (Py_ssize_t i = 0; i < n; i++)
        if (s[i] < 0 || s[i] + (Py_ssize_t)taps > size
            || (i > 0 && (s[i] < s[i - 1] || s[i] - s[i - 1] > taps))) {
            PyErr_Format(PyExc_ValueError, "%s window %zd out of range or out of order", what,
                         i);
            return -1;
        }
    return 0;
}

/* The work, once every buffer is checked: false where memory ran out. */
static int
run(const char *src, Py_ssize_t sw, Py_ssize_t sh, char *dst, Py_ssize_t dw, Py_ssize_t dh,
    int bands, int is_float, const int32_t *xstart, const float *xweight, int xtaps,
    const int32_t *ystart, const float *yweight, int ytaps)
{
    const int per = LANES / bands, groups = (xtaps + per - 1) / per;
    const Py_ssize_t n = sw * bands, m = dw * bands, item = is_float ? 4 : 1;
    /* The most input rows under the windows of ROWS neighbouring output rows. */
    Py_ssize_t span_max = 0;
    for (Py_ssize_t y0 = 0; y0 < dh; y0 += ROWS) {
        const Py_ssize_t last = (dh - y0 < ROWS ? dh : y0 + ROWS) - 1;
        const Py_ssize_t span = ystart[last] + ytaps - ystart[y0];
        span_max = span > span_max ? span : span_max;
    }
    /* Rows read where they are: float ones, and uint8 ones on the AVX2 path. */
    const int direct = is_float || use_avx2;
    const Py_ssize_t slots = direct ? 0 : span_max, pad = 16;
    /* The ring (uint8 input row r, as floats, in slot r % slots), ROWS rows of vertical sums
       (16 floats of zeros past their ends: ``horizontal`` reads whole vectors), ROWS output
       rows (8 floats of room), the x weights spread. */
    float *ring = calloc((size_t)(slots * n + ROWS * (n + pad) + ROWS * (m + LANES)
                                  + dw * groups * LANES), sizeof(float));
    Py_ssize_t *held = malloc((size_t)(slots + 1) * sizeof(Py_ssize_t));
    const void **rows = malloc((size_t)span_max * sizeof(void *));
    float *wy = malloc((size_t)(ROWS * span_max) * sizeof(float));
    if (ring == NULL || held == NULL || rows == NULL || wy == NULL) {
        free(wy);
        free(ring);
        free(held);
        free((void *)rows);
        return 0;
    }
    float *sums[ROWS], *line[ROWS];
    for (int r = 0; r < ROWS; r++) {
        sums[r] = ring + slots * n + r * (n + pad);
        line[r] = ring + slots * n + ROWS * (n + pad) + r * (m + LANES);
    }
    float *xw = line[ROWS - 1] + m + LANES;
    spread(xweight, dw, xtaps, bands, groups, xw);
    for (Py_ssize_t i = 0; i < slots; i++)
        held[i] = -1;
    for (Py_ssize_t y0 = 0; y0 < dh; y0 += ROWS) {
        const int count = dh - y0 < ROWS ? (int)(dh - y0) : ROWS;
        /* the rows under the windows of outputs y0 to y0 + count - 1 (the rows past
           count repeat the last) */
        const Py_ssize_t first = ystart[y0], span = ystart[y0 + count - 1] + ytaps - first;
        for (Py_ssize_t k = 0; k < span; k++) {
            const Py_ssize_t row = first + k;
            if (direct) {
                rows[k] = src + row * n * item;
                continue;
            }
            float *slot = ring + (row % slots) * n;
            if (held[row % slots] != row) {
                widen((const uint8_t *)src + row * n, n, slot);
                held[row % slots] = row;
            }
            rows[k] = slot;
        }
        memset(wy, 0, (size_t)(ROWS * span) * sizeof(float));
        for (int r = 0; r < ROWS; r++) {
            const Py_ssize_t y = y0 + (r < count ? r : count - 1);
            memcpy(wy + r * span + (ystart[y] - first), yweight + y * ytaps,
                   (size_t)ytaps * sizeof(float));
        }
        /* by pairs of rows, each pair over the rows under its own two windows only */
        for (int r = 0; r < ROWS; r += 2) {
            const Py_ssize_t a = ystart[y0 + (r < count ? r : count - 1)] - first;
            const Py_ssize_t b = ystart[y0 + (r + 1 < count ? r + 1 : count - 1)] + ytaps
                                 - first;
            const float *w0 = wy + r * span + a, *w1 = wy + (r + 1) * span + a;
#ifdef HAVE_U8_AVX2
            if (use_avx2 && !is_float) {
                vertical_u8_avx2((const uint8_t *const *)rows + a, n, (int)(b - a), w0, w1,
                                 sums[r], sums[r + 1]);
                continue;
            }
#endif
            vertical((const float *const *)rows + a, n, (int)(b - a), w0, w1, sums[r],
                     sums[r + 1]);
        }
        horizontal((const float *const *)sums, bands, dw, xstart, groups, xw, line);
        for (int r = 0; r < count; r++) {
            char *to = dst + (y0 + r) * m * item;
            if (is_float)
                memcpy(to, line[r], (size_t)m * sizeof(float));
            else
                narrow(line[r], m, (uint8_t *)to);
        }
    }
    free(ring);
    free(held);
    free((void *)rows);
    free(wy);
    return 1;
}

static PyObject *
resample(PyObject *self, PyObject *args)
{
    PyObject *src_o, *dst_o, *xs_o, *xw_o, *ys_o, *yw_o;
    Py_ssize_t sw, sh, dw, dh;
    int bands, is_float, xtaps, ytaps;
    if (!PyArg_ParseTuple(args, "OnnOnnipOOiOOi:resample", &src_o, &sw, &sh, &dst_o, &dw, &dh,
                          &bands, &is_float, &xs_o, &xw_o, &xtaps, &ys_o, &yw_o, &ytaps))
        return NULL;
    if (bands < 1 || bands > 4 || sw < 1 || sh < 1 || dw < 1 || dh < 1 || xtaps < 1
        || ytaps < 1) {
        PyErr_SetString(PyExc_ValueError, "resample: empty shape, or bands not 1 to 4");
        return NULL;
    }
    const Py_ssize_t item = is_float ? 4 : 1;
    Py_buffer src, dst, xs, xw, ys, yw;
    Py_buffer *held[6] = {&src, &dst, &xs, &xw, &ys, &yw};
    int got = 0, done = 0;
    if (sized(&src, src_o, 0, sw * sh * bands, item, "source") < 0) goto out;
    got++;
    if (sized(&dst, dst_o, 1, dw * dh * bands, item, "destination") < 0) goto out;
    got++;
    if (sized(&xs, xs_o, 0, dw, 4, "x starts") < 0) goto out;
    got++;
    if (sized(&xw, xw_o, 0, dw * xtaps, 4, "x weights") < 0) goto out;
    got++;
    if (sized(&ys, ys_o, 0, dh, 4, "y starts") < 0) goto out;
    got++;
    if (sized(&yw, yw_o, 0, dh * ytaps, 4, "y weights") < 0) goto out;
    got++;
    if (windows_fit(&xs, dw, xtaps, sw, "x") < 0 || windows_fit(&ys, dh, ytaps, sh, "y") < 0)
        goto out;
    Py_BEGIN_ALLOW_THREADS
    done = run(src.buf, sw, sh, dst.buf, dw, dh, bands, is_float, xs.buf, xw.buf, xtaps,
               ys.buf, yw.buf, ytaps);
    Py_END_ALLOW_THREADS
    if (!done)
        PyErr_NoMemory();
out:
    for (int i = 0; i < got; i++)
        PyBuffer_Release(held[i]);
    if (!done)
        return NULL;
    Py_RETURN_NONE;
}

static int
avx2_possible(void)
{
#ifdef HAVE_U8_AVX2
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

static PyObject *
avx2(PyObject *self, PyObject *args)
{
    int on = -1;
    if (!PyArg_ParseTuple(args, "|p:avx2", &on))
        return NULL;
    if (on >= 0)
        use_avx2 = on && avx2_possible();
    return PyBool_FromLong(use_avx2);
}

static PyMethodDef methods[] = {
    {"resample", resample, METH_VARARGS,
     "resample(src, sw, sh, dst, dw, dh, bands, is_float, xstart, xweight, xtaps, ystart, "
     "yweight, ytaps): dst = the separable weighted sums of src (see polyphase.py)."},
    {"avx2", avx2, METH_VARARGS,
     "avx2([on]): whether uint8 rows are read by the AVX2 loop (this CPU has AVX2 and FMA); "
     "avx2(False) takes the portable loops, avx2(True) the AVX2 one where the CPU has it."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_polyphase", "The polyphase resampler's loops (polyphase.py).", -1,
    methods,
};

PyMODINIT_FUNC
PyInit__polyphase(void)
{
    use_avx2 = avx2_possible();
    return PyModule_Create(&module);
}
