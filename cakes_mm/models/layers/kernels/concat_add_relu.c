/*
 * Concatenation along channels, an optional residual added, an optional
 * ReLU, in one pass over memory:
 *
 *   out[r, :] = relu(concat(parts[0][r, :], parts[1][r, :], ...) + res[r, :])
 *
 * for the rows r of dense float32 tensors, or bfloat16 ones where `half` is
 * set (CPU autocast; the sum is then taken in float and rounded once, as
 * PyTorch's bfloat16 add rounds it). A row of `out` (and of `res`)
 * holds `width` values; part p supplies `part_widths[p]` of them, in order,
 * so the part widths sum to `width`. For channels-last tensors a row is one
 * voxel's channels; for NCDHW tensors it is one sample's channels times its
 * voxels. Each output value is computed by the same single float addition
 * as PyTorch's `torch.cat` followed by `+` and `relu`, so the result is
 * identical. Rows are split over OpenMP threads. Called from
 * cakes_mm/models/layers/fused_concat.py.
 */
#include <stdint.h>

#include "elements.h"

static inline float relu(float v) { return v < 0.f ? 0.f : v; }

/* One part's slice of one row, `count` values from element `at` of out
 * (and of res) and element 0 of part. */
static void place(void *out, const void *part, const void *res, int64_t at,
                  int64_t count, int apply_relu, int half) {
    if (res && apply_relu) {
        for (int64_t k = 0; k < count; ++k)
            store(out, at + k,
                  relu(load(part, k, half) + load(res, at + k, half)), half);
    } else if (res) {
        for (int64_t k = 0; k < count; ++k)
            store(out, at + k, load(part, k, half) + load(res, at + k, half),
                  half);
    } else if (apply_relu) {
        for (int64_t k = 0; k < count; ++k)
            store(out, at + k, relu(load(part, k, half)), half);
    } else {
        for (int64_t k = 0; k < count; ++k)
            store(out, at + k, load(part, k, half), half);
    }
}

int concat_add_relu(void *out, const void *const *parts,
                    const int64_t *part_widths, int nparts, const void *res,
                    int64_t rows, int64_t width, int apply_relu, int threads,
                    int half) {
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
        int64_t offset = 0;
        for (int p = 0; p < nparts; ++p) {
            int64_t count = part_widths[p];
            place((void *)row_of(out, r, width, half),
                  row_of(parts[p], r, count, half),
                  res ? row_of(res, r, width, half) : 0, offset, count,
                  apply_relu, half);
            offset += count;
        }
    }
    return 0;
}
