/*
 * The element types of the kernels' tensors: float32, or bfloat16 where a
 * kernel's `half` flag is set (CPU autocast). Values are loaded as float
 * and stored rounded to the nearest even bfloat16, as PyTorch rounds; a
 * kernel that branches on `half` outside its inner loop gets vector code for
 * each type (-O3 unswitches the loop). Included by the kernels' sources.
 */
#ifndef CAKES_MM_ELEMENTS_H
#define CAKES_MM_ELEMENTS_H

#include <stdint.h>
#include <string.h>

/* Element i of a float32 (half == 0) or bfloat16 (half != 0) array. */
static inline float load(const void *p, int64_t i, int half) {
    if (!half) return ((const float *)p)[i];
    uint32_t bits = (uint32_t)((const uint16_t *)p)[i] << 16;
    float v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

/* Stores v as element i, rounded to the nearest even bfloat16 (a NaN to
 * the quiet NaN 0x7fc0) where half != 0. */
static inline void store(void *p, int64_t i, float v, int half) {
    if (!half) {
        ((float *)p)[i] = v;
        return;
    }
    uint32_t bits;
    memcpy(&bits, &v, sizeof bits);
    uint16_t rounded = (bits & 0x7fffffffu) > 0x7f800000u
                           ? 0x7fc0
                           : (uint16_t)((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
    ((uint16_t *)p)[i] = rounded;
}

/* Bytes of one element. */
static inline int64_t element_size(int half) { return half ? 2 : 4; }

/* Row r of a rows x width array of that element type. */
static inline const void *row_of(const void *p, int64_t r, int64_t width,
                                 int half) {
    return (const char *)p + r * width * element_size(half);
}

#endif
