/*
 * A permutation of the columns of a row-major matrix:
 *
 *   out[r, j] = in[r, order[j]]
 *
 * for `rows` rows of `width` elements, each element's bits copied as they
 * are: 4-byte elements (float32), or 2-byte ones (bfloat16) where `half` is
 * set. For a channels-last tensor a row is one voxel's channels, so this
 * puts the channels in `order`. PyTorch's index_select along the rows'
 * second axis runs element by element (a 64-wide bfloat16 one over 50,176
 * rows took 20x the time of a copy). Rows are split over OpenMP threads.
 * Called from cakes_mm/models/layers/channel_permutation.py.
 */
#include <stdint.h>

int permute_columns(void *out, const void *in, const int64_t *order,
                    int64_t rows, int64_t width, int half, int threads) {
    if (half) {
        const uint16_t *src = (const uint16_t *)in;
        uint16_t *dst = (uint16_t *)out;
#pragma omp parallel for num_threads(threads) schedule(static)
        for (int64_t r = 0; r < rows; ++r)
            for (int64_t j = 0; j < width; ++j)
                dst[r * width + j] = src[r * width + order[j]];
    } else {
        const uint32_t *src = (const uint32_t *)in;
        uint32_t *dst = (uint32_t *)out;
#pragma omp parallel for num_threads(threads) schedule(static)
        for (int64_t r = 0; r < rows; ++r)
            for (int64_t j = 0; j < width; ++j)
                dst[r * width + j] = src[r * width + order[j]];
    }
    return 0;
}
