#!/usr/bin/python3
# Copy of the qk team's numerics study reference (/work/shared/numerics/reference.py, the numpy
# model of PyTorch 1.13's quantized CPU ops described in the team's numerics.md and verified
# bit-exactly against torch 1.13.1 qnnpack/onednn). Copied unchanged below this comment so that
# tools/golden/ does not depend on the shared folder; re-copy rather than edit, so the two stay
# identical.
"""Numpy reference of PyTorch's quantized int8 CPU numerics (written for qk).

Every function reproduces, bit for bit, what PyTorch (1.13, and the same code in
2.x) computes for one operator and one backend; see numerics.md for the
derivation and the source files each formula comes from.  float32 arithmetic is
done with numpy float32 scalars/arrays (IEEE single, round-to-nearest-even, no
FMA unless stated), integer arithmetic in int64 (exact).

Conventions
  * x, w, ... are integer numpy arrays holding the *stored* integers
    (quint8 0..255, qint8 -128..127, qint32).
  * scales are Python floats (PyTorch stores them as double) and are cast to
    float32 exactly where the C++ code does.
  * rne(v) = round half to even (std::nearbyint / lrintf / cvtps2dq with the
    default rounding mode).
"""
import numpy as np

F32 = np.float32
QRANGE = {"quint8": (0, 255), "qint8": (-128, 127), "qint32": (-(2**31), 2**31 - 1)}


def cvtps2dq(v):
    """x86 CVTPS2DQ / _mm_cvtps_epi32: round-half-even, but any result outside int32
    (|v| >= 2^31, or NaN) becomes INT32_MIN (0x80000000) -- the 'integer indefinite'.
    ARM vcvtnq_s32_f32 saturates instead; QNNPACK's ARM path clamps in float first."""
    v = np.asarray(v, np.float32)
    out = np.where((v >= F32(2.0**31)) | (v < F32(-2.0**31)) | np.isnan(v), -(2**31), 0)
    ok = (v < F32(2.0**31)) & (v >= F32(-2.0**31))
    out = np.where(ok, np.rint(np.where(ok, v, 0)).astype(np.int64), out)
    return out.astype(np.int64)


def wrap32(v):
    """two's-complement int32 wrap-around (what paddd / vaddq_s32 do)"""
    v = np.asarray(v, np.int64)
    return ((v + 2**31) % 2**32) - 2**31


def f32(v):
    return np.asarray(v, dtype=np.float64).astype(np.float32)


def rne(v):
    """round half to even, result int64 (np.rint is round-half-even)."""
    return np.rint(v).astype(np.int64)


# ----------------------------------------------------------------------------
# quantize / dequantize
# ----------------------------------------------------------------------------
def quantize(xf, scale, zero_point, dtype="quint8"):
    """at::quantize_per_tensor on CPU (quantize_val / fbgemm::Quantize<T,false>):
    inv = 1.0f / (float)scale ; q = clamp(zp + rne((float)x * inv), qmin, qmax).
    Multiplication by the float reciprocal, NOT division; zp added after rounding."""
    qmin, qmax = QRANGE[dtype]
    inv = F32(1.0) / F32(scale)
    t = f32(xf) * inv  # float32 product
    r = rne(t)
    if dtype == "qint32":
        # fbgemm clamps in double; the non-fbgemm path adds zp in float then
        # casts.  For zp == 0 (always, for qint32 bias) both are equal to this:
        q = r.astype(np.float64) + zero_point
        return np.clip(q, qmin, qmax).astype(np.int64)
    return np.clip(r + int(zero_point), qmin, qmax)


def quantize_per_channel(xf, scales, zero_points, axis, dtype="qint8"):
    """at::quantize_per_channel: same formula with scale[c] (double -> float)."""
    xf = f32(xf)
    out = np.empty(xf.shape, dtype=np.int64)
    for c in range(xf.shape[axis]):
        sl = [slice(None)] * xf.ndim
        sl[axis] = c
        out[tuple(sl)] = quantize(xf[tuple(sl)], scales[c], zero_points[c], dtype)
    return out


def dequantize(q, scale, zero_point):
    """dequantize_val: (float)scale * (float)(q - zp)  (one rounding)."""
    return F32(scale) * (np.asarray(q, np.int64) - int(zero_point)).astype(np.float32)


