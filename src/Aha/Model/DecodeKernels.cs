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
/// A projection's weights as stacked row ranges (Q, K, V or gate, up: separate tensors, or blocks of the fused path's bf16
/// copy) computed as one y = x·Wᵀ for a few rows of x, the weight rows split over the spin workers.
/// </summary>
internal sealed unsafe class Projection(nint[] blocks, int[] rows)
{
    public int Rows { get; } = rows.Sum();

    /// <summary>All rows: y[r·ldy + j] for j &lt; <see cref="Rows"/>, over up to <paramref name="parts"/> threads.</summary>
    public void Run(DecodeIsa isa, bool bf16, int k, float* x, int m, float* y, int ldy, int parts)
    {
        int n = Rows, tiles = (n + 3) / 4;
        parts = Math.Clamp(parts, 1, Math.Max(1, n / 64)); // a part under 64 rows is not worth a thread
        int per = (tiles + parts - 1) / parts * 4;
        if (parts == 1) Range(isa, bf16, k, x, m, y, ldy, 0, n);
        else SpinWorkers.Run(parts, part => Range(isa, bf16, k, x, m, y, ldy, Math.Min(n, part * per), Math.Min(n, (part + 1) * per)));
    }

    // Weight rows [from, to) of the stack.
    void Range(DecodeIsa isa, bool bf16, int k, float* x, int m, float* y, int ldy, int from, int to)
    {
        long elementSize = bf16 ? 2 : 4;
        for (int b = 0, offset = 0; b < rows.Length && offset < to; offset += rows[b++])
        {
            int a = Math.Max(from, offset), e = Math.Min(to, offset + rows[b]);
            if (a < e) DecodeKernels.Gemm(isa, bf16, (byte*)blocks[b] + (a - offset) * (long)k * elementSize, k, x, k, m, y + a, ldy, 0, e - a);
        }
    }
}

