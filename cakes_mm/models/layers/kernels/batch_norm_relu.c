/*
 * Batch norm followed by ReLU, for the (rows, C) view of a channels-last
 * float32 tensor, in the passes over memory the maths needs and no more:
 *
 *   forward:  statistics (one read), then y = max(x * a + b, 0) (one read,
 *             one write);
 *   backward: the two per-channel sums (one read of x and of the gradient),
 *             then the input gradient (one more read of each, one write).
 *
 * The ReLU mask is recomputed from x, a and b by the same expression the
 * forward pass used (compiled with -ffp-contract=off, so both round alike),
 * so the output of the forward pass is never read back.
 *
 * Rows are split over OpenMP threads; each thread accumulates blocks of
 * ROW_BLOCK rows in float, then adds each block's sums into its own double
 * accumulators, which are summed at the end. The Python side
 * (cakes_mm/models/layers/fused_norm_relu.py) turns the sums into the
 * statistics and coefficients.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>

#define ROW_BLOCK 64

static inline float affine(float x, float a, float b) { return x * a + b; }

/* Adds the float block sums into the double accumulators and clears them. */
static void flush(float *restrict f1, float *restrict f2, double *restrict d1,
                  double *restrict d2, int64_t c) {
    for (int64_t k = 0; k < c; ++k) {
        d1[k] += f1[k];
        d2[k] += f2[k];
        f1[k] = 0.f;
        f2[k] = 0.f;
    }
}

/* The rows [*first, *last) of thread `t` of `n`. */
static void row_range(int64_t rows, int t, int n, int64_t *first,
                      int64_t *last) {
    *first = rows * t / n;
    *last = rows * (t + 1) / n;
}

/* Adds each thread's accumulators (threads x 2 x c doubles) into sum1 and
 * sum2. */
static void reduce(const double *acc, int threads, int64_t c, double *sum1,
                   double *sum2) {
    for (int t = 0; t < threads; ++t) {
        const double *a1 = acc + (size_t)t * 2 * c, *a2 = a1 + c;
        for (int64_t k = 0; k < c; ++k) {
            sum1[k] += a1[k];
            sum2[k] += a2[k];
        }
    }
}

/* The per-thread loops, apart, so that their pointers can be restrict. */
static void sums_of_rows(const float *restrict x, int64_t first, int64_t last,
                         int64_t c, const float *restrict shift,
                         float *restrict f1, float *restrict f2,
                         double *restrict d1, double *restrict d2) {
    for (int64_t r = first; r < last; ++r) {
        const float *restrict row = x + r * c;
        for (int64_t k = 0; k < c; ++k) {
            float v = row[k] - shift[k];
            f1[k] += v;
            f2[k] += v * v;
        }
        if ((r - first) % ROW_BLOCK == ROW_BLOCK - 1) flush(f1, f2, d1, d2, c);
    }
    flush(f1, f2, d1, d2, c);
}

static void grad_sums_of_rows(const float *restrict x, const float *restrict g,
                              int64_t first, int64_t last, int64_t c,
                              const float *restrict a, const float *restrict b,
                              const float *restrict shift,
                              float *restrict f1, float *restrict f2,
                              double *restrict d1, double *restrict d2) {
    for (int64_t r = first; r < last; ++r) {
        const float *restrict in = x + r * c, *restrict grad = g + r * c;
        for (int64_t k = 0; k < c; ++k) {
            float gk = grad[k];
            float gz = affine(in[k], a[k], b[k]) > 0.f ? gk : 0.f;
            f1[k] += gz;
            f2[k] += gz * (in[k] - shift[k]);
        }
        if ((r - first) % ROW_BLOCK == ROW_BLOCK - 1) flush(f1, f2, d1, d2, c);
    }
    flush(f1, f2, d1, d2, c);
}

/* sum1 += sum over rows of (x - shift), sum2 += sum of (x - shift)^2.
 * Returns 0, or -1 if memory ran out. */
int shifted_sums(const float *x, int64_t rows, int64_t c, int threads,
                 const float *shift, double *sum1, double *sum2) {
    double *acc = calloc((size_t)threads * 2 * c, sizeof(double));
    float *blocks = calloc((size_t)threads * 2 * c, sizeof(float));
    if (!acc || !blocks) {
        free(acc);
        free(blocks);
        return -1;
    }
#pragma omp parallel num_threads(threads)
    {
        int t = omp_get_thread_num(), n = omp_get_num_threads();
        int64_t first, last;
        row_range(rows, t, n, &first, &last);
        double *d1 = acc + (size_t)t * 2 * c, *d2 = d1 + c;
        float *f1 = blocks + (size_t)t * 2 * c, *f2 = f1 + c;
        sums_of_rows(x, first, last, c, shift, f1, f2, d1, d2);
    }
    reduce(acc, threads, c, sum1, sum2);
    free(acc);
    free(blocks);
    return 0;
}

/* y = max(x * a + b, 0), per channel a and b. */
void affine_relu(const float *x, float *y, int64_t rows, int64_t c,
                 int threads, const float *a, const float *b) {
#pragma omp parallel num_threads(threads)
    {
        int64_t first, last;
        row_range(rows, omp_get_thread_num(), omp_get_num_threads(), &first,
                  &last);
        for (int64_t r = first; r < last; ++r) {
            const float *restrict in = x + r * c;
            float *restrict out = y + r * c;
            for (int64_t k = 0; k < c; ++k) {
                float v = affine(in[k], a[k], b[k]);
                out[k] = v > 0.f ? v : 0.f;
            }
        }
    }
}

/* With gz = g where x * a + b > 0, else 0: sum1 += sum of gz,
 * sum2 += sum of gz * (x - shift). Returns 0, or -1 if memory ran out. */
int masked_grad_sums(const float *x, const float *g, int64_t rows, int64_t c,
                     int threads, const float *a, const float *b,
                     const float *shift, double *sum1, double *sum2) {
    double *acc = calloc((size_t)threads * 2 * c, sizeof(double));
    float *blocks = calloc((size_t)threads * 2 * c, sizeof(float));
    if (!acc || !blocks) {
        free(acc);
        free(blocks);
        return -1;
    }
#pragma omp parallel num_threads(threads)
    {
        int t = omp_get_thread_num(), n = omp_get_num_threads();
        int64_t first, last;
        row_range(rows, t, n, &first, &last);
        double *d1 = acc + (size_t)t * 2 * c, *d2 = d1 + c;
        float *f1 = blocks + (size_t)t * 2 * c, *f2 = f1 + c;
        grad_sums_of_rows(x, g, first, last, c, a, b, shift, f1, f2, d1, d2);
    }
    reduce(acc, threads, c, sum1, sum2);
    free(acc);
    free(blocks);
    return 0;
}

/* dx = gz * s + x * u + v, gz as in masked_grad_sums. */
void masked_grad_input(const float *x, const float *g, float *dx, int64_t rows,
                       int64_t c, int threads, const float *a, const float *b,
                       const float *s, const float *u, const float *v) {
#pragma omp parallel num_threads(threads)
    {
        int64_t first, last;
        row_range(rows, omp_get_thread_num(), omp_get_num_threads(), &first,
                  &last);
        for (int64_t r = first; r < last; ++r) {
            const float *restrict in = x + r * c, *restrict grad = g + r * c;
            float *restrict out = dx + r * c;
            for (int64_t k = 0; k < c; ++k) {
                float gk = grad[k];
                float gz = affine(in[k], a[k], b[k]) > 0.f ? gk : 0.f;
                out[k] = gz * s[k] + in[k] * u[k] + v[k];
            }
        }
    }
}