def dequantize_fma(q, scale, zero_point):
    """Vectorized<quint8/qint8>::dequantize (AVX2/AVX512 ATen kernels):
    fmadd(scale, (float)q, premul) with premul = (float)scale * -(float)zp,
    i.e. ONE rounding of the exact value scale*q + premul."""
    s = np.float64(F32(scale))
    premul = np.float64(F32(scale) * F32(-int(zero_point)))
    qq = np.asarray(q, np.int64).astype(np.float64)
    # scale*q is exact in double (24-bit * 8-bit), the sum needs one rounding:
    return (s * qq + premul).astype(np.float32)  # exact in double -> single RNE


# ----------------------------------------------------------------------------
# convolution accumulator (exact integer part, identical in every backend)
# ----------------------------------------------------------------------------
def conv2d_acc(xq, x_zp, wq, w_zp, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
    """acc[n,oc,oh,ow] = sum_{ic,kh,kw} (x - x_zp) * (w[oc] - w_zp[oc]);
    padding contributes 0 (pads hold the input zero point).  int64, exact.
    xq: [N,C,H,W] ints, wq: [OC, C/groups, KH, KW] ints, w_zp: scalar or [OC]."""
    xq = np.asarray(xq, np.int64)
    wq = np.asarray(wq, np.int64)
    N, C, H, W = xq.shape
    OC, CG, KH, KW = wq.shape
    sh, sw = stride
    ph, pw = padding
    dh, dw = dilation
    wz = np.broadcast_to(np.asarray(w_zp, np.int64), (OC,))
    xs = np.zeros((N, C, H + 2 * ph, W + 2 * pw), np.int64)
    xs[:, :, ph:ph + H, pw:pw + W] = xq - int(x_zp)
    ws = wq - wz[:, None, None, None]
    OH = (H + 2 * ph - dh * (KH - 1) - 1) // sh + 1
    OW = (W + 2 * pw - dw * (KW - 1) - 1) // sw + 1
    OCG = OC // groups
    acc = np.zeros((N, OC, OH, OW), np.int64)
    for g in range(groups):
        xg = xs[:, g * CG:(g + 1) * CG]
        wg = ws[g * OCG:(g + 1) * OCG]
        for kh in range(KH):
            for kw in range(KW):
                patch = xg[:, :, kh * dh: kh * dh + sh * (OH - 1) + 1: sh,
                           kw * dw: kw * dw + sw * (OW - 1) + 1: sw]  # N,CG,OH,OW
                acc[:, g * OCG:(g + 1) * OCG] += np.einsum("nchw,oc->nohw", patch, wg[:, :, kh, kw])
    return acc


def linear_acc(xq, x_zp, wq, w_zp):
    """x: [M,K], w: [N,K] -> acc [M,N] = sum_k (x-xzp)(w-wzp[n])."""
    xq = np.asarray(xq, np.int64) - int(x_zp)
    wq = np.asarray(wq, np.int64)
    wz = np.broadcast_to(np.asarray(w_zp, np.int64), (wq.shape[0],))
    return xq @ (wq - wz[:, None]).T


# ----------------------------------------------------------------------------
# requantization of the accumulator, per backend
# ----------------------------------------------------------------------------
def _chan(v, n, ndim, axis=1):
    v = np.broadcast_to(np.asarray(v), (n,))
    shape = [1] * ndim
    shape[axis] = n
    return v.reshape(shape)


def requant_qnnpack_qs8(acc, act_scale, w_scales, out_scale, out_zp, bias=None, relu=False):
    """PyTorch qnnpack engine with qint8 activations = XNNPACK qs8/qc8w conv (torch 1.13, verified on
    574 conv cases): int32 bias as in requant_qnnpack; mult = (f32(sx)*f32(sw))/f32(so) -- a division;
    v = clamp(f32(tot)*mult, -2^31, 2^31-256); y = clamp(rne(v)+zp, relu ? zp : -128, 127).
    acc: int array [N, O, ...]; w_scales: scalar or [O]."""
    acc = np.asarray(acc)
    OC = acc.shape[1]
    ws = np.broadcast_to(np.asarray(w_scales, np.float64), (OC,))
    shape = (1, OC) + (1,) * (acc.ndim - 2)
    tot = acc.astype(np.int64)
    if bias is not None:
        bq = np.array([quantize(bias[c], ws[c] * np.float64(act_scale), 0, "qint32") for c in range(OC)])
        tot = wrap32(tot + bq.reshape(shape))
    m = (np.float32(act_scale) * ws.astype(np.float32)) / np.float32(out_scale)
    v = np.clip(tot.astype(np.float32) * m.reshape(shape), np.float32(-2.0**31), np.float32(2.0**31 - 256))
    return np.clip(rne(v) + out_zp, out_zp if relu else -128, 127)


def requant_qnnpack(acc, act_scale, w_scales, out_scale, out_zp, bias=None, relu=False,
                    per_channel=False, out_dtype="quint8", op="conv"):
    """PyTorch qnnpack conv/linear (q8conv/q8gemm 'fp32' requantization):
      bias_q[c]  = quantize(bias[c], scale_b[c], 0, qint32) with
                   scale_b = (double)w_scale[c] * (double)act_scale   (double product, then
                   quantize() uses 1.0f/(float)scale_b; per-tensor and per-channel alike)
      mult[c]    = ((float)w_scale[c] * (float)act_scale) * (1.0f / (float)out_scale)  (float32,
                   generate_requantization_scales: multiply by the reciprocal)
      y = clamp(rne((float)(acc + bias_q) * mult) + out_zp, relu ? out_zp : 0, 255)
    acc + bias_q is an int32 sum that WRAPS on overflow (huge biases), and on x86 a
    scaled value >= 2^31 converts to INT32_MIN (-> 0, or out_zp with relu)."""
    ndim = acc.ndim
    OC = acc.shape[1]
    ws = np.broadcast_to(np.asarray(w_scales, np.float64), (OC,))
    a = F32(act_scale)
    tot = acc.astype(np.int64)
    if bias is not None:
        bias = f32(bias)
        if per_channel:
            sb = ws * np.float64(act_scale)
            bq = np.array([quantize(bias[c], sb[c], 0, "qint32") for c in range(OC)])
        else:
            sb = np.float64(ws[0]) * np.float64(act_scale)  # double product (w.q_scale()*act.q_scale())
            bq = quantize(bias, sb, 0, "qint32")
        if op == "conv":
            # Observed, mechanism not located in the source: for qnnpack CONV a bias
            # that saturates at +INT32_MAX behaves as INT32_MIN (visible only where
            # acc == 0, e.g. all-padding taps); linear keeps INT32_MAX.  Only reachable
            # with |bias| > 2^31 * act_scale * w_scale -- i.e. never in sane models.
            bq = np.where(bq >= 2**31 - 1, -(2**31), bq)
        tot = wrap32(tot + _chan(bq, OC, ndim))  # int32 accumulator: wraps on overflow
    mult = (f32(ws) * a) * (F32(1.0) / F32(out_scale))
    y = tot.astype(np.float32) * _chan(mult, OC, ndim).astype(np.float32)
    qmin, qmax = QRANGE[out_dtype]
    lo = int(out_zp) if relu else qmin
    # x86 SSE2 kernel: cvtps2dq (overflow -> INT32_MIN), packs_epi32 (int16 saturate),
    # adds_epi16 zp, packus -> u8, then max(lo)/min(255): same as clamp(r + zp).
    return np.clip(cvtps2dq(y) + int(out_zp), lo, qmax)


def requant_fbgemm(acc, act_scale, w_scales, out_scale, out_zp, bias=None, relu=False,
                   per_channel=False, simd=True):
    """fbgemm ReQuantizeOutput / requantizeOutputProcessingAvx2 with float bias
    (PyTorch's fbgemm and x86 engines; cannot be run here -- from source):
      ats[c]  = (float)act_scale * (float)w_scale[c]                 (float32)
      mult[c] = ats[c] / (float)out_scale                              (float32)
      bterm   = per-tensor SIMD : bias * (float)(1.0/ats)   (reciprocal, then multiply)
                per-channel / scalar tail: bias / ats[c]     (float division)
      v = ((float)acc + bterm) * mult            (two float32 roundings, no FMA)
      y = clamp(rne(v) + out_zp, relu ? out_zp : 0, 255)"""
    ndim = acc.ndim
    OC = acc.shape[1]
    ws = f32(np.broadcast_to(np.asarray(w_scales, np.float64), (OC,)))
    ats = F32(act_scale) * ws
    mult = ats / F32(out_scale)
    v = acc.astype(np.float32)
    if bias is not None:
        b = f32(bias)
        if per_channel or not simd:
            bt = b / ats
        else:
            bt = b * f32(1.0 / np.float64(ats[0]))
        v = v + _chan(bt, OC, ndim).astype(np.float32)
    v = v * _chan(mult, OC, ndim).astype(np.float32)
    lo = int(out_zp) if relu else 0
    # SIMD: cvtps2dq (|v| >= 2^31 -> INT32_MIN -> 0 after packs/packus);
    # scalar anyarch path: lrintf into a 64-bit long (no wrap) -> saturates to 255.
    r = cvtps2dq(v) if simd else rne(v)
    return np.clip(r + int(out_zp), lo, 255)


def requant_onednn(acc, act_scale, w_scales, out_scale, out_zp, bias=None, relu=False,
                   per_channel=False, out_dtype="quint8"):
    """PyTorch onednn engine (ideep 2.x + oneDNN 2.6, u8s8 conv / linear).
    PyTorch hands ideep *reciprocal* scales (double 1.0/s, stored as float):
      isrc = (float)(1.0/act_scale), iw[c] = (float)(1.0/w_scale[c]), idst = (float)(1.0/out_scale)
    ideep utils::compute_scales():  bsc[c] = isrc * iw[c] ; op[c] = idst / bsc[c]   (float32)
    bias stays float: reorder f32->f32 with scale bsc  ->  b'[c] = bias[c] * bsc[c]
    oneDNN store_output: v = ((float)acc + b'[c]) * op[c] ; relu: v = max(v, 0)
                         v = v + (float)out_zp     (zero point added in FLOAT, before rounding)
                         y = clamp(cvtps2dq_rne(v), qmin, qmax)"""
    ndim = acc.ndim
    OC = acc.shape[1]
    ws = np.broadcast_to(np.asarray(w_scales, np.float64), (OC,))
    isrc = f32(1.0 / np.float64(act_scale))
    iw = f32(1.0 / ws)
    idst = f32(1.0 / np.float64(out_scale))
    bsc = isrc * iw
    op = idst / bsc
    v = acc.astype(np.float32)
    if bias is not None:
        v = v + _chan(f32(bias) * bsc, OC, ndim).astype(np.float32)
    v = v * _chan(op, OC, ndim).astype(np.float32)
    if relu:
        v = np.maximum(v, F32(0))
    v = v + F32(out_zp)
    qmin, qmax = QRANGE[out_dtype]
    return np.clip(rne(v), qmin, qmax)


# ----------------------------------------------------------------------------
# elementwise ops
# ----------------------------------------------------------------------------
def add_qnnpack(a, a_scale, a_zp, b, b_scale, b_zp, out_scale, out_zp, relu=False):
    """pytorch_qnnp q8vadd (fixed point, PyTorch qnnpack engine, quint8):
      as = (float)a_scale/(float)out_scale, bs likewise (float32)
      shift = 21 - exponent(max(as, bs))   (exponent = unbiased IEEE exponent)
      am = lrintf(as * 2^shift), bm = lrintf(bs * 2^shift)   (exact scaling)
      acc = -(am*a_zp + bm*b_zp) + am*a + bm*b     (int32)
      q = (acc >> shift) + ((acc & mask) - (acc<0) > mask>>1)  -- round half away
      y = clamp(q + out_zp, relu ? out_zp : 0, 255)"""
    as_ = F32(a_scale) / F32(out_scale)
    bs_ = F32(b_scale) / F32(out_scale)
    mx = max(as_, bs_)
    exp = int((np.array(mx, np.float32).view(np.uint32) >> 23)) - 127
    shift = 21 - exp
    am = int(np.rint(np.float64(as_) * 2.0 ** shift))
    bm = int(np.rint(np.float64(bs_) * 2.0 ** shift))
    zpp = -(am * int(a_zp) + bm * int(b_zp))
    acc = zpp + am * np.asarray(a, np.int64) + bm * np.asarray(b, np.int64)
    acc = ((acc + 2**31) % 2**32) - 2**31  # int32 wraparound (never happens in range)
    mask = (1 << shift) - 1
    rem = (acc & mask) - (acc < 0).astype(np.int64)
    q = (acc >> shift) + (rem > (mask >> 1)).astype(np.int64)
    lo = int(out_zp) if relu else 0
    return np.clip(q + int(out_zp), lo, 255)


def add_float(a, a_scale, a_zp, b, b_scale, b_zp, out_scale, out_zp, relu=False,
              dtype="quint8", vec_block=64):
    """ATen qadd_kernel (fbgemm / x86 / onednn engines; every engine when no QNNPACK or
    XNNPACK path applies), via cpu_kernel_vec over the flattened contiguous tensor:
      * elements in whole blocks of vec_block (= 2 * Vectorized<int8>::size(): 64 for
        an AVX2 build, 128 for AVX512) take the SIMD lambda:
            da = fma(scale_a, (float)a, premul_a), premul_a = (float)scale_a * -(float)a_zp
      * the remaining n % vec_block tail elements take the scalar lambda:
            da = (float)scale_a * (float)(a - a_zp)
      c = da + db ; if relu: c = max(c, 0)
      y = clamp(rne(c * (1.0f/(float)out_scale)) + out_zp)      (both paths)
    (single-threaded; with several threads each thread's chunk has its own tail.)
    vec_block=0 gives the all-scalar formula."""
    a = np.asarray(a, np.int64)
    b = np.asarray(b, np.int64)
    fa, fb = a.reshape(-1), b.reshape(-1)
    nb = (fa.size // vec_block) * vec_block if vec_block else 0
    c = np.empty(fa.size, np.float32)
    c[:nb] = dequantize_fma(fa[:nb], a_scale, a_zp) + dequantize_fma(fb[:nb], b_scale, b_zp)
    c[nb:] = dequantize(fa[nb:], a_scale, a_zp) + dequantize(fb[nb:], b_scale, b_zp)
    if relu:
        c = np.maximum(c, F32(0))
    return quantize(c, out_scale, out_zp, dtype).reshape(a.shape)


def relu(q, zp):
    """quantized relu: y = max(q, zp), same scale / zero point."""
    return np.maximum(np.asarray(q, np.int64), int(zp))


def max_pool2d(q, k, stride, padding=(0, 0), dilation=(1, 1)):
    """Integer max over the window; padding positions are ignored (-inf)."""
    q = np.asarray(q, np.int64)
    N, C, H, W = q.shape
    KH, KW = k
    sh, sw = stride
    ph, pw = padding
    dh, dw = dilation
    OH = (H + 2 * ph - dh * (KH - 1) - 1) // sh + 1
    OW = (W + 2 * pw - dw * (KW - 1) - 1) // sw + 1
    big = np.full((N, C, H + 2 * ph, W + 2 * pw), np.iinfo(np.int64).min, np.int64)
    big[:, :, ph:ph + H, pw:pw + W] = q
    out = np.full((N, C, OH, OW), np.iinfo(np.int64).min, np.int64)
    for kh in range(KH):
        for kw in range(KW):
            out = np.maximum(out, big[:, :, kh * dh: kh * dh + sh * (OH - 1) + 1: sh,
                                          kw * dw: kw * dw + sw * (OW - 1) + 1: sw])
    return out


def _pool_windows(H, k, s, p, ceil_mode=False):
    if ceil_mode:
        OH = -(-(H + 2 * p - k) // s) + 1
        if (OH - 1) * s >= H + p:
            OH -= 1
    else:
        OH = (H + 2 * p - k) // s + 1
    res = []
    for o in range(OH):
        hs = o * s - p
        he = min(hs + k, H + p)
        pool = he - hs  # includes padding (count_include_pad)
        res.append((max(hs, 0), min(he, H), pool))
    return res


def avg_pool2d(q, k, stride, padding=(0, 0), count_include_pad=True, divisor_override=None,
               zp=0, dtype="quint8", ceil_mode=False, in_scale=1.0, out_scale=1.0,
               channels_last=False, simd_width=8):
    """Generic ATen quantized avg_pool2d, NCHW-contiguous input (avg_pool2d_out_frame in
    aten/src/ATen/native/quantized/cpu/AveragePool2d.cpp); used by every engine except
    qnnpack+quint8.  Output qparams == input qparams for torch's op:
      acc  = sum over the valid window of q  -  valid_count * zp        (int)
      div  = divisor_override or (count_include_pad ? window clipped to the padded
             input : valid_count)
      mult = (float)((double)(in_scale/out_scale) / div)
      y = clamp(nearbyint( (float)acc * mult + (float)zp ), qmin, qmax)
    NB the zero point is added in FLOAT before rounding (x86-64 baseline, no FMA)."""
    q = np.asarray(q, np.int64)
    N, C, H, W = q.shape
    wh = _pool_windows(H, k[0], stride[0], padding[0], ceil_mode)
    ww = _pool_windows(W, k[1], stride[1], padding[1], ceil_mode)
    qmin, qmax = QRANGE[dtype]
    out = np.zeros((N, C, len(wh), len(ww)), np.int64)
    sf = np.float64(in_scale) / np.float64(out_scale)
    # NHWC kernel when the input is channels-last -- which an NCHW-contiguous tensor with
    # C == 1 or H*W == 1 also is.  Quantized conv outputs are channels-last, so in a real
    # network avg_pool2d after a conv takes this path.
    nhwc = channels_last or (C == 1) or (H * W == 1)
    csimd = (C // simd_width) * simd_width if (channels_last and C > 1 and H * W > 1) else 0
    for i, (h0, h1, ph) in enumerate(wh):
        for j, (w0, w1, pw) in enumerate(ww):
            acc = (q[:, :, h0:h1, w0:w1] - zp).sum(axis=(2, 3))
            if divisor_override:
                size = divisor_override
            elif count_include_pad:
                size = ph * pw
            else:
                size = (h1 - h0) * (w1 - w0)
            if nhwc:
                # qavg_pool2d_nhwc_kernel scalar channel loop: float multiplier, then
                # quantize_val(1.0f/multiplier, zp, acc): inv = 1.0f/(float)(1.0f/m)
                m = (F32(in_scale) / F32(out_scale)) / F32(size)
                inv = F32(1.0) / (F32(1.0) / m)
                mul = np.full(C, inv, np.float32)
                mul[:csimd] = m  # SIMD channel blocks: QuantizeAvx2(acc, m) uses m directly
                out[:, :, i, j] = np.clip(rne(acc.astype(np.float32) * mul[None, :]) + zp, qmin, qmax)
            else:
                mult = f32(sf / size)
                v = acc.astype(np.float32) * mult + F32(zp)
                out[:, :, i, j] = np.clip(rne(v), qmin, qmax)
    return out


def _ada_start(o, out, inn):
    return int(np.floor(F32(o * inn) / F32(out)))


def _ada_end(o, out, inn):
    return int(np.ceil(F32((o + 1) * inn) / F32(out)))


def adaptive_avg_pool2d(q, out_hw, zp=0, dtype="quint8", channels_last=False):
    """Generic ATen quantized adaptive_avg_pool2d (AdaptiveAveragePooling.cpp),
    same qparams in and out.  Window: [floor(o*I/O), ceil((o+1)*I/O)) in float32.
    NCHW path (adaptive_avg_pool_single_out_frame): the zero point never enters:
        r = ((float)(1.0/kD)=1.0f / kH) / kW         (two float divisions)
        y = nearbyint((float)sum(q) * r)             (no clamp needed)
    NHWC path (C == 1 or H*W == 1 makes an NCHW tensor channels-last too;
    _qadaptive_avg_pool_kernel):
        m = ((float)in_s/(float)out_s) / size ; inv = 1.0f/(float)(1.0f/m)
        y = clamp(rne((float)(sum(q) - zp*size) * inv) + zp)"""
    q = np.asarray(q, np.int64)
    N, C, H, W = q.shape
    OH, OW = out_hw
    qmin, qmax = QRANGE[dtype]
    nhwc = channels_last or (C == 1) or (H * W == 1)
    out = np.zeros((N, C, OH, OW), np.int64)
    for i in range(OH):
        h0, h1 = _ada_start(i, OH, H), _ada_end(i, OH, H)
        for j in range(OW):
            w0, w1 = _ada_start(j, OW, W), _ada_end(j, OW, W)
            kh, kw = h1 - h0, w1 - w0
            ssum = q[:, :, h0:h1, w0:w1].sum(axis=(2, 3))
            if nhwc:
                m = F32(1.0) / F32(kh * kw)
                inv = F32(1.0) / (F32(1.0) / m)
                out[:, :, i, j] = np.clip(rne((ssum - zp * kh * kw).astype(np.float32) * inv) + zp, qmin, qmax)
            else:
                r = (F32(1.0) / F32(kh)) / F32(kw)
                out[:, :, i, j] = rne(ssum.astype(np.float32) * r)
    return out


def requantize_float(q, in_scale, in_zp, out_scale, out_zp, dtype="quint8"):
    """Used by cat / ops whose output qparams differ from the input's:
    y = quantize(dequantize(q)) (float path)."""
    return quantize(dequantize(q, in_scale, in_zp), out_scale, out_zp, dtype)


def avg_pool2d_qnnpack(q, k, stride, padding, scale, zp, fixed_point=False):
    """pytorch_qnnp average_pooling_nhwc_q8 (qnnpack engine, quint8, in/out qparams equal):
      padding reads the input zero point, so acc = sum over valid window of (q - zp),
      the divisor is ALWAYS kh*kw (count_include_pad is ignored -- see numerics.md),
      s = (float)in_scale / ((float)out_scale * (float)(kh*kw))      (float32)
      y = clamp(rne((float)acc * s) + zp, 0, 255)    [fp32 requantization]
    fixed_point=True gives the legacy QNNPACK fixed-point variant for comparison."""
    q = np.asarray(q, np.int64)
    N, C, H, W = q.shape
    KH, KW = k
    sh, sw = stride
    ph, pw = padding
    OH = (H + 2 * ph - KH) // sh + 1
    OW = (W + 2 * pw - KW) // sw + 1
    xs = np.zeros((N, C, H + 2 * ph, W + 2 * pw), np.int64)
    xs[:, :, ph:ph + H, pw:pw + W] = q - zp
    acc = np.zeros((N, C, OH, OW), np.int64)
    for kh in range(KH):
        for kw in range(KW):
            acc += xs[:, :, kh: kh + sh * (OH - 1) + 1: sh, kw: kw + sw * (OW - 1) + 1: sw]
    s = F32(scale) / (F32(scale) * F32(KH * KW))
    if not fixed_point:
        return np.clip(rne(acc.astype(np.float32) * s) + zp, 0, 255)
    bits = int(np.array(s, np.float32).view(np.uint32))
    mult = (bits & 0x7FFFFF) | 0x800000
    shift = 127 + 23 - (bits >> 23)
    prod = acc * mult - (acc < 0).astype(np.int64)
    n = (prod + (1 << (shift - 1))) >> shift
    return np.clip(n + zp, 0, 255)


def max_pool2d_qnnpack(q, k, stride, padding=(0, 0), dilation=(1, 1)):
    """qnnpack engine, quint8 max_pool2d (pytorch_qnnp max_pooling_nhwc_u8):
    out-of-range (padding) taps are CLAMPED to the nearest valid row/column
    (edge replication, an indirection-buffer shortcut) instead of being ignored.
    Identical to R.max_pool2d when dilation == 1 (the clamped tap is then inside
    the window anyway); differs when padding > 0 and dilation > 1."""
    q = np.asarray(q, np.int64)
    N, C, H, W = q.shape
    KH, KW = k
    sh, sw = stride
    ph, pw = padding
    dh, dw = dilation
    OH = (H + 2 * ph - dh * (KH - 1) - 1) // sh + 1
    OW = (W + 2 * pw - dw * (KW - 1) - 1) // sw + 1
    out = np.full((N, C, OH, OW), np.iinfo(np.int64).min, np.int64)
    oy = np.arange(OH) * sh - ph
    ox = np.arange(OW) * sw - pw
    for kh in range(KH):
        iy = np.clip(oy + kh * dh, 0, H - 1)
        for kw in range(KW):
            ix = np.clip(ox + kw * dw, 0, W - 1)
            out = np.maximum(out, q[:, :, iy][:, :, :, ix])
    return out


def add_xnnpack_qs8(a, a_scale, a_zp, b, b_scale, b_zp, out_scale, out_zp, relu=False,
                    rounding="half_up"):
    """qnnpack engine + qint8 add: PyTorch routes to XNNPACK xnn_create_add_nd_qs8
    (qadd.cpp xnnp_add).  XNNPACK qs8 vadd, fixed point:
      as = (float)a_scale/(float)out_scale, bs likewise           (float32)
      shift = 20 - exponent(max(as, bs))                           (12..30)
      am = lrintf(as * 2^shift), bm = lrintf(bs * 2^shift)          (exact scaling)
      acc = (1 << (shift-1)) - am*a_zp - bm*b_zp + am*a + bm*b      (int32)
      q = acc >> shift           (arithmetic shift: round half UP, toward +inf)
      y = clamp(q, lo - zp, 127 - zp) + zp,  lo = relu ? zp : -128"""
    as_ = F32(a_scale) / F32(out_scale)
    bs_ = F32(b_scale) / F32(out_scale)
    mx = max(as_, bs_)
    exp = int((np.array(mx, np.float32).view(np.uint32) >> 23)) - 127
    shift = 20 - exp
    am = int(np.rint(np.float64(as_) * 2.0 ** shift))
    bm = int(np.rint(np.float64(bs_) * 2.0 ** shift))
    a = np.asarray(a, np.int64)
    b = np.asarray(b, np.int64)
    acc = -(am * int(a_zp) + bm * int(b_zp)) + am * a + bm * b
    if rounding == "half_up":
        q = (acc + (1 << (shift - 1))) >> shift
    else:  # half away from zero (legacy QNNPACK-style remainder rounding)
        mask = (1 << shift) - 1
        rem = (acc & mask) - (acc < 0).astype(np.int64)
        q = (acc >> shift) + (rem > (mask >> 1)).astype(np.int64)
    lo = int(out_zp) if relu else -128
    return np.clip(q + int(out_zp), lo, 127)


# ----------------------------------------------------------------------------
# TFLite / gemmlowp integer-only requantization (from source; not run here)
# ----------------------------------------------------------------------------
def tflite_quantize_multiplier(real_multiplier):
    """tensorflow/lite/kernels/internal/quantization_util.cc QuantizeMultiplier:
    q, shift = frexp(m) (q in [0.5, 1)); qf = round_half_away(q * 2^31) (double);
    if qf == 2^31: qf /= 2, shift += 1; if shift < -31: shift = 0, qf = 0."""
    if real_multiplier == 0.0:
        return 0, 0
    q, shift = np.frexp(np.float64(real_multiplier))
    qf = int(np.sign(q) * np.floor(abs(q) * 2.0**31 + 0.5))  # std::round
    if qf == 2**31:
        qf //= 2
        shift += 1
    if shift < -31:
        shift, qf = 0, 0
    return qf, int(shift)


def srdhm(a, b):
    """gemmlowp SaturatingRoundingDoublingHighMul (int32): (a*b + nudge) / 2^31 with
    C truncating division, nudge = 2^30 if a*b >= 0 else 1 - 2^30 (=> round half away
    from zero); a == b == INT32_MIN saturates to INT32_MAX."""
    a = np.asarray(a, np.int64)
    b = np.asarray(b, np.int64)
    ab = a * b
    nudge = np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    s = ab + nudge
    q = np.where(s >= 0, s // (1 << 31), -((-s) // (1 << 31)))  # truncate toward zero
    return np.where((a == -(2**31)) & (b == -(2**31)), 2**31 - 1, q)


def rounding_divide_by_pot(x, exponent):
    """gemmlowp RoundingDivideByPOT: arithmetic shift, ties away from zero."""
    x = np.asarray(x, np.int64)
    mask = (1 << exponent) - 1
    rem = x & mask
    thr = (mask >> 1) + (x < 0).astype(np.int64)
    return (x >> exponent) + (rem > thr).astype(np.int64)


def tflite_mbqm(x, qm, shift, single_rounding=False):
    """tflite::MultiplyByQuantizedMultiplier (tensorflow/lite/kernels/internal/common.cc).
    default (double rounding): RDBPOT(SRDHM(x * 2^max(shift,0), qm), max(-shift,0))
    TFLITE_SINGLE_ROUNDING:    (x*qm + 2^(30-shift)) >> (31-shift)   (half up)"""
    x = np.asarray(x, np.int64)
    if single_rounding:
        ts = 31 - shift
        return (x * qm + (1 << (ts - 1))) >> ts
    left = shift if shift > 0 else 0
    right = -shift if shift < 0 else 0
    xs = wrap32(x * (1 << left))
    return rounding_divide_by_pot(srdhm(xs, qm), right)


def tflite_conv_int8_requant(acc, bias_q, in_scale, w_scales, out_scale, out_zp, act_min=-128, act_max=127):
    """reference_integer_ops::ConvPerChannel epilogue: acc = sum w*(x - in_zp) (int32),
    acc += bias_q[c] (int32, scale in_scale*w_scale[c], zp 0), per channel
    (qm, shift) = QuantizeMultiplier((double)in_scale*(double)w_scale[c]/(double)out_scale),
    y = clamp(MBQM(acc, qm, shift) + out_zp, act_min, act_max)."""
    OC = acc.shape[1]
    out = np.empty(acc.shape, np.int64)
    for c in range(OC):
        m = np.float64(F32(in_scale)) * np.float64(F32(w_scales[c])) / np.float64(F32(out_scale))
        qm, sh = tflite_quantize_multiplier(m)
        a = acc[:, c] + (0 if bias_q is None else int(bias_q[c]))
        out[:, c] = np.clip(tflite_mbqm(a, qm, sh) + out_zp, act_min, act_max)
    return out


if __name__ == "__main__":
    # Smoke demo: one accumulator through the three PyTorch epilogues.
    acc = np.array([[[[-40000]], [[12345]], [[0]], [[777]]]], np.int64)  # [1, 4, 1, 1]
    args = dict(act_scale=0.02, w_scales=[0.003, 0.004, 0.005, 0.006], out_scale=0.1, out_zp=128,
                bias=np.array([0.31, -0.77, 1.5, 0.0049], np.float32), per_channel=True)
    print("qnnpack:", requant_qnnpack(acc, **args).ravel())
    print("onednn :", requant_onednn(acc, **args).ravel())
    print("fbgemm :", requant_fbgemm(acc, **args).ravel())
    qm, sh = tflite_quantize_multiplier(0.02 * 0.003 / 0.1)
    print("tflite : multiplier", qm, "shift", sh, "->", tflite_mbqm(np.array([-40000, 12345]), qm, sh))