/// <summary>
/// The inner loops of the fused decode path: y = x·Wᵀ for a few rows, read straight from row-major weights (fp32, or bf16
/// widened to fp32 by a 16-bit shift: .NET 10 exposes no AVX512-BF16 dot product, and the shift still halves the bytes).
/// </summary>
/// <remarks>
/// Each output y[r, j] is one accumulator chain over k in vector steps, then a fixed horizontal sum (<c>Reduce4</c>), then
/// the scalar tail; the 4×4 and 4×1 tiles form it by the same operations in the same order, so a row's result is
/// bit-identical whatever rows share the call. The first pass over a tile prefetches the weights 16 KB ahead. The sums
/// differ from libtorch's (oneMKL) by float rounding only.
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

    /// <summary>How far ahead of the tile being computed the weights are prefetched: at batch 1 the hardware prefetcher alone
    /// left each 4-row tile's short streams waiting on memory (22 GB/s on one core; 37–40 GB/s with this; dev/log/decode.md).</summary>
    const int PrefetchBytes = 16384;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // tier-0 code would run the first hundreds of calls several times slower
    static void Gemm<TW>(DecodeIsa isa, byte* w, int k, float* x, int ldx, int m, float* y, int ldy, int from, int to) where TW : struct, IWeightRow
    {
        long stride = (long)k * TW.Size;
        for (int j = from; j < to; j += 4)
        {
            int n = Math.Min(4, to - j);
            // Missing weight rows repeat the last real one; their sums are not written.
            byte* w0 = w + j * stride, w1 = w + (j + Math.Min(1, n - 1)) * stride, w2 = w + (j + Math.Min(2, n - 1)) * stride, w3 = w + (j + Math.Min(3, n - 1)) * stride;
            // The tile's rows are contiguous, so the next tiles are too: the first pass over this tile prefetches ahead
            // (past the last tile it touches memory it never reads, which a prefetch may).
            byte* ahead = w0 + PrefetchBytes;
            int r = 0;
            for (; r + 4 <= m; r += 4, ahead = null)
            {
                float* xr = x + (long)r * ldx;
                switch (isa)
                {
                    case DecodeIsa.Avx512: Tile4x4Avx512<TW>(w0, w1, w2, w3, xr, ldx, k, y + (long)r * ldy + j, ldy, n, ahead); break;
                    case DecodeIsa.Avx2: Tile4x4Avx2<TW>(w0, w1, w2, w3, xr, ldx, k, y + (long)r * ldy + j, ldy, n, ahead); break;
                    default: Tile4x4Portable<TW>(w0, w1, w2, w3, xr, ldx, k, y + (long)r * ldy + j, ldy, n, ahead); break;
                }
            }
            for (; r < m; r++, ahead = null)
            {
                float* xr = x + (long)r * ldx;
                switch (isa)
                {
                    case DecodeIsa.Avx512: Tile4x1Avx512<TW>(w0, w1, w2, w3, xr, k, y + (long)r * ldy + j, n, ahead); break;
                    case DecodeIsa.Avx2: Tile4x1Avx2<TW>(w0, w1, w2, w3, xr, k, y + (long)r * ldy + j, n, ahead); break;
                    default: Tile4x1Portable<TW>(w0, w1, w2, w3, xr, k, y + (long)r * ldy + j, n, ahead); break;
                }
            }
        }
    }

    /// <summary>Prefetches the <paramref name="bytes"/> of the tile <see cref="PrefetchBytes"/> ahead that match this step of k.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Prefetch(byte* ahead, long offset, int bytes)
    {
        if (ahead is null || !Sse.IsSupported) return; // ARM64: no prefetch intrinsic in .NET; its hardware prefetcher alone
        for (int b = 0; b < bytes; b += 64) Sse.Prefetch0(ahead + offset + b);
    }

    // ---- AVX-512: 16 accumulators (4 weight rows × 4 input rows), 8 loads and 16 FMAs per 16 elements of k.

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Tile4x4Avx512<TW>(byte* w0, byte* w1, byte* w2, byte* w3, float* x, int ldx, int k, float* y, int ldy, int n, byte* ahead) where TW : struct, IWeightRow
    {
        float* x0 = x, x1 = x + ldx, x2 = x + 2 * ldx, x3 = x + 3 * ldx;
        Vector512<float> a00 = default, a01 = default, a02 = default, a03 = default, a10 = default, a11 = default, a12 = default, a13 = default;
        Vector512<float> a20 = default, a21 = default, a22 = default, a23 = default, a30 = default, a31 = default, a32 = default, a33 = default;
        int i = 0;
        for (; i + 16 <= k; i += 16)
        {
            Prefetch(ahead, 4L * i * TW.Size, 64 * TW.Size);
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
        Store1<TW>(y, n, i, k, w0, w1, w2, w3, x0, Reduce4(a00, a10, a20, a30));
        Store1<TW>(y + ldy, n, i, k, w0, w1, w2, w3, x1, Reduce4(a01, a11, a21, a31));
        Store1<TW>(y + 2 * ldy, n, i, k, w0, w1, w2, w3, x2, Reduce4(a02, a12, a22, a32));
        Store1<TW>(y + 3 * ldy, n, i, k, w0, w1, w2, w3, x3, Reduce4(a03, a13, a23, a33));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Tile4x1Avx512<TW>(byte* w0, byte* w1, byte* w2, byte* w3, float* x, int k, float* y, int n, byte* ahead) where TW : struct, IWeightRow
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        int i = 0;
        for (; i + 16 <= k; i += 16)
        {
            Prefetch(ahead, 4L * i * TW.Size, 64 * TW.Size);
            var v = Vector512.Load(x + i);
            a0 = Avx512F.FusedMultiplyAdd(TW.Load512(w0, i), v, a0);
            a1 = Avx512F.FusedMultiplyAdd(TW.Load512(w1, i), v, a1);
            a2 = Avx512F.FusedMultiplyAdd(TW.Load512(w2, i), v, a2);
            a3 = Avx512F.FusedMultiplyAdd(TW.Load512(w3, i), v, a3);
        }
        Store1<TW>(y, n, i, k, w0, w1, w2, w3, x, Reduce4(a0, a1, a2, a3));
    }

    // ---- AVX2: 4 weight rows × 2 input rows per pass (16 ymm registers), the 4×4 tile as two passes.

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Tile4x4Avx2<TW>(byte* w0, byte* w1, byte* w2, byte* w3, float* x, int ldx, int k, float* y, int ldy, int n, byte* ahead) where TW : struct, IWeightRow
    {
        Tile4x2Avx2<TW>(w0, w1, w2, w3, x, ldx, k, y, ldy, n, ahead);
        Tile4x2Avx2<TW>(w0, w1, w2, w3, x + 2 * ldx, ldx, k, y + 2 * ldy, ldy, n, null);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Tile4x2Avx2<TW>(byte* w0, byte* w1, byte* w2, byte* w3, float* x, int ldx, int k, float* y, int ldy, int n, byte* ahead) where TW : struct, IWeightRow
    {
        float* x0 = x, x1 = x + ldx;
        Vector256<float> a00 = default, a01 = default, a10 = default, a11 = default, a20 = default, a21 = default, a30 = default, a31 = default;
        int i = 0;
        for (; i + 8 <= k; i += 8)
        {
            Prefetch(ahead, 4L * i * TW.Size, 32 * TW.Size);
            var v0 = Avx.LoadVector256(x0 + i); var v1 = Avx.LoadVector256(x1 + i);
            var u = TW.Load256(w0, i); a00 = Fma.MultiplyAdd(u, v0, a00); a01 = Fma.MultiplyAdd(u, v1, a01);
            u = TW.Load256(w1, i); a10 = Fma.MultiplyAdd(u, v0, a10); a11 = Fma.MultiplyAdd(u, v1, a11);
            u = TW.Load256(w2, i); a20 = Fma.MultiplyAdd(u, v0, a20); a21 = Fma.MultiplyAdd(u, v1, a21);
            u = TW.Load256(w3, i); a30 = Fma.MultiplyAdd(u, v0, a30); a31 = Fma.MultiplyAdd(u, v1, a31);
        }
        Store1<TW>(y, n, i, k, w0, w1, w2, w3, x0, Reduce4(a00, a10, a20, a30));
        Store1<TW>(y + ldy, n, i, k, w0, w1, w2, w3, x1, Reduce4(a01, a11, a21, a31));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Tile4x1Avx2<TW>(byte* w0, byte* w1, byte* w2, byte* w3, float* x, int k, float* y, int n, byte* ahead) where TW : struct, IWeightRow
    {
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        int i = 0;
        for (; i + 8 <= k; i += 8)
        {
            Prefetch(ahead, 4L * i * TW.Size, 32 * TW.Size);
            var v = Avx.LoadVector256(x + i);
            a0 = Fma.MultiplyAdd(TW.Load256(w0, i), v, a0);
            a1 = Fma.MultiplyAdd(TW.Load256(w1, i), v, a1);
            a2 = Fma.MultiplyAdd(TW.Load256(w2, i), v, a2);
            a3 = Fma.MultiplyAdd(TW.Load256(w3, i), v, a3);
        }
        Store1<TW>(y, n, i, k, w0, w1, w2, w3, x, Reduce4(a0, a1, a2, a3));
    }

    // ---- Portable Vector128: the same shape as AVX2's, 4 floats a vector.

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Tile4x4Portable<TW>(byte* w0, byte* w1, byte* w2, byte* w3, float* x, int ldx, int k, float* y, int ldy, int n, byte* ahead) where TW : struct, IWeightRow
    {
        for (int r = 0; r < 4; r++) Tile4x1Portable<TW>(w0, w1, w2, w3, x + r * ldx, k, y + r * ldy, n, r == 0 ? ahead : null);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Tile4x1Portable<TW>(byte* w0, byte* w1, byte* w2, byte* w3, float* x, int k, float* y, int n, byte* ahead) where TW : struct, IWeightRow
    {
        Vector128<float> a0 = default, a1 = default, a2 = default, a3 = default;
        int i = 0;
        for (; i + 4 <= k; i += 4)
        {
            if ((i & 15) == 0) Prefetch(ahead, 4L * i * TW.Size, 64 * TW.Size);
            var v = Vector128.Load(x + i);
            a0 = Vector128.FusedMultiplyAdd(TW.Load128(w0, i), v, a0);
            a1 = Vector128.FusedMultiplyAdd(TW.Load128(w1, i), v, a1);
            a2 = Vector128.FusedMultiplyAdd(TW.Load128(w2, i), v, a2);
            a3 = Vector128.FusedMultiplyAdd(TW.Load128(w3, i), v, a3);
        }
        Store1<TW>(y, n, i, k, w0, w1, w2, w3, x, Vector128.Create(Vector128.Sum(a0), Vector128.Sum(a1), Vector128.Sum(a2), Vector128.Sum(a3)));
    }

    // ---- Horizontal sums, tails and stores, in one place for every tile.

    /// <summary>The four accumulators' horizontal sums by one fixed tree (halves, then pairs), whichever tile calls it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector128<float> Reduce4(Vector512<float> a, Vector512<float> b, Vector512<float> c, Vector512<float> d) =>
        Reduce4(a.GetLower() + a.GetUpper(), b.GetLower() + b.GetUpper(), c.GetLower() + c.GetUpper(), d.GetLower() + d.GetUpper());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector128<float> Reduce4(Vector256<float> a, Vector256<float> b, Vector256<float> c, Vector256<float> d) =>
        Sse3.HorizontalAdd(Sse3.HorizontalAdd(a.GetLower() + a.GetUpper(), b.GetLower() + b.GetUpper()),
                           Sse3.HorizontalAdd(c.GetLower() + c.GetUpper(), d.GetLower() + d.GetUpper()));

    /// <summary>Adds the scalar remainder of k to the four sums and writes the <paramref name="n"/> real ones.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Store1<TW>(float* y, int n, int i, int k, byte* w0, byte* w1, byte* w2, byte* w3, float* x, Vector128<float> sums) where TW : struct, IWeightRow
    {
        float s0 = sums.GetElement(0), s1 = sums.GetElement(1), s2 = sums.GetElement(2), s3 = sums.GetElement(3);
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

    // ---- Small vector helpers for attention and the elementwise steps.

    /// <summary>y[i] = scale·Σⱼ w[j]·v[j·d + i] for i &lt; d (attention's weighted sum of values; zero weights are skipped).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void WeightedSum(DecodeIsa isa, float* w, float* v, int n, int d, float* y, float scale)
    {
        int i = 0;
        if (isa == DecodeIsa.Avx512)
        {
            for (; i + 64 <= d; i += 64)
            {
                Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
                for (int j = 0; j < n; j++)
                {
                    if (w[j] == 0) continue;
                    var s = Vector512.Create(w[j]);
                    float* row = v + (long)j * d + i;
                    a0 = Avx512F.FusedMultiplyAdd(Vector512.Load(row), s, a0); a1 = Avx512F.FusedMultiplyAdd(Vector512.Load(row + 16), s, a1);
                    a2 = Avx512F.FusedMultiplyAdd(Vector512.Load(row + 32), s, a2); a3 = Avx512F.FusedMultiplyAdd(Vector512.Load(row + 48), s, a3);
                }
                var c = Vector512.Create(scale);
                (a0 * c).Store(y + i); (a1 * c).Store(y + i + 16); (a2 * c).Store(y + i + 32); (a3 * c).Store(y + i + 48);
            }
            for (; i + 16 <= d; i += 16)
            {
                var a = Vector512<float>.Zero;
                for (int j = 0; j < n; j++) if (w[j] != 0) a = Avx512F.FusedMultiplyAdd(Vector512.Load(v + (long)j * d + i), Vector512.Create(w[j]), a);
                (a * Vector512.Create(scale)).Store(y + i);
            }
        }
        else if (isa == DecodeIsa.Avx2)
        {
            for (; i + 32 <= d; i += 32)
            {
                Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
                for (int j = 0; j < n; j++)
                {
                    if (w[j] == 0) continue;
                    var s = Vector256.Create(w[j]);
                    float* row = v + (long)j * d + i;
                    a0 = Fma.MultiplyAdd(Vector256.Load(row), s, a0); a1 = Fma.MultiplyAdd(Vector256.Load(row + 8), s, a1);
                    a2 = Fma.MultiplyAdd(Vector256.Load(row + 16), s, a2); a3 = Fma.MultiplyAdd(Vector256.Load(row + 24), s, a3);
                }
                var c = Vector256.Create(scale);
                (a0 * c).Store(y + i); (a1 * c).Store(y + i + 8); (a2 * c).Store(y + i + 16); (a3 * c).Store(y + i + 24);
            }
            for (; i + 8 <= d; i += 8)
            {
                var a = Vector256<float>.Zero;
                for (int j = 0; j < n; j++) if (w[j] != 0) a = Fma.MultiplyAdd(Vector256.Load(v + (long)j * d + i), Vector256.Create(w[j]), a);
                (a * Vector256.Create(scale)).Store(y + i);
            }
        }
        else
        {
            for (; i + 4 <= d; i += 4)
            {
                var a = Vector128<float>.Zero;
                for (int j = 0; j < n; j++) if (w[j] != 0) a = Vector128.FusedMultiplyAdd(Vector128.Load(v + (long)j * d + i), Vector128.Create(w[j]), a);
                (a * Vector128.Create(scale)).Store(y + i);
            }
        }
        for (; i < d; i++)
        {
            float a = 0;
            for (int j = 0; j < n; j++) if (w[j] != 0) a += w[j] * v[(long)j * d + i];
            y[i] = a * scale;
        }
    }

    /// <summary>
    /// x[j] = x[j]·<paramref name="scale"/> where <paramref name="masked"/>[j] is 0, else masked[j] (−∞); returns the largest
    /// x[j]: attention scores scaled, masked and ready for <see cref="ExpInPlace"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float ScaleMaskMax(DecodeIsa isa, float* x, float* masked, int n, float scale)
    {
        int i = 0;
        float max = float.NegativeInfinity;
        if (isa == DecodeIsa.Avx512)
        {
            Vector512<float> top = Vector512.Create(float.NegativeInfinity), c = Vector512.Create(scale);
            for (; i + 16 <= n; i += 16)
            {
                var m = Vector512.Load(masked + i);
                var v = Vector512.ConditionalSelect(Vector512.Equals(m, Vector512<float>.Zero), Vector512.Load(x + i) * c, m);
                v.Store(x + i);
                top = Vector512.Max(top, v);
            }
            for (int l = 0; l < 16; l++) max = MathF.Max(max, top.GetElement(l));
        }
        else if (isa == DecodeIsa.Avx2)
        {
            Vector256<float> top = Vector256.Create(float.NegativeInfinity), c = Vector256.Create(scale);
            for (; i + 8 <= n; i += 8)
            {
                var m = Vector256.Load(masked + i);
                var v = Vector256.ConditionalSelect(Vector256.Equals(m, Vector256<float>.Zero), Vector256.Load(x + i) * c, m);
                v.Store(x + i);
                top = Vector256.Max(top, v);
            }
            for (int l = 0; l < 8; l++) max = MathF.Max(max, top.GetElement(l));
        }
        else
        {
            Vector128<float> top = Vector128.Create(float.NegativeInfinity), c = Vector128.Create(scale);
            for (; i + 4 <= n; i += 4)
            {
                var m = Vector128.Load(masked + i);
                var v = Vector128.ConditionalSelect(Vector128.Equals(m, Vector128<float>.Zero), Vector128.Load(x + i) * c, m);
                v.Store(x + i);
                top = Vector128.Max(top, v);
            }
            for (int l = 0; l < 4; l++) max = MathF.Max(max, top.GetElement(l));
        }
        for (; i < n; i++)
        {
            x[i] = masked[i] == 0 ? x[i] * scale : masked[i];
            max = MathF.Max(max, x[i]);
        }
        return max;
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

    /// <summary>h[i] = silu(g[i])·u[i] = g[i] / (1 + exp(−g[i]))·u[i] over n floats (the MLP's gate).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void SiluMul(DecodeIsa isa, float* g, float* u, float* h, int n)
    {
        int i = 0;
        if (isa == DecodeIsa.Avx512)
            for (; i + 16 <= n; i += 16)
            {
                var v = Vector512.Load(g + i);
                (v / (Vector512<float>.One + Vector512.Exp(-v)) * Vector512.Load(u + i)).Store(h + i);
            }
        else if (isa == DecodeIsa.Avx2)
            for (; i + 8 <= n; i += 8)
            {
                var v = Vector256.Load(g + i);
                (v / (Vector256<float>.One + Vector256.Exp(-v)) * Vector256.Load(u + i)).Store(h + i);
            }
        else
            for (; i + 4 <= n; i += 4)
            {
                var v = Vector128.Load(g + i);
                (v / (Vector128<float>.One + Vector128.Exp(-v)) * Vector128.Load(u + i)).Store(h + i);
            }
        for (; i < n; i++) h[i] = g[i] / (1f + MathF.Exp(-g[i])) * u[i];
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
