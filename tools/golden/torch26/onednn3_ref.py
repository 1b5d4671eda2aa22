#!/usr/bin/python3
# Copy of the qk team's /work/shared/numerics/onednn3_ref.py: numpy reference of PyTorch 2.6's onednn
# engine (oneDNN 3.7.2), verified there with 0 mismatches on 3000 conv cases (pytorch26.md). Copied unchanged
# below this comment so that tools/golden/ does not depend on the shared folder; re-copy, don't edit.
"""Exact numpy reference for PyTorch 2.6's `onednn` engine (ideep 3 + oneDNN 3.7.2), quantized
conv2d[_relu] and linear[_relu], u8 activations, s8 symmetric weights.  See NOTES.md for the
derivation; every step below names the source line it comes from.

    onednn3_ref.py [--alternatives] CASES_DIR [...]   # check oracle-format conv cases (gen.py / gen_conv26.py)

The formula (float32 arithmetic, round-to-nearest-even, no FMA); paths are PyTorch 2.6
(aten/src/ATen/native/quantized/cpu/), ideep (/usr/include/ideep/operators/) and oneDNN v3.7.2 (src/):

    xs' = f32(1.0f / f32(1.0/xs))   qconv.cpp:1262 / qlinear.cpp:821 scale_t(1, 1.0/input_scale) (double -> float);
                                    ideep conv.hpp:150 {1.0f / src_scales_in[0]}, matmul.hpp:981 s = 1.0 / s
    ws' = f32(ws)                   conv: qconv_prepack.cpp:383-384 / 402-403 (IDEEP_PREREQ(3,1,0,1)), passed
                                    unchanged by conv.hpp:162-164
        = f32(1.0f / f32(1.0/ws))   linear: qlinear_prepack.cpp:236 / 246 store 1/ws, matmul.hpp:1030 s = 1.0 / s
    s[o] = f32(xs' * ws'[o])        cpu/scale_utils.cpp:106,142 src_scales[0] * wei_scales[c] (* 1.0f);
                                    x64/jit_avx512_core_scale_precompute.cpp:139 (same product)
    m = f32(1.0f / f32(1.0f / f32(1.0/os)))   qconv.cpp:1264 1.0/output_scale; conv.hpp:168 1.0f / dst_scales_in[0]
                                    (matmul.hpp:1035 dst_coeff / s); cpu/cpu_primitive.hpp:53 1.f / s.
                                    Equals f32(1.0f/os) for every normal float (check_rcp.py, exhaustive)
    v = f32(f32(acc) * s[o])        acc exact int32, src zp compensated in int32 (brgemm/jit_brgemm_kernel.cpp
                                    apply_compensation vpmulld/vpaddd; x8s8s32x_conv_kernel.cpp:306);
                                    jit_brgemm_kernel.cpp:1311-1312 vcvtdq2ps + vmulps(scales)
    v = f32(v + bias[o])            f32 bias, not scaled (conv.hpp:197 f32 bias desc); jit_brgemm_kernel.cpp:1331
    v = max(v, 0)                   relu post-op, jit_brgemm_kernel.cpp:1337
    v = f32(v * m)                  jit_brgemm_kernel.cpp:1347 vmulps(dst_scales)
    v = f32(v + f32(out_zp))        jit_brgemm_kernel.cpp:1357-1384 vcvtdq2ps(zp) + vaddps
    y = rne(clamp(v, 0, 255))       jit_generator.hpp:2093-2130 saturate_f32 (vmaxps 0, vminps 255) + vcvtps2dq
The x8s8s32x, brdgmm and brgemm-post-ops kernels apply the same steps in the same order (NOTES.md 1.2).
Not covered: AMX machines (float zp compensation, NOTES.md 7), accumulators beyond int32.
"""
import json
import os
import sys

import numpy as np

f = np.float32
f64 = np.float64


def rcp2(s):
    """f32(1.0f / f32(1.0 / s)): the double reciprocal a scale goes through on its way to oneDNN.
    (1.0/s in double then cast to float, then a float division; a double division of two floats
    rounded to float is the correctly rounded float quotient, so both steps are exact IEEE ops.)"""
    return (f(1) / np.asarray(1.0 / np.asarray(s, f64), f64).astype(f)).astype(f)


