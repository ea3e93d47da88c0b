/*
 * Batch norm (the batch's statistics) followed by ReLU, for the rows of a
 * dense channels-last float32 tensor, reading and writing memory no more
 * often than the maths needs:
 *
 *   forward:  the statistics (one read of x), then y = max(x * a + b, 0)
 *             (one read, one write);
 *   backward: two per-channel sums (one read of x and of the gradient),
 *             then the input gradient (one more read of each, one write).
 *
 * The backward pass recomputes the ReLU's mask from x, a and b by the same
 * expression as the forward pass (compiled with -ffp-contract=off, so both
 * round alike) instead of reading the output back.
 *
 * The tensors x, y, g and dx hold float32, or bfloat16 where `half` is
 * set (mixed-precision training); either way every sum and product is
 * worked in float, and a bfloat16 output is rounded to the nearest even,
 * as PyTorch rounds. The row loops branch on `half` outside their inner
 * loop (-O3 unswitches it), so each element type gets its own vector code.
 *
 * A row holds `fold` voxels of `channels` channels each (width = fold *
 * channels values, so that narrow layers still fill whole vectors); column
 * j belongs to channel j % channels. Rows are split over OpenMP threads.
 * Each thread sums blocks of ROW_BLOCK rows in float and adds each block's
 * sums into double accumulators; the statistics are taken about each
 * channel's value in the first voxel, so a large mean does not cancel the
 * variance's digits. Called from cakes_mm/models/layers/fused_norm_relu.py.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <omp.h>

#include "elements.h"

#define ROW_BLOCK 64

static inline float affine(float x, float a, float b) { return x * a + b; }

/* Adds a thread's float block sums into its double sums; clears them. */
static void flush(float *restrict f1, float *restrict f2, double *restrict d1,
                  double *restrict d2, int64_t width) {
    for (int64_t k = 0; k < width; ++k) {
        d1[k] += f1[k];
        d2[k] += f2[k];
        f1[k] = 0.f;
        f2[k] = 0.f;
    }
}

/* One thread's rows: sums of (x - shift) and of its square. */
static void sums_of_rows(const void *x, int half, int64_t first, int64_t last,
                         int64_t width, const float *restrict shift,
                         float *restrict f1, float *restrict f2,
                         double *restrict d1, double *restrict d2) {
    for (int64_t r = first; r < last; ++r) {
        const void *row = row_of(x, r, width, half);
        for (int64_t k = 0; k < width; ++k) {
            float v = load(row, k, half) - shift[k];
            f1[k] += v;
            f2[k] += v * v;
        }
        if ((r - first) % ROW_BLOCK == ROW_BLOCK - 1)
            flush(f1, f2, d1, d2, width);
    }
    flush(f1, f2, d1, d2, width);
}

/* One thread's rows: with gz = g where x * a + b > 0 (else 0), sums of gz
 * and of gz * (x - shift). */
static void grad_sums_of_rows(const void *x, const void *g, int half,
                              int64_t first, int64_t last, int64_t width,
                              const float *restrict a, const float *restrict b,
                              const float *restrict shift,
                              float *restrict f1, float *restrict f2,
                              double *restrict d1, double *restrict d2) {
    for (int64_t r = first; r < last; ++r) {
        const void *in = row_of(x, r, width, half);
        const void *grad = row_of(g, r, width, half);
        for (int64_t k = 0; k < width; ++k) {
            float xk = load(in, k, half);
            float gk = load(grad, k, half); /* either way: it vectorises */
            float gz = affine(xk, a[k], b[k]) > 0.f ? gk : 0.f;
            f1[k] += gz;
            f2[k] += gz * (xk - shift[k]);
        }
        if ((r - first) % ROW_BLOCK == ROW_BLOCK - 1)
            flush(f1, f2, d1, d2, width);
    }
    flush(f1, f2, d1, d2, width);
}

/* One thread's rows: y = max(x * a + b, 0). */
static void affine_relu_rows(const void *x, void *y, int half,
                             int64_t first, int64_t last, int64_t width,
                             const float *restrict a, const float *restrict b) {
    for (int64_t r = first; r < last; ++r) {
        const void *in = row_of(x, r, width, half);
        void *out = (void *)row_of(y, r, width, half);
        for (int64_t k = 0; k < width; ++k) {
            float v = affine(load(in, k, half), a[k], b[k]);
            store(out, k, v < 0.f ? 0.f : v, half); /* NaN stays NaN */
        }
    }
}

