/*
 * Concatenation along channels, an optional residual added, an optional
 * ReLU, in one pass over memory:
 *
 *   out[r, :] = relu(concat(parts[0][r, :], parts[1][r, :], ...) + res[r, :])
 *
 * for the rows r of dense float32 tensors. A row of `out` (and of `res`)
 * holds `width` values; part p supplies `part_widths[p]` of them, in order,
 * so the part widths sum to `width`. For channels-last tensors a row is one
 * voxel's channels; for NCDHW tensors it is one sample's channels times its
 * voxels. Each output value is computed by the same single float addition
 * as PyTorch's `torch.cat` followed by `+` and `relu`, so the result is
 * identical. Rows are split over OpenMP threads. Called from
 * cakes_mm/models/layers/fused_concat.py.
 */
#include <stdint.h>

static inline float relu(float v) { return v < 0.f ? 0.f : v; }

/* One part's slice of one row. */
static void place(float *restrict out, const float *restrict part,
                  const float *restrict res, int64_t count, int apply_relu) {
    if (res && apply_relu) {
        for (int64_t k = 0; k < count; ++k) out[k] = relu(part[k] + res[k]);
    } else if (res) {
        for (int64_t k = 0; k < count; ++k) out[k] = part[k] + res[k];
    } else if (apply_relu) {
        for (int64_t k = 0; k < count; ++k) out[k] = relu(part[k]);
    } else {
        for (int64_t k = 0; k < count; ++k) out[k] = part[k];
    }
}

int concat_add_relu(float *out, const float *const *parts,
                     const int64_t *part_widths, int nparts, const float *res,
                     int64_t rows, int64_t width, int apply_relu,
                     int threads) {
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
        int64_t offset = 0;
        for (int p = 0; p < nparts; ++p) {
            int64_t count = part_widths[p];
            place(out + r * width + offset, parts[p] + r * count,
                  res ? res + r * width + offset : 0, count, apply_relu);
            offset += count;
        }
    }
    return 0;
}
