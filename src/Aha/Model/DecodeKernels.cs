using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Aha.Model;

/// <summary>The vector width the fused decode path computes with; <see cref="DecodeKernels.Best"/> is the widest the CPU has.</summary>
public enum DecodeIsa
{
    /// <summary>System.Runtime.Intrinsics' portable Vector128 (NEON on ARM64, SSE on x86): so no CPU is silently scalar.</summary>
    Portable,
    /// <summary>AVX2 with FMA, 8 floats a vector.</summary>
    Avx2,
    /// <summary>AVX-512F, 16 floats a vector.</summary>
    Avx512,
}

/// <summary>Weight storage of the fused decode path: the model's own fp32 tensors, or a bf16 copy (half the bytes to stream).</summary>
public enum DecodeWeights
{
    Float32,
    BFloat16,
}

/// <summary>
/// The inner loops of the fused decode path: y = x·Wᵀ for a few rows, read straight from row-major weights (fp32, or bf16
/// widened to fp32 by a 16-bit shift: .NET 10 exposes no AVX512-BF16 dot product, and the shift still halves the bytes).
/// </summary>
/// <remarks>
/// Each output y[r, j] is one accumulator chain over k in vector steps, then a fixed horizontal sum, then the scalar tail;
/// the 4×4 and 4×1 tiles form it by the same operations in the same order, so a row's result is bit-identical whatever
/// rows share the call. The sums differ from libtorch's (oneMKL) by float rounding only.
/// </remarks>
internal static unsafe class DecodeKernels
{
    /// <summary>The widest instruction set this CPU runs.</summary>
    public static DecodeIsa Best => Avx512F.IsSupported ? DecodeIsa.Avx512 : Avx2.IsSupported && Fma.IsSupported ? DecodeIsa.Avx2 : DecodeIsa.Portable;

    /// <summary>Every level this CPU can run, narrowest first (what the tests cover).</summary>
    public static IReadOnlyList<DecodeIsa> Available =>
        [DecodeIsa.Portable, .. Avx2.IsSupported && Fma.IsSupported ? [DecodeIsa.Avx2] : Array.Empty<DecodeIsa>(), .. Avx512F.IsSupported ? [DecodeIsa.Avx512] : Array.Empty<DecodeIsa>()];