/* One thread's rows: dx = gz * gain + x * x_coef + constant, gz as in
 * grad_sums_of_rows. */
static void grad_input_rows(const void *x, const void *g, void *dx, int half,
                            int64_t first, int64_t last, int64_t width,
                            const float *restrict a, const float *restrict b,
                            const float *restrict gain,
                            const float *restrict x_coef,
                            const float *restrict constant) {
    for (int64_t r = first; r < last; ++r) {
        const void *in = row_of(x, r, width, half);
        const void *grad = row_of(g, r, width, half);
        void *out = (void *)row_of(dx, r, width, half);
        for (int64_t k = 0; k < width; ++k) {
            float xk = load(in, k, half), gk = load(grad, k, half);
            float gz = affine(xk, a[k], b[k]) > 0.f ? gk : 0.f;
            store(out, k, gz * gain[k] + xk * x_coef[k] + constant[k], half);
        }
    }
}

/* Per-channel sums (channels doubles each in sum1, sum2) over all rows of
 * the two sums above (grad == NULL: the statistics' sums). Returns 0, or -1
 * when memory ran out. */
static int channel_sums(const void *x, const void *grad, int half, int64_t rows,
                        int64_t width, int64_t channels, int threads,
                        const float *a, const float *b, const float *shift,
                        double *sum1, double *sum2) {
    double *acc = calloc((size_t)threads * 2 * width, sizeof(double));
    float *blocks = calloc((size_t)threads * 2 * width, sizeof(float));
    if (!acc || !blocks) {
        free(acc);
        free(blocks);
        return -1;
    }
#pragma omp parallel num_threads(threads)
    {
        int t = omp_get_thread_num(), n = omp_get_num_threads();
        int64_t first = rows * t / n, last = rows * (t + 1) / n;
        double *d1 = acc + (size_t)t * 2 * width, *d2 = d1 + width;
        float *f1 = blocks + (size_t)t * 2 * width, *f2 = f1 + width;
        if (grad)
            grad_sums_of_rows(x, grad, half, first, last, width, a, b, shift,
                              f1, f2, d1, d2);
        else
            sums_of_rows(x, half, first, last, width, shift, f1, f2, d1, d2);
    }
    for (int64_t c = 0; c < channels; ++c) sum1[c] = sum2[c] = 0.0;
    for (int t = 0; t < threads; ++t) {
        const double *d1 = acc + (size_t)t * 2 * width, *d2 = d1 + width;
        for (int64_t k = 0; k < width; ++k) {
            sum1[k % channels] += d1[k];
            sum2[k % channels] += d2[k];
        }
    }
    free(acc);
    free(blocks);
    return 0;
}

/* out[k] = v[k % channels] for the width columns. */
static void tile(const float *v, float *out, int64_t width, int64_t channels) {
    for (int64_t k = 0; k < width; ++k) out[k] = v[k % channels];
}

/*
 * Forward. weight and bias may be NULL (1 and 0). Writes y; mean, var (the
 * biased variance) and invstd, per channel; scale and offset, per column
 * (a and b of y = max(x * a + b, 0)), which backward takes back.
 * Returns 0, or -1 when memory ran out.
 */