def scales_onednn3(xs, ws, op="conv"):
    """per-output-channel multiplier applied to f32(acc) (oneDNN's precomputed 'oscales')."""
    ws = np.atleast_1d(np.asarray(ws, f64))
    src = rcp2(f(xs))
    wei = rcp2(ws.astype(f)) if op == "linear" else ws.astype(f)
    return (src * wei).astype(f)


def dst_mult(os_):
    """f32(1.f / dst_scale), dst_scale = f32(1.0f / f32(1.0/os)).  Equal to f32(1.0f/os)."""
    return (f(1) / rcp2(f(os_))).astype(f)


def requant_onednn3(acc, xs, ws, os_, oz, bias=None, relu=False, op="conv", chan_axis=1):
    """acc: exact integer accumulator (any int dtype), output channel on chan_axis."""
    acc = np.asarray(acc)
    n = acc.shape[chan_axis]
    shape = [1] * acc.ndim
    shape[chan_axis] = n
    s = np.broadcast_to(scales_onednn3(xs, ws, op), (n,)).reshape(shape)
    v = (acc.astype(f) * s).astype(f)
    if bias is not None:
        v = (v + np.asarray(bias, f).reshape(shape)).astype(f)
    if relu:
        v = np.maximum(v, f(0))
    v = (v * dst_mult(os_)).astype(f)
    v = (v + f(oz)).astype(f)
    return np.rint(np.clip(v, f(0), f(255))).astype(np.int64)


ALTERNATIVES = ("src scale xs (1st candidate)", "conv-style weight scale", "linear-style weight scale",
                "zp after rounding", "divide by os", "combined multiplier", "1.13 onednn formula")


def requant_alternative(acc, xs, ws, os_, oz, bias, relu, op, alt, chan_axis=1):
    """near-miss formulas, to show that the cases discriminate (none of these is what torch does)"""
    acc = np.asarray(acc)
    n = acc.shape[chan_axis]
    shape = [1] * acc.ndim
    shape[chan_axis] = n
    ws = np.broadcast_to(np.atleast_1d(np.asarray(ws, f64)), (n,))
    if alt == "1.13 onednn formula":
        isx, isw, iso = f(1.0 / f64(xs)), (1.0 / ws).astype(f), f(1.0 / f64(os_))
        bsc = (isx * isw).astype(f)
        opm = (iso / bsc).astype(f)
        v = acc.astype(f)
        if bias is not None:
            v = (v + (np.asarray(bias, f) * bsc).reshape(shape)).astype(f)
        v = (v * opm.reshape(shape)).astype(f)
        if relu:
            v = np.maximum(v, f(0))
        return np.rint(np.clip((v + f(oz)).astype(f), 0, 255)).astype(np.int64)
    if alt == "src scale xs (1st candidate)":
        s = (f(xs) * ws.astype(f)).astype(f)
    elif alt == "conv-style weight scale":
        s = scales_onednn3(xs, ws, "conv")
    elif alt == "linear-style weight scale":
        s = scales_onednn3(xs, ws, "linear")
    else:
        s = scales_onednn3(xs, ws, op)
    s = np.broadcast_to(s, (n,)).reshape(shape)
    m = dst_mult(os_)
    if alt == "combined multiplier":
        v = (acc.astype(f) * (s * m).astype(f)).astype(f)
        if bias is not None:
            v = (v + (np.asarray(bias, f) * m).reshape(shape)).astype(f)
    else:
        v = (acc.astype(f) * s).astype(f)
        if bias is not None:
            v = (v + np.asarray(bias, f).reshape(shape)).astype(f)
    if relu:
        v = np.maximum(v, f(0))
    if alt == "combined multiplier":
        pass
    elif alt == "divide by os":
        v = (v / f(os_)).astype(f)
    else:
        v = (v * m).astype(f)
    if alt == "zp after rounding":
        return np.clip(np.rint(np.clip(v, f(-1e9), f(1e9))).astype(np.int64) + oz, 0, 255)
    return np.rint(np.clip((v + f(oz)).astype(f), 0, 255)).astype(np.int64)