    /// <summary>
    /// y[r·ldy + j] = Σᵢ x[r·ldx + i]·W[j, i] for rows r &lt; m and weight rows j ∈ [from, to); <paramref name="w"/> is row 0,
    /// rows <paramref name="k"/> elements apart, fp32 or bf16 (<paramref name="bf16"/>).
    /// </summary>
    public static void Gemm(DecodeIsa isa, bool bf16, void* w, int k, float* x, int ldx, int m, float* y, int ldy, int from, int to)
    {
        if (bf16) Gemm<Bf16>(isa, (byte*)w, k, x, ldx, m, y, ldy, from, to);
        else Gemm<F32>(isa, (byte*)w, k, x, ldx, m, y, ldy, from, to);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // tier-0 code would run the first hundreds of calls several times slower
    static void Gemm<TW>(DecodeIsa isa, byte* w, int k, float* x, int ldx, int m, float* y, int ldy, int from, int to) where TW : struct, IWeightRow
    {
        long stride = (long)k * TW.Size;
        for (int j = from; j < to; j += 4)
        {
            int n = Math.Min(4, to - j);
            // Missing weight rows repeat the last real one; their sums are not written.
            byte* w0 = w + j * stride, w1 = w + (j + Math.Min(1, n - 1)) * stride, w2 = w + (j + Math.Min(2, n - 1)) * stride, w3 = w + (j + Math.Min(3, n - 1)) * stride;
            int r = 0;
            for (; r + 4 <= m; r += 4)
            {
                float* xr = x + (long)r * ldx;
                switch (isa)
                {
                    case DecodeIsa.Avx512: Tile4x4Avx512<TW>(w0, w1, w2, w3, xr, ldx, k, y + (long)r * ldy + j, ldy, n); break;
                    case DecodeIsa.Avx2: Tile4x4Avx2<TW>(w0, w1, w2, w3, xr, ldx, k, y + (long)r * ldy + j, ldy, n); break;
                    default: Tile4x4Portable<TW>(w0, w1, w2, w3, xr, ldx, k, y + (long)r * ldy + j, ldy, n); break;
                }
            }
            for (; r < m; r++)
            {
                float* xr = x + (long)r * ldx;
                switch (isa)
                {
                    case DecodeIsa.Avx512: Tile4x1Avx512<TW>(w0, w1, w2, w3, xr, k, y + (long)r * ldy + j, n); break;
                    case DecodeIsa.Avx2: Tile4x1Avx2<TW>(w0, w1, w2, w3, xr, k, y + (long)r * ldy + j, n); break;
                    default: Tile4x1Portable<TW>(w0, w1, w2, w3, xr, k, y + (long)r * ldy + j, n); break;
                }
            }
        }
    }

    // ---- AVX-512: 16 accumulators (4 weight rows × 4 input rows), 8 loads and 16 FMAs per 16 elements of k.

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Tile4x4Avx512<TW>(byte* w0, byte* w1, byte* w2, byte* w3, float* x, int ldx, int k, float* y, int ldy, int n) where TW : struct, IWeightRow
    {
        float* x0 = x, x1 = x + ldx, x2 = x + 2 * ldx, x3 = x + 3 * ldx;
        Vector512<float> a00 = default, a01 = default, a02 = default, a03 = default, a10 = default, a11 = default, a12 = default, a13 = default;
        Vector512<float> a20 = default, a21 = default, a22 = default, a23 = default, a30 = default, a31 = default, a32 = default, a33 = default;
        int i = 0;
        for (; i + 16 <= k; i += 16)
        {
            var v0 = Vector512.Load(x0 + i); var v1 = Vector512.Load(x1 + i); var v2 = Vector512.Load(x2 + i); var v3 = Vector512.Load(x3 + i);
            var u = TW.Load512(w0, i);
            a00 = Avx512F.FusedMultiplyAdd(u, v0, a00); a01 = Avx512F.FusedMultiplyAdd(u, v1, a01); a02 = Avx512F.FusedMultiplyAdd(u, v2, a02); a03 = Avx512F.FusedMultiplyAdd(u, v3, a03);
            u = TW.Load512(w1, i);
            a10 = Avx512F.FusedMultiplyAdd(u, v0, a10); a11 = Avx512F.FusedMultiplyAdd(u, v1, a11); a12 = Avx512F.FusedMultiplyAdd(u, v2, a12); a13 = Avx512F.FusedMultiplyAdd(u, v3, a13);
            u = TW.Load512(w2, i);
            a20 = Avx512F.FusedMultiplyAdd(u, v0, a20); a21 = Avx512F.FusedMultiplyAdd(u, v1, a21); a22 = Avx512F.FusedMultiplyAdd(u, v2, a22); a23 = Avx512F.FusedMultiplyAdd(u, v3, a23);
            u = TW.Load512(w3, i);
            a30 = Avx512F.FusedMultiplyAdd(u, v0, a30); a31 = Avx512F.FusedMultiplyAdd(u, v1, a31); a32 = Avx512F.FusedMultiplyAdd(u, v2, a32); a33 = Avx512F.FusedMultiplyAdd(u, v3, a33);
        }
        Store<TW>(y, ldy, n, i, k, w0, w1, w2, w3, x0, x1, x2, x3,
            Vector512.Sum(a00), Vector512.Sum(a01), Vector512.Sum(a02), Vector512.Sum(a03), Vector512.Sum(a10), Vector512.Sum(a11), Vector512.Sum(a12), Vector512.Sum(a13),
            Vector512.Sum(a20), Vector512.Sum(a21), Vector512.Sum(a22), Vector512.Sum(a23), Vector512.Sum(a30), Vector512.Sum(a31), Vector512.Sum(a32), Vector512.Sum(a33));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Tile4x1Avx512<TW>(byte* w0, byte* w1, byte* w2, byte* w3, float* x, int k, float* y, int n) where TW : struct, IWeightRow
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        int i = 0;
        for (; i + 16 <= k; i += 16)
        {
            var v = Vector512.Load(x + i);
            a0 = Avx512F.FusedMultiplyAdd(TW.Load512(w0, i), v, a0);
            a1 = Avx512F.FusedMultiplyAdd(TW.Load512(w1, i), v, a1);
            a2 = Avx512F.FusedMultiplyAdd(TW.Load512(w2, i), v, a2);
            a3 = Avx512F.FusedMultiplyAdd(TW.Load512(w3, i), v, a3);
        }
        Store1<TW>(y, n, i, k, w0, w1, w2, w3, x, Vector512.Sum(a0), Vector512.Sum(a1), Vector512.Sum(a2), Vector512.Sum(a3));
    }

    // ---- AVX2: 4 weight rows × 2 input rows per pass (16 ymm registers), the 4×4 tile as two passes.

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Tile4x4Avx2<TW>(byte* w0, byte* w1, byte* w2, byte* w3, float* x, int ldx, int k, float* y, int ldy, int n) where TW : struct, IWeightRow
    {
        Tile4x2Avx2<TW>(w0, w1, w2, w3, x, ldx, k, y, ldy, n);
        Tile4x2Avx2<TW>(w0, w1, w2, w3, x + 2 * ldx, ldx, k, y + 2 * ldy, ldy, n);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Tile4x2Avx2<TW>(byte* w0, byte* w1, byte* w2, byte* w3, float* x, int ldx, int k, float* y, int ldy, int n) where TW : struct, IWeightRow
    {
        float* x0 = x, x1 = x + ldx;
        Vector256<float> a00 = default, a01 = default, a10 = default, a11 = default, a20 = default, a21 = default, a30 = default, a31 = default;
        int i = 0;
        for (; i + 8 <= k; i += 8)
        {
            var v0 = Avx.LoadVector256(x0 + i); var v1 = Avx.LoadVector256(x1 + i);
            var u = TW.Load256(w0, i); a00 = Fma.MultiplyAdd(u, v0, a00); a01 = Fma.MultiplyAdd(u, v1, a01);
            u = TW.Load256(w1, i); a10 = Fma.MultiplyAdd(u, v0, a10); a11 = Fma.MultiplyAdd(u, v1, a11);
            u = TW.Load256(w2, i); a20 = Fma.MultiplyAdd(u, v0, a20); a21 = Fma.MultiplyAdd(u, v1, a21);
            u = TW.Load256(w3, i); a30 = Fma.MultiplyAdd(u, v0, a30); a31 = Fma.MultiplyAdd(u, v1, a31);
        }
        Store1<TW>(y, n, i, k, w0, w1, w2, w3, x0, Vector256.Sum(a00), Vector256.Sum(a10), Vector256.Sum(a20), Vector256.Sum(a30));
        Store1<TW>(y + ldy, n, i, k, w0, w1, w2, w3, x1, Vector256.Sum(a01), Vector256.Sum(a11), Vector256.Sum(a21), Vector256.Sum(a31));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Tile4x1Avx2<TW>(byte* w0, byte* w1, byte* w2, byte* w3, float* x, int k, float* y, int n) where TW : struct, IWeightRow
    {
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        int i = 0;
        for (; i + 8 <= k; i += 8)
        {
            var v = Avx.LoadVector256(x + i);
            a0 = Fma.MultiplyAdd(TW.Load256(w0, i), v, a0);
            a1 = Fma.MultiplyAdd(TW.Load256(w1, i), v, a1);
            a2 = Fma.MultiplyAdd(TW.Load256(w2, i), v, a2);
            a3 = Fma.MultiplyAdd(TW.Load256(w3, i), v, a3);
        }
        Store1<TW>(y, n, i, k, w0, w1, w2, w3, x, Vector256.Sum(a0), Vector256.Sum(a1), Vector256.Sum(a2), Vector256.Sum(a3));
    }

    // ---- Portable Vector128: the same shape as AVX2's, 4 floats a vector.

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Tile4x4Portable<TW>(byte* w0, byte* w1, byte* w2, byte* w3, float* x, int ldx, int k, float* y, int ldy, int n) where TW : struct, IWeightRow
    {
        for (int r = 0; r < 4; r++) Tile4x1Portable<TW>(w0, w1, w2, w3, x + r * ldx, k, y + r * ldy, n);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Tile4x1Portable<TW>(byte* w0, byte* w1, byte* w2, byte* w3, float* x, int k, float* y, int n) where TW : struct, IWeightRow
    {
        Vector128<float> a0 = default, a1 = default, a2 = default, a3 = default;
        int i = 0;
        for (; i + 4 <= k; i += 4)
        {
            var v = Vector128.Load(x + i);
            a0 = Vector128.FusedMultiplyAdd(TW.Load128(w0, i), v, a0);
            a1 = Vector128.FusedMultiplyAdd(TW.Load128(w1, i), v, a1);
            a2 = Vector128.FusedMultiplyAdd(TW.Load128(w2, i), v, a2);
            a3 = Vector128.FusedMultiplyAdd(TW.Load128(w3, i), v, a3);
        }
        Store1<TW>(y, n, i, k, w0, w1, w2, w3, x, Vector128.Sum(a0), Vector128.Sum(a1), Vector128.Sum(a2), Vector128.Sum(a3));
    }

    // ---- Tails and stores: the scalar remainder of k, added after the vector sum, in one place for every tile.

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Store1<TW>(float* y, int n, int i, int k, byte* w0, byte* w1, byte* w2, byte* w3, float* x, float s0, float s1, float s2, float s3) where TW : struct, IWeightRow
    {
        for (; i < k; i++)
        {
            float v = x[i];
            s0 += TW.At(w0, i) * v; s1 += TW.At(w1, i) * v; s2 += TW.At(w2, i) * v; s3 += TW.At(w3, i) * v;
        }
        y[0] = s0;
        if (n > 1) y[1] = s1;
        if (n > 2) y[2] = s2;
        if (n > 3) y[3] = s3;
    }

    static void Store<TW>(float* y, int ldy, int n, int i, int k, byte* w0, byte* w1, byte* w2, byte* w3, float* x0, float* x1, float* x2, float* x3,
        float s00, float s01, float s02, float s03, float s10, float s11, float s12, float s13,
        float s20, float s21, float s22, float s23, float s30, float s31, float s32, float s33) where TW : struct, IWeightRow
    {
        Store1<TW>(y, n, i, k, w0, w1, w2, w3, x0, s00, s10, s20, s30);
        Store1<TW>(y + ldy, n, i, k, w0, w1, w2, w3, x1, s01, s11, s21, s31);
        Store1<TW>(y + 2 * ldy, n, i, k, w0, w1, w2, w3, x2, s02, s12, s22, s32);
        Store1<TW>(y + 3 * ldy, n, i, k, w0, w1, w2, w3, x3, s03, s13, s23, s33);
    }

    // ---- Small vector helpers for attention and the elementwise steps.

    /// <summary>Σ a[i]·b[i] over n floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Dot(DecodeIsa isa, float* a, float* b, int n)
    {
        int i = 0;
        float sum;
        if (isa == DecodeIsa.Avx512)
        {
            var s = Vector512<float>.Zero;
            for (; i + 16 <= n; i += 16) s = Avx512F.FusedMultiplyAdd(Vector512.Load(a + i), Vector512.Load(b + i), s);
            sum = Vector512.Sum(s);
        }
        else if (isa == DecodeIsa.Avx2)
        {
            var s = Vector256<float>.Zero;
            for (; i + 8 <= n; i += 8) s = Fma.MultiplyAdd(Avx.LoadVector256(a + i), Avx.LoadVector256(b + i), s);
            sum = Vector256.Sum(s);
        }
        else
        {
            var s = Vector128<float>.Zero;
            for (; i + 4 <= n; i += 4) s = Vector128.FusedMultiplyAdd(Vector128.Load(a + i), Vector128.Load(b + i), s);
            sum = Vector128.Sum(s);
        }
        for (; i < n; i++) sum += a[i] * b[i];
        return sum;
    }

    /// <summary>y[i] += a·x[i] over n floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Axpy(DecodeIsa isa, float a, float* x, float* y, int n)
    {
        int i = 0;
        if (isa == DecodeIsa.Avx512)
        {
            var va = Vector512.Create(a);
            for (; i + 16 <= n; i += 16) Vector512.Store(Avx512F.FusedMultiplyAdd(va, Vector512.Load(x + i), Vector512.Load(y + i)), y + i);
        }
        else if (isa == DecodeIsa.Avx2)
        {
            var va = Vector256.Create(a);
            for (; i + 8 <= n; i += 8) Avx.Store(y + i, Fma.MultiplyAdd(va, Avx.LoadVector256(x + i), Avx.LoadVector256(y + i)));
        }
        else
        {
            var va = Vector128.Create(a);
            for (; i + 4 <= n; i += 4) Vector128.Store(Vector128.FusedMultiplyAdd(va, Vector128.Load(x + i), Vector128.Load(y + i)), y + i);
        }
        for (; i < n; i++) y[i] += a * x[i];
    }

    /// <summary>x[i] = exp(x[i]) over n floats, returns their sum (softmax's denominator).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float ExpInPlace(DecodeIsa isa, float* x, int n, float shift)
    {
        int i = 0;
        float sum = 0;
        if (isa == DecodeIsa.Avx512)
        {
            var s = Vector512<float>.Zero;
            var vs = Vector512.Create(shift);
            for (; i + 16 <= n; i += 16)
            {
                var e = Vector512.Exp(Vector512.Load(x + i) - vs);
                e.Store(x + i);
                s += e;
            }
            sum = Vector512.Sum(s);
        }
        else if (isa == DecodeIsa.Avx2)
        {
            var s = Vector256<float>.Zero;
            var vs = Vector256.Create(shift);
            for (; i + 8 <= n; i += 8)
            {
                var e = Vector256.Exp(Vector256.Load(x + i) - vs);
                e.Store(x + i);
                s += e;
            }
            sum = Vector256.Sum(s);
        }
        else
        {
            var s = Vector128<float>.Zero;
            var vs = Vector128.Create(shift);
            for (; i + 4 <= n; i += 4)
            {
                var e = Vector128.Exp(Vector128.Load(x + i) - vs);
                e.Store(x + i);
                s += e;
            }
            sum = Vector128.Sum(s);
        }
        for (; i < n; i++)
        {
            x[i] = MathF.Exp(x[i] - shift);
            sum += x[i];
        }
        return sum;
    }

    /// <summary>Rounds fp32 to bf16 (round to nearest even, as torch's <c>to(bfloat16)</c>).</summary>
    public static ushort ToBf16(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value)) return (ushort)((bits >> 16) | 0x40);
        return (ushort)((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16);
    }

    /// <summary>How a weight row's elements are read: fp32 as they are, bf16 widened by a 16-bit shift.</summary>
    internal interface IWeightRow
    {
        static abstract int Size { get; }
        static abstract Vector512<float> Load512(byte* row, int i);
        static abstract Vector256<float> Load256(byte* row, int i);
        static abstract Vector128<float> Load128(byte* row, int i);
        static abstract float At(byte* row, int i);
    }

    internal struct F32 : IWeightRow
    {
        public static int Size => 4;
        public static Vector512<float> Load512(byte* row, int i) => Vector512.Load((float*)row + i);
        public static Vector256<float> Load256(byte* row, int i) => Vector256.Load((float*)row + i);
        public static Vector128<float> Load128(byte* row, int i) => Vector128.Load((float*)row + i);
        public static float At(byte* row, int i) => ((float*)row)[i];
    }

    internal struct Bf16 : IWeightRow
    {
        public static int Size => 2;
        public static Vector512<float> Load512(byte* row, int i) =>
            Avx512F.ShiftLeftLogical(Avx512F.ConvertToVector512UInt32(Vector256.Load((ushort*)row + i)), 16).AsSingle();
        public static Vector256<float> Load256(byte* row, int i) =>
            Avx2.ShiftLeftLogical(Avx2.ConvertToVector256Int32(Vector128.Load((ushort*)row + i)), 16).AsSingle();
        public static Vector128<float> Load128(byte* row, int i) =>
            Vector128.ShiftLeft(Vector128.WidenLower(Vector128.Create(Vector64.Load((ushort*)row + i), Vector64<ushort>.Zero)), 16).AsSingle();
        public static float At(byte* row, int i) => BitConverter.UInt32BitsToSingle((uint)((ushort*)row)[i] << 16);
    }
}