int batch_norm_relu_forward(const void *x, void *y, int64_t rows,
                            int64_t width, int64_t channels, int threads,
                            int half, const float *weight, const float *bias, double eps,
                            float *mean, float *var, float *invstd,
                            float *scale, float *offset) {
    int64_t count = rows * (width / channels);
    double *sum1 = malloc(2 * channels * sizeof(double)), *sum2 = sum1 + channels;
    float *shift = malloc(width * sizeof(float));
    if (!sum1 || !shift) {
        free(sum1);
        free(shift);
        return -1;
    }
    for (int64_t k = 0; k < width; ++k) /* the first voxel's values */
        shift[k] = load(x, k % channels, half);
    if (channel_sums(x, NULL, half, rows, width, channels, threads, NULL, NULL,
                     shift, sum1, sum2)) {
        free(sum1);
        free(shift);
        return -1;
    }
    for (int64_t c = 0; c < channels; ++c) {
        double d = sum1[c] / count, v = sum2[c] / count - d * d;
        if (v < 0) v = 0; /* rounding */
        double m = (double)shift[c] + d, s = 1.0 / sqrt(v + eps);
        double gain = weight ? weight[c] * s : s;
        mean[c] = (float)m;
        var[c] = (float)v;
        invstd[c] = (float)s;
        scale[c] = (float)gain;
        offset[c] = (float)((bias ? bias[c] : 0.0) - m * gain);
    }
    tile(scale, scale, width, channels);
    tile(offset, offset, width, channels);
    free(sum1);
    free(shift);
#pragma omp parallel num_threads(threads)
    {
        int t = omp_get_thread_num(), n = omp_get_num_threads();
        affine_relu_rows(x, y, half, rows * t / n, rows * (t + 1) / n, width,
                         scale, offset);
    }
    return 0;
}

/*
 * Inference with running statistics: y = max(x * scale + offset, 0), scale
 * and offset per channel (the norm folded by the caller).
 * Returns 0, or -1 when memory ran out.
 */
int affine_relu(const void *x, void *y, int64_t rows, int64_t width,
                int64_t channels, int threads, int half, const float *scale,
                const float *offset) {
    float *a = malloc(2 * width * sizeof(float));
    if (!a) return -1;
    float *b = a + width;
    for (int64_t c = 0; c < channels; ++c) {
        a[c] = scale[c];
        b[c] = offset[c];
    }
    tile(a, a, width, channels);
    tile(b, b, width, channels);
#pragma omp parallel num_threads(threads)
    {
        int t = omp_get_thread_num(), n = omp_get_num_threads();
        affine_relu_rows(x, y, half, rows * t / n, rows * (t + 1) / n, width,
                         a, b);
    }
    free(a);
    return 0;
}

/*
 * Backward. Takes what forward gave (mean, invstd per channel; scale and
 * offset per column) and the output's gradient g; writes the input's
 * gradient dx, and grad_weight and grad_bias per channel where they are not
 * NULL. Returns 0, or -1 when memory ran out.
 */
int batch_norm_relu_backward(const void *x, const void *g, void *dx,
                             int64_t rows, int64_t width, int64_t channels,
                             int threads, int half, const float *weight,
                             const float *mean, const float *invstd,
                             const float *scale, const float *offset,
                             float *grad_weight, float *grad_bias) {
    int64_t count = rows * (width / channels);
    double *sum1 = malloc(2 * channels * sizeof(double)), *sum2 = sum1 + channels;
    float *coef = malloc(4 * width * sizeof(float));
    if (!sum1 || !coef) {
        free(sum1);
        free(coef);
        return -1;
    }
    float *centre = coef, *gain = coef + width, *x_coef = gain + width,
          *constant = x_coef + width;
    tile(mean, centre, width, channels);
    if (channel_sums(x, g, half, rows, width, channels, threads, scale, offset,
                     centre, sum1, sum2)) {
        free(sum1);
        free(coef);
        return -1;
    }
    /* dx = gain (gz - sum1 / M - (x - mean) invstd^2 sum2 / M) */
    for (int64_t c = 0; c < channels; ++c) {
        double s = invstd[c], k = weight ? weight[c] * s : s;
        double xc = -k * s * s * sum2[c] / count;
        gain[c] = (float)k;
        x_coef[c] = (float)xc;
        constant[c] = (float)(-k * sum1[c] / count - xc * mean[c]);
        if (grad_weight) grad_weight[c] = (float)(sum2[c] * s);
        if (grad_bias) grad_bias[c] = (float)sum1[c];
    }
    tile(gain, gain, width, channels);
    tile(x_coef, x_coef, width, channels);
    tile(constant, constant, width, channels);
    free(sum1);
#pragma omp parallel num_threads(threads)
    {
        int t = omp_get_thread_num(), n = omp_get_num_threads();
        grad_input_rows(x, g, dx, half, rows * t / n, rows * (t + 1) / n, width,
                        scale, offset, gain, x_coef, constant);
    }
    free(coef);
    return 0;
}
