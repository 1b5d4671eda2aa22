/* Shared by kernels/activation.c and kernels/cat.c: PyTorch's float requantization as a byte
 * table, and the checks every op of the family makes. Not part of the API. */
#ifndef QK_KERNELS_ACTIVATION_H
#define QK_KERNELS_ACTIVATION_H

#include "kernels/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* table[b] for every byte b (u8, or s8 as its two's complement byte):
 * clamp(rne((float)s_in * (float)(q - zp_in) * (1.0f / (float)s_out)) + zp_out) — PyTorch's
 * quantize(dequantize(q)), the requantization of quantized::cat. */
QK_INTERNAL void qk_act_requantize_table(qk_dtype type, double in_scale, int32_t in_zp,
                                         double out_scale, int32_t out_zp, uint8_t table[256]);
/* QK_SUCCESS for the PyTorch modes; QK_ERROR_INVALID_ARGUMENT for a value that is no mode;
 * QK_ERROR_UNSUPPORTED (with a message naming `what`) for the others. */
QK_INTERNAL qk_status qk_act_check_pytorch(const char* fn, qk_numerics numerics, const char* what);
/* A scale PyTorch can use: positive, finite, and a positive normal number as float32. */
QK_INTERNAL qk_status qk_act_check_scale(const char* fn, const char* field, double scale);
QK_INTERNAL qk_status qk_act_check_zero_point(const char* fn, const char* field, qk_dtype type,
                                              int32_t zp);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* QK_KERNELS_ACTIVATION_H */