def conv_acc(x, w, stride, pad, dil, groups, xz):
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    ph, pw = pad; sh, sw = stride; dh, dw = dil
    xp = np.full((n, c, h + 2 * ph, wd + 2 * pw), xz, np.int64)
    xp[:, :, ph:ph + h, pw:pw + wd] = x
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (wd + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    acc = np.zeros((n, o, oh, ow), np.int64)
    og = o // groups
    for g in range(groups):
        xs = xp[:, g * cg:(g + 1) * cg] - xz
        for i in range(kh):
            for j in range(kw):
                patch = xs[:, :, i * dh:i * dh + sh * (oh - 1) + 1:sh, j * dw:j * dw + sw * (ow - 1) + 1:sw]
                acc[:, g * og:(g + 1) * og] += np.einsum('nchw,oc->nohw', patch, w[g * og:(g + 1) * og, :, i, j].astype(np.int64))
    return acc


def parse(args):
    d = {}
    i = 0
    while i < len(args):
        if args[i].startswith('--'):
            k = args[i][2:]
            if i + 1 < len(args) and not args[i + 1].startswith('--'):
                d[k] = args[i + 1]; i += 2
            else:
                d[k] = True; i += 1
        else:
            i += 1
    return d


def pair(v, default):
    if v is None: return (default, default)
    p = [int(t) for t in str(v).split(',')]
    return (p[0], p[0]) if len(p) == 1 else (p[0], p[1])


def ref(case, alt=None):
    """reference output for one oracle-format conv case directory (alt: a near-miss formula)"""
    a = parse(json.load(open(os.path.join(case, 'args.json'))))
    x = np.load(os.path.join(case, 'x.npy')); w = np.load(os.path.join(case, 'w.npy'))
    assert x.dtype == np.uint8
    xs = f(float(a['input-scale'])); xz = int(a['input-zero-point'])
    os_ = f(float(a['output-scale'])); oz = int(a['output-zero-point'])
    if 'weight-scales' in a:
        ws = np.load(os.path.join(case, a['weight-scales'])).astype(f)
    else:
        ws = np.full(w.shape[0], f(float(a['weight-scale'])), f)
    b = np.load(os.path.join(case, a['bias'])).astype(f) if 'bias' in a else None
    acc = conv_acc(x.astype(np.int64), w, pair(a.get('stride'), 1), pair(a.get('padding'), 0),
                   pair(a.get('dilation'), 1), int(a.get('groups', 1)), xz)
    if alt:
        return requant_alternative(acc, xs, ws, os_, oz, b, bool(a.get('relu')), "conv", alt).astype(x.dtype)
    return requant_onednn3(acc, xs, ws, os_, oz, b, bool(a.get('relu')), "conv").astype(x.dtype)


if __name__ == '__main__':
    from collections import Counter
    tot_ok = tot_bad = 0
    alts = "--alternatives" in sys.argv
    for root in [r for r in sys.argv[1:] if not r.startswith("--")]:
        alt_bad = Counter()
        ok = bad = elems = badel = 0
        impl_ok, impl_bad = Counter(), Counter()
        for c in sorted(os.listdir(root)):
            d = os.path.join(root, c)
            if not os.path.isfile(os.path.join(d, 'expected.npy')): continue
            e = np.load(os.path.join(d, 'expected.npy')); y = ref(d)
            cfg = json.load(open(os.path.join(d, 'config.json')))
            impl = cfg.get('onednn_impl', '?') + (' targeted' if cfg.get('targeted') else '')
            elems += e.size
            if np.array_equal(e, y):
                ok += 1; impl_ok[impl] += 1
            else:
                bad += 1; impl_bad[impl] += 1; badel += int((e != y).sum())
                if bad <= 5: print('FAIL', d, int((e != y).sum()), 'of', e.size)
            if alts:
                for al in ALTERNATIVES:
                    if not np.array_equal(e, ref(d, al)):
                        alt_bad[al + (' (targeted)' if cfg.get('targeted') else ' (random)')] += 1
        print(f'{root}: {ok} passed, {bad} failed; {badel}/{elems} elements differ')
        for k in sorted(set(impl_ok) | set(impl_bad)):
            print(f'   {k:45s} {impl_ok[k]:5d} ok {impl_bad[k]:4d} bad')
        for k in sorted(alt_bad):
            print(f'   alternative "{k}" fails {alt_bad[k]} cases')
        tot_ok += ok; tot_bad += bad
    print(f'total: {tot_ok} passed, {tot_bad} failed')
    sys.exit(1 if tot_bad else 0)
